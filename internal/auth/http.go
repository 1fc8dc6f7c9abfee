package auth

import (
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// HTTPOptions say how one surface is guarded.
type HTTPOptions struct {
	// Pages makes a browser's request for a page, without a valid
	// session, a redirect to the login page instead of a 401: what a
	// person who follows a link should see. Fragments and event streams,
	// which scripts fetch, still get 401.
	Pages bool
	// Need says what a request needs; ByMethod when nil.
	Need func(*http.Request) Access
	// Open, when it returns true for a request, lets it through without
	// credentials (with its principal in the context if it has valid
	// ones): the login page itself, say.
	Open func(*http.Request) bool
}

// ByMethod is what a request needs by its method, as Phoenix decides:
// GET and HEAD read, every other method writes.
func ByMethod(r *http.Request) Access {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return Read
	}
	return Write
}

// Realm is what 401 answers' WWW-Authenticate names.
const Realm = "Loupe"

// Middleware authenticates each request by its bearer token, or else its
// session cookie, checks that its principal may do what the request
// needs, and puts the principal in the request's context. It answers
// refusals itself: 401 with WWW-Authenticate (or, with Pages, a redirect
// to the login page), 403, or 503 when the database cannot say.
func (s *Service) Middleware(o HTTPOptions) func(http.Handler) http.Handler {
	need := o.Need
	if need == nil {
		need = ByMethod
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := s.Authenticate(r)
			if o.Open != nil && o.Open(r) {
				if p != nil {
					r = r.WithContext(WithPrincipal(r.Context(), p))
				}
				next.ServeHTTP(w, r)
				return
			}
			if err != nil {
				s.refuse(w, r, o.Pages, err)
				return
			}
			if a := need(r); !p.Can(a) {
				Forbid(w, forbidden(a))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// Authenticate returns the principal of r's bearer token or, without
// one, of its session cookie. A request with neither, or with one refused,
// gets an error wrapping ErrUnauthenticated; any other error means the
// database could not say.
func (s *Service) Authenticate(r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, token, _ := strings.Cut(h, " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, errInvalidToken
		}
		return s.VerifyToken(r.Context(), strings.TrimSpace(token))
	}
	if token := SessionToken(r); token != "" {
		return s.VerifySession(r.Context(), token)
	}
	return nil, errNoCredentials
}

func (s *Service) refuse(w http.ResponseWriter, r *http.Request, pages bool, err error) {
	if !errors.Is(err, ErrUnauthenticated) {
		s.errs.Warn("auth: verify credentials: storage unavailable", "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
		http.Error(w, "storage is unavailable; retry later", http.StatusServiceUnavailable)
		return
	}
	if SessionToken(r) != "" {
		s.ClearSessionCookie(w, r)
	}
	if pages && isPageRequest(r) {
		http.Redirect(w, r, s.LoginURL(r), http.StatusSeeOther)
		return
	}
	Unauthorized(w, err)
}

// retryAfterSeconds is how long a client is asked to wait when the
// database cannot verify its credentials.
const retryAfterSeconds = 5

// isPageRequest reports whether r is a browser loading a page, rather than
// a script fetching a fragment or a stream: browsers say so in
// Sec-Fetch-Mode, and older ones at least ask for HTML.
func isPageRequest(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// Unauthorized answers 401 with err's message, as Phoenix does.
func Unauthorized(w http.ResponseWriter, err error) {
	msg := errInvalidToken.msg
	var ae *authError
	if errors.As(err, &ae) {
		msg = ae.msg
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="`+Realm+`"`)
	http.Error(w, msg, http.StatusUnauthorized)
}

// Forbid answers 403 with err's message.
func Forbid(w http.ResponseWriter, err error) {
	http.Error(w, err.Error(), http.StatusForbidden)
}

func forbidden(a Access) error {
	if a == Manage {
		return errNotAdmin
	}
	return errViewer
}

// Require lets through the requests whose principal may do what needs a,
// and answers the others 403: for routes that need more than their
// method says (Manage). With auth off (no principal) all pass.
func Require(a Access, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := Allowed(r.Context(), a); err != nil {
			Forbid(w, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ClientAddr is the address a request came from, for the login rate limit:
// the connection's, since a header saying otherwise could be forged.
func ClientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
