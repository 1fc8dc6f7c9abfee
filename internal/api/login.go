package api

import (
	"net/http"

	"github.com/loupe-dev/loupe/internal/auth"
)

// login is POST /auth/login, as Phoenix's: {"email", "password"} (a
// username works as well as an email) answered 204 with the session
// cookie, 401 for a wrong pair, 429 once the rate limit holds.
func (a *API) login(w http.ResponseWriter, r *http.Request) {
	if a.Auth == nil {
		a.writeError(w, r, authOff)
		return
	}
	var body struct {
		Email    string `json:"email"`
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeBody(r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	name := body.Email
	if name == "" {
		name = body.Username
	}
	if name == "" || body.Password == "" {
		a.writeError(w, r, &Error{http.StatusUnauthorized, "Email and password required"})
		return
	}
	token, _, err := a.Auth.Login(r.Context(), name, body.Password, auth.ClientAddr(r))
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	a.Auth.SetSessionCookie(w, r, token)
	w.WriteHeader(http.StatusNoContent)
}

// logout is GET /auth/logout, as Phoenix's: the session ends, its cookie
// is cleared, and the browser goes to the login page.
func (a *API) logout(w http.ResponseWriter, r *http.Request) {
	if a.Auth != nil {
		if err := a.Auth.Logout(r.Context(), auth.SessionToken(r)); err != nil {
			a.writeError(w, r, err)
			return
		}
		a.Auth.ClearSessionCookie(w, r)
	}
	http.Redirect(w, r, "/login", http.StatusFound)
}
