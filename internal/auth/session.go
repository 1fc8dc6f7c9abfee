package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// Login checks a username (or email) and password, under the rate limit for
// that name and for the client's address (addr), and starts a session. It
// returns the session's token, for SetSessionCookie. A wrong name or
// password wraps ErrUnauthenticated, without saying which was wrong; a
// refusal by the rate limit is a *LimitError.
func (s *Service) Login(ctx context.Context, login, password, addr string) (string, *Principal, error) {
	name := strings.ToLower(strings.TrimSpace(login))
	now := s.now()
	if err := s.limiter.check(name, addr, now); err != nil {
		return "", nil, err
	}
	if name == "" || password == "" {
		return "", nil, errLoginFailed
	}
	u, err := s.st.UserByLogin(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return "", nil, fmt.Errorf("log in: %w", err)
	}
	// Compared even when there is no such user, so a failure takes as long.
	if !passwordMatches(u.PasswordHash, password) || err != nil {
		s.limiter.failed(name, addr, now)
		return "", nil, errLoginFailed
	}
	s.limiter.succeeded(name)
	token, err := s.StartSession(ctx, u.ID)
	if err != nil {
		return "", nil, err
	}
	return token, sessionPrincipal(u, s.h.sum(token)), nil
}

// StartSession logs user id in without a password, for an identity
// provider that vouched for them, and returns the session's token.
func (s *Service) StartSession(ctx context.Context, userID int64) (string, error) {
	token := newToken("")
	now := s.now().UnixNano()
	if err := s.st.CreateLoginSession(ctx, store.LoginSession{Hash: s.h.sum(token), UserID: userID, CreatedAt: now, LastSeenAt: now}); err != nil {
		return "", fmt.Errorf("log in: %w", err)
	}
	return token, nil
}

func sessionPrincipal(u store.User, hash []byte) *Principal {
	return &Principal{Kind: KindSession, Role: Role(u.Role), UserID: u.ID, Username: u.Username,
		MustChangePassword: u.MustChangePassword, session: hash}
}

// VerifySession returns the principal of a session token: its user, as
// the user is now. An unknown or expired session wraps ErrUnauthenticated.
func (s *Service) VerifySession(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, errNoCredentials
	}
	hash := s.h.sum(token)
	us, err := s.st.LoginSessionByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("verify session: %w", err)
	}
	now := s.now()
	if now.Sub(time.Unix(0, us.LastSeenAt)) >= SessionIdle || now.Sub(time.Unix(0, us.CreatedAt)) >= SessionLifetime {
		if err := s.st.DeleteLoginSession(ctx, hash); err != nil {
			s.errs.Warn("auth: delete an expired login session", "err", err)
		}
		return nil, errExpiredToken
	}
	if now.Sub(time.Unix(0, us.LastSeenAt)) >= touchEvery {
		// A failure here (a database that takes no writes) costs the
		// session at most its idle time; the request goes on.
		if err := s.st.TouchLoginSession(ctx, hash, now.UnixNano()); err != nil {
			s.errs.Warn("auth: record when a login session was used", "err", err)
		}
	}
	return sessionPrincipal(us.User, hash), nil
}

// Logout ends the session of token; an unknown one is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	if err := s.st.DeleteLoginSession(ctx, s.h.sum(token)); err != nil {
		return fmt.Errorf("log out: %w", err)
	}
	return nil
}

// ChangePassword sets the password of the user p is logged in as, after
// checking the current one (under the login rate limit), and ends the
// user's other sessions; p's own goes on.
func (s *Service) ChangePassword(ctx context.Context, p *Principal, addr, current, next string) error {
	if p == nil || !p.Human() {
		return &authError{ErrForbidden, "only a person logged in can change their password"}
	}
	name := strings.ToLower(p.Username)
	now := s.now()
	if err := s.limiter.check(name, addr, now); err != nil {
		return err
	}
	u, err := s.st.UserByID(ctx, p.UserID)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	if !passwordMatches(u.PasswordHash, current) {
		s.limiter.failed(name, addr, now)
		return fmt.Errorf("the current password is wrong: %w", store.ErrInvalidArgument)
	}
	if next == current {
		return fmt.Errorf("the new password must differ from the current one: %w", store.ErrInvalidArgument)
	}
	return s.setPassword(ctx, u, next, false, p.session)
}

// SetPassword sets a user's password, as an admin does for someone who
// lost theirs: they must change it at their next login, and their
// sessions end.
func (s *Service) SetPassword(ctx context.Context, userID int64, password string) error {
	u, err := s.st.UserByID(ctx, userID)
	if err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return s.setPassword(ctx, u, password, true, nil)
}

func (s *Service) setPassword(ctx context.Context, u store.User, password string, mustChange bool, keepSession []byte) error {
	if err := ValidatePassword(password); err != nil {
		return fmt.Errorf("%w: %w", err, store.ErrInvalidArgument)
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	u.PasswordHash, u.MustChangePassword = hash, mustChange
	if err := s.st.UpdateUser(ctx, u, keepSession); err != nil {
		return fmt.Errorf("set password: %w", err)
	}
	return nil
}

// Session cookie names: with Secure, the __Host- prefix makes the browser
// refuse the cookie from anything but this host over HTTPS, path /.
const (
	cookieName       = "loupe_session"
	secureCookieName = "__Host-loupe_session"
)

func (s *Service) secure(r *http.Request) bool { return r.TLS != nil || s.cfg.SecureCookies }

// SetSessionCookie gives the browser a session's token: HttpOnly, so no
// script reads it, SameSite=Lax, so other sites' pages do not send it
// along with their requests, and Secure with the __Host- prefix when the
// request came over TLS.
func (s *Service) SetSessionCookie(w http.ResponseWriter, r *http.Request, token string) {
	c := &http.Cookie{Name: cookieName, Value: token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		MaxAge: int(SessionLifetime / time.Second)}
	if s.secure(r) {
		c.Name, c.Secure = secureCookieName, true
	}
	http.SetCookie(w, c)
}

// ClearSessionCookie tells the browser to forget its session cookie.
func (s *Service) ClearSessionCookie(w http.ResponseWriter, r *http.Request) {
	c := &http.Cookie{Name: cookieName, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, MaxAge: -1}
	if s.secure(r) {
		c.Name, c.Secure = secureCookieName, true
	}
	http.SetCookie(w, c)
}

// SessionToken returns the session token r's cookie carries, if any.
func SessionToken(r *http.Request) string {
	for _, name := range []string{secureCookieName, cookieName} {
		if c, err := r.Cookie(name); err == nil && c.Value != "" {
			return c.Value
		}
	}
	return ""
}

// LoginURL is where a browser asking for r without a session is sent: the
// login page, with the page it asked for as ?next=.
func (s *Service) LoginURL(r *http.Request) string {
	return s.cfg.LoginPath + "?next=" + url.QueryEscape(r.URL.RequestURI())
}

// SafeRedirect returns next when it is a path on this server, and "/"
// otherwise, so that a login link cannot send a person to another site.
func SafeRedirect(next string) string {
	u, err := url.Parse(next)
	if err != nil || next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") ||
		strings.HasPrefix(next, "/\\") || u.Scheme != "" || u.Host != "" {
		return "/"
	}
	return next
}
