// Package auth decides who a request comes from and what they may do: the
// roles, the principals requests act as, password hashing, API keys and
// login sessions, the login rate limit, and the HTTP middleware and gRPC
// interceptors every surface mounts. Storage goes through
// store.AuthStore; this package holds the meaning.
//
// # Model
//
// A request acts as a Principal: a user logged in to the UI (a session
// cookie), an API key sent as "Authorization: Bearer <key>" (a personal
// key acts with its owner's role, a system key as a service that writes
// but manages nothing), or the system itself (the admin secret as a
// bearer token). Roles are ADMIN, MEMBER and VIEWER, and a Principal's
// Can says whether it may Read, Write (ingest, annotate, change data) or
// Manage (users, keys, server-wide policies).
//
// Tokens are 32 random bytes, base64url; API keys start with "lk_". Only
// HMAC-SHA256(secret, token) is stored, so changing the secret voids them
// all. Verified keys are cached in memory, so ingest pays a map lookup; a
// revocation purges this server's cache at once, and Run polls the
// database's auth generation every second, so the other servers sharing
// it drop theirs within about a second.
//
// # Using it
//
// A server makes one Service with New, runs Service.Run for as long as it
// serves, and calls Service.Bootstrap once at start to create the first
// admin. Then:
//
//   - HTTP: wrap each surface with Service.Middleware. It authenticates
//     the bearer token or the session cookie, answers 401 (with
//     WWW-Authenticate) or 403 itself, or redirects a browser's page
//     request to the login page, and puts the Principal in the request's
//     context. Routes needing more than their method implies (Manage) are
//     wrapped with Require.
//   - gRPC: Service.UnaryServerInterceptor and
//     Service.StreamServerInterceptor; UNAUTHENTICATED and
//     PERMISSION_DENIED as Phoenix answers.
//   - Handlers: FromContext returns the Principal (nil when auth is off,
//     which permits everything); Principal.Author says who to record on
//     what a request writes.
//   - Login pages: Service.Login checks a password under the rate limit
//     (by name and by ClientAddr) and returns a session token;
//     SetSessionCookie and ClearSessionCookie write the cookie;
//     Service.Logout ends a session; SafeRedirect checks a ?next= target.
//     A Principal with MustChangePassword (the first admin, users an admin
//     made) should be sent to change it: Service.ChangePassword checks the
//     current one and keeps the caller's session while ending the others.
//   - Managing users and keys (REST, /settings): Service.CreateUser,
//     DeleteUser, SetRole, SetPassword, Users, User; Service.CreateAPIKey
//     (the token is returned once), RevokeAPIKey, APIKeys, APIKey. Errors
//     wrap store.ErrInvalidArgument (a message for the person),
//     store.ErrConflict, store.ErrNotFound or ErrForbidden.
//
// TLS: the session cookie is Secure, with the __Host- prefix, on requests
// that arrived over TLS (http.Request.TLS set) or when
// Config.SecureCookies says a proxy in front serves HTTPS; nothing else
// changes.
//
// An identity provider (OIDC) logs a person in by finding or creating
// their User (CreateUser without a password makes one who can log in no
// other way) and calling Service.StartSession, which makes the same
// session a password login does.
package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Role is what a user may do; the names are Phoenix's.
type Role string

const (
	RoleAdmin  Role = "ADMIN"  // manages users, keys and policies, and writes
	RoleMember Role = "MEMBER" // writes: ingests, annotates, changes data
	RoleViewer Role = "VIEWER" // reads
	// RoleSystem is the role of system keys and the admin secret; no user
	// has it.
	RoleSystem Role = "SYSTEM"
)

// ParseRole reads a role a user may be given, in any case.
func ParseRole(s string) (Role, error) {
	switch r := Role(strings.ToUpper(strings.TrimSpace(s))); r {
	case RoleAdmin, RoleMember, RoleViewer:
		return r, nil
	}
	return "", fmt.Errorf("role %q: use ADMIN, MEMBER or VIEWER", s)
}

// Access is what a request needs.
type Access uint8

const (
	Read   Access = iota // see data
	Write                // ingest, annotate, change or delete data
	Manage               // users, keys, server-wide policies
)

func (a Access) String() string {
	return [...]string{"read", "write", "manage"}[a]
}

// Kind is how a principal proved who it is.
type Kind uint8

const (
	KindSession Kind = iota + 1 // a user logged in to the UI
	KindAPIKey                  // a personal or a system key
	KindSystem                  // the admin secret
)

// Principal is who a request acts as. It is shared between requests: treat
// it as read-only.
type Principal struct {
	Kind     Kind
	Role     Role
	UserID   int64  // 0 for system keys and the system
	Username string // empty for system keys and the system
	KeyID    int64  // the API key's, for KindAPIKey
	KeyName  string
	// MustChangePassword is set for a user logged in with a password
	// someone else chose: the UI asks for a new one before anything else.
	MustChangePassword bool

	session   []byte // the session token's hash, for KindSession
	expiresAt int64  // the key's expiry (unix ns), 0 for never
}

// Can reports whether p may do what needs a.
func (p *Principal) Can(a Access) bool {
	switch a {
	case Read:
		return true
	case Write:
		return p.Role != RoleViewer
	}
	// A system key is a service's credential: it writes, as Phoenix's do,
	// but manages nothing. The admin secret manages.
	return p.Role == RoleAdmin || p.Kind == KindSystem
}

// Human reports whether p is a person logged in to the UI, rather than a
// credential handed to a program: only a person creates keys, so that a
// leaked key cannot mint its own replacement.
func (p *Principal) Human() bool { return p.Kind == KindSession }

// String names p as the UI shows who made something: "alice",
// "alice (key ci)", "key ingest" for a system key, or "system".
func (p *Principal) String() string {
	switch {
	case p.Kind == KindSystem:
		return "system"
	case p.Kind == KindAPIKey && p.UserID == 0:
		return "key " + p.KeyName
	case p.Kind == KindAPIKey:
		return p.Username + " (key " + p.KeyName + ")"
	}
	return p.Username
}

// Author is who to record on what p writes: the user's id and name (0 and
// "system" for the system, 0 and "" for a system key), and the name of the
// key it came through, if any. A nil p (auth off) records no one.
func (p *Principal) Author() (userID int64, username, keyName string) {
	if p == nil {
		return 0, "", ""
	}
	switch p.Kind {
	case KindSystem:
		return 0, "system", ""
	case KindAPIKey:
		return p.UserID, p.Username, p.KeyName
	}
	return p.UserID, p.Username, ""
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal of a request, or nil when auth is off.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Allowed reports whether the request of ctx may do what needs a: always
// when auth is off. The error is ErrForbidden with Phoenix's words.
func Allowed(ctx context.Context, a Access) error {
	p := FromContext(ctx)
	if p == nil || p.Can(a) {
		return nil
	}
	return forbidden(a)
}

// Errors. The messages of those a client sees are Phoenix's.
var (
	// ErrUnauthenticated is wrapped by every reason a credential is refused.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrForbidden is wrapped by every refusal of an authenticated request.
	ErrForbidden = errors.New("forbidden")

	errNoCredentials = &authError{ErrUnauthenticated, "Authentication required: send an API key as Authorization: Bearer <key>"}
	errInvalidToken  = &authError{ErrUnauthenticated, "Invalid token"}
	errExpiredToken  = &authError{ErrUnauthenticated, "Expired token"}
	errLoginFailed   = &authError{ErrUnauthenticated, "Invalid email and/or password"}
	errViewer        = &authError{ErrForbidden, "Viewers cannot perform this action."}
	errNotAdmin      = &authError{ErrForbidden, "Only admin or system users can perform this action."}
	errKeysFromKeys  = &authError{ErrForbidden, "API keys cannot create API keys"}
	errDefaultAdmin  = &authError{ErrForbidden, "Cannot delete the default admin or system user"}
)

// authError is an error whose message a client may see.
type authError struct {
	kind error
	msg  string
}

func (e *authError) Error() string { return e.msg }
func (e *authError) Unwrap() error { return e.kind }
