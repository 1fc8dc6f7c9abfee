package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strconv"

	"github.com/loupe-dev/loupe/internal/auth"
)

// The login page and logging out. The page stands alone, outside the
// layout, whose project switcher would show projects to whoever asks.

// Open reports whether r's route is served without a login when
// authentication is on: the login page, logging out, and the static files
// the login page needs.
func Open(r *http.Request) bool {
	switch r.Pattern {
	case "GET /login", "POST /login", "POST /logout", "GET /static/{version}/{file}":
		return true
	}
	return false
}

// Access says what a request needs, by its route: writing for a form,
// reading for a page, and managing for the server-wide retention policy.
func Access(r *http.Request) auth.Access {
	if r.Pattern == "POST /storage/retention" {
		return auth.Manage
	}
	return auth.ByMethod(r)
}

var loginTemplate = template.Must(template.New("login").Funcs(funcs).Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Log in · Loupe</title>
<link rel="stylesheet" href="{{asset "app.css"}}">
<link rel="icon" href="{{asset "favicon.svg"}}" type="image/svg+xml">
</head>
<body>
<main id="main" class="login">
<h1>Loupe</h1>
{{if .Off}}<p>Authentication is off: there is nothing to log in to. <a href="/">Go to Loupe</a>.</p>
{{else}}<form method="post" action="/login">
  {{if .Error}}<p class="error" role="alert">{{.Error}}</p>{{end}}
  <input type="hidden" name="next" value="{{.Next}}">
  <p><label for="login">Username or email</label><br><input id="login" name="login" value="{{.Login}}" autocomplete="username" required autofocus></p>
  <p><label for="password">Password</label><br><input id="password" name="password" type="password" autocomplete="current-password" required></p>
  <p><button type="submit">Log in</button></p>
</form>{{end}}
</main>
</body>
</html>
`))

type loginView struct {
	Off         bool
	Next, Login string
	Error       string
}

func (h *Handler) renderLogin(w http.ResponseWriter, status int, v loginView) {
	var buf bytes.Buffer
	if err := loginTemplate.Execute(&buf, v); err != nil {
		h.log.Error("render the login page", "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	next := auth.SafeRedirect(r.URL.Query().Get("next"))
	if h.auth != nil && auth.FromContext(r.Context()) != nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	h.renderLogin(w, http.StatusOK, loginView{Off: h.auth == nil, Next: next})
}

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if h.auth == nil {
		h.renderLogin(w, http.StatusNotFound, loginView{Off: true})
		return
	}
	v := loginView{Next: auth.SafeRedirect(r.PostFormValue("next")), Login: r.PostFormValue("login")}
	token, _, err := h.auth.Login(r.Context(), v.Login, r.PostFormValue("password"), auth.ClientAddr(r))
	var limit *auth.LimitError
	switch {
	case err == nil:
		h.auth.SetSessionCookie(w, r, token)
		http.Redirect(w, r, v.Next, http.StatusSeeOther)
	case errors.As(err, &limit):
		w.Header().Set("Retry-After", strconv.Itoa(limit.RetryAfterSeconds()))
		v.Error = limit.Error()
		h.renderLogin(w, http.StatusTooManyRequests, v)
	case errors.Is(err, auth.ErrUnauthenticated):
		v.Error = err.Error()
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+auth.Realm+`"`)
		h.renderLogin(w, http.StatusUnauthorized, v)
	default:
		h.errs.Warn("log in", "err", err)
		v.Error = "Loupe cannot reach its database to check the password; try again in a moment."
		h.renderLogin(w, http.StatusServiceUnavailable, v)
	}
}

// logout ends the session, as a form's POST: a link (GET) would let any
// page log a visitor out.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if h.auth != nil {
		if err := h.auth.Logout(r.Context(), auth.SessionToken(r)); err != nil {
			h.errs.Warn("log out", "err", err)
		}
		h.auth.ClearSessionCookie(w, r)
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
