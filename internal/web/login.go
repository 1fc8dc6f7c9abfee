package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/sso"
	"github.com/loupe-dev/loupe/internal/store"
)

// Logging in (with a password or through an identity provider), logging
// out, and choosing a password. The login and password pages stand alone
// (frame.Bare): no project list for whoever asks.

// Open reports whether r's route is served without a login when
// authentication is on: logging in, by password or through an identity
// provider, logging out, and the static files the login page needs.
func Open(r *http.Request) bool {
	switch r.Pattern {
	case "GET /login", "POST /login", "POST /logout", "GET /static/{version}/{file}",
		"GET /oauth2/{idp_name}/login", "POST /oauth2/{idp_name}/login", "GET /oauth2/{idp_name}/tokens":
		return true
	}
	return false
}

// Access says what a request needs, by its route: writing for a form,
// reading for a page, managing for users, system keys and the
// server-wide retention policy. Every person, viewers included, chooses
// their own password and keeps their own keys, as in Phoenix.
func Access(r *http.Request) auth.Access {
	switch r.Pattern {
	case "POST /storage/retention",
		"POST /settings/users", "POST /settings/users/{id}/role", "POST /settings/users/{id}/delete",
		"POST /settings/system-keys", "POST /settings/system-keys/{id}/revoke":
		return auth.Manage
	case "POST /password", "POST /settings/keys", "POST /settings/keys/{id}/revoke":
		return auth.Read
	}
	return auth.ByMethod(r)
}

// passwordFirst keeps a person whose password someone else chose (the
// first admin's, or one an admin set) on the page that changes it: pages
// go there, anything else is refused until they have.
func (h *Handler) passwordFirst(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		if p == nil || !p.MustChangePassword || Open(r) || r.Pattern == "GET /password" || r.Pattern == "POST /password" {
			next.ServeHTTP(w, r)
			return
		}
		if auth.IsPageRequest(r) {
			http.Redirect(w, r, "/password?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		http.Error(w, "Choose a new password first, at /password.", http.StatusForbidden)
	})
}

type loginPage struct {
	frame
	Off       bool // authentication is off: nothing to log in to
	Next      string
	Login     string // what was typed, to type it again
	Error     string
	Notice    string
	Providers []sso.Button
}

func (h *Handler) renderLogin(w http.ResponseWriter, r *http.Request, status int, v loginPage) {
	v.frame = h.bareFrame(r, "Log in")
	v.frame.Who = nil
	if !v.Off {
		v.Providers = h.sso.Buttons(v.Next)
	}
	h.render(w, r, status, "login", v)
}

// loginPage is GET /login: the form, the providers' buttons, and why the
// last login failed, if it did.
func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	next := auth.SafeRedirect(q.Get("next"))
	if h.auth == nil {
		h.renderLogin(w, r, http.StatusOK, loginPage{Off: true, Next: next})
		return
	}
	if auth.FromContext(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	v := loginPage{Next: next}
	if code := q.Get("error"); code != "" {
		// Only words of ours: a link can carry any code.
		if v.Error = sso.ErrorMessage(code); v.Error == "" {
			v.Error = "Login failed. Please try again."
		}
	} else if to, ok := h.sso.AutoLogin(next); ok && !q.Has("out") {
		http.Redirect(w, r, to, http.StatusSeeOther)
		return
	}
	if q.Has("out") {
		v.Notice = "You have logged out."
	}
	h.renderLogin(w, r, http.StatusOK, v)
}

// login is POST /login: a password login, under the rate limit.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	v := loginPage{Next: auth.SafeRedirect(r.PostFormValue("next")), Login: r.PostFormValue("login")}
	if h.auth == nil {
		v.Off = true
		h.renderLogin(w, r, http.StatusNotFound, v)
		return
	}
	token, p, err := h.auth.Login(r.Context(), v.Login, r.PostFormValue("password"), auth.ClientAddr(r))
	var limit *auth.LimitError
	switch {
	case err == nil:
		h.auth.SetSessionCookie(w, r, token)
		if p.MustChangePassword {
			http.Redirect(w, r, "/password?next="+url.QueryEscape(v.Next), http.StatusSeeOther)
			return
		}
		http.Redirect(w, r, v.Next, http.StatusSeeOther)
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", strconv.Itoa(limit.RetryAfterSeconds()))
		v.Error = tooManyAttempts(limit)
		h.renderLogin(w, r, http.StatusTooManyRequests, v)
	case errors.Is(err, auth.ErrUnauthenticated):
		v.Error = err.Error()
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+auth.Realm+`"`)
		h.renderLogin(w, r, http.StatusUnauthorized, v)
	default:
		h.errs.Warn("log in", "err", err)
		v.Error = "Loupe cannot reach its database to check the password; try again in a moment."
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		h.renderLogin(w, r, http.StatusServiceUnavailable, v)
	}
}

// logout ends the session, as a form's POST: a link (GET) would let any
// page log a visitor out.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if h.auth == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	if err := h.auth.Logout(r.Context(), auth.SessionToken(r)); err != nil {
		h.errs.Warn("log out", "err", err)
	}
	h.auth.ClearSessionCookie(w, r)
	http.Redirect(w, r, "/login?out", http.StatusSeeOther)
}

type passwordPage struct {
	frame
	Forced bool // the person must choose one before anything else
	Next   string
	Error  string
}

// passwordPage is GET /password: choose a new password, as a person must
// when someone else chose theirs.
func (h *Handler) passwordPage(w http.ResponseWriter, r *http.Request) {
	h.renderPassword(w, r, http.StatusOK, auth.SafeRedirect(r.URL.Query().Get("next")), "")
}

func (h *Handler) renderPassword(w http.ResponseWriter, r *http.Request, status int, next, msg string) {
	p := auth.FromContext(r.Context())
	if h.auth == nil || p == nil || !p.Human() {
		h.badRequest(w, r, http.StatusNotFound, "", "Only a person logged in has a password to change; with authentication off there is none.", "", "")
		return
	}
	v := passwordPage{Forced: p.MustChangePassword, Next: next, Error: msg}
	if v.Forced {
		v.frame = h.bareFrame(r, "Choose a new password")
	} else {
		v.frame = h.frame(r.Context(), r, "Change password", "")
	}
	h.render(w, r, status, "password", v)
}

// changePassword is POST /password.
func (h *Handler) changePassword(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	next := auth.SafeRedirect(r.PostFormValue("next"))
	p := auth.FromContext(r.Context())
	if h.auth == nil || p == nil || !p.Human() {
		http.Error(w, "Only a person logged in to the UI changes their password here.", http.StatusForbidden)
		return
	}
	current, fresh := r.PostFormValue("current"), r.PostFormValue("new")
	if fresh != r.PostFormValue("confirm") {
		h.renderPassword(w, r, http.StatusUnprocessableEntity, next, "The new password and its confirmation differ.")
		return
	}
	err := h.auth.ChangePassword(r.Context(), p, auth.ClientAddr(r), current, fresh)
	var limit *auth.LimitError
	switch {
	case err == nil && p.MustChangePassword:
		http.Redirect(w, r, next, http.StatusSeeOther)
	case err == nil:
		http.Redirect(w, r, "/settings?saved=password", http.StatusSeeOther)
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", strconv.Itoa(limit.RetryAfterSeconds()))
		h.renderPassword(w, r, http.StatusTooManyRequests, next, tooManyAttempts(limit))
	case errors.Is(err, store.ErrInvalidArgument):
		h.renderPassword(w, r, http.StatusUnprocessableEntity, next, sentence(err))
	case errors.Is(err, auth.ErrForbidden):
		http.Error(w, err.Error(), http.StatusForbidden)
	default:
		h.fail(w, r, err, notFound{})
	}
}

// tooManyAttempts says when the login rate limit lets a person try again.
func tooManyAttempts(limit *auth.LimitError) string {
	wait := "a few seconds"
	if s := limit.RetryAfterSeconds(); s >= 90 {
		wait = strconv.Itoa((s+59)/60) + " minutes"
	} else if s > 5 {
		wait = strconv.Itoa(s) + " seconds"
	}
	return "Too many failed login attempts: try again in " + wait + "."
}

// ssoLogin and ssoCallback are single sign-on's routes (package sso),
// which do not exist without an identity provider.
func (h *Handler) ssoLogin(w http.ResponseWriter, r *http.Request) {
	if h.sso == nil {
		h.notFoundPage(w, r)
		return
	}
	h.sso.Login(w, r)
}

func (h *Handler) ssoCallback(w http.ResponseWriter, r *http.Request) {
	if h.sso == nil {
		h.notFoundPage(w, r)
		return
	}
	h.sso.Callback(w, r)
}

// sentence is an error of a form's input in the words a person reads:
// "Password must be at least 8 characters long."
func sentence(err error) string {
	msg := err.Error()
	for _, kind := range []error{store.ErrInvalidArgument, store.ErrConflict, store.ErrNotFound} {
		msg = strings.TrimSuffix(msg, ": "+kind.Error())
	}
	if r, size := utf8.DecodeRuneInString(msg); r != utf8.RuneError {
		msg = string(unicode.ToUpper(r)) + msg[size:]
	}
	if !strings.HasSuffix(msg, ".") {
		msg += "."
	}
	return msg
}
