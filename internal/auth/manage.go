package auth

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/loupe-dev/loupe/internal/store"
)

// NewUser is a user to create.
type NewUser struct {
	Username string
	Email    string
	Role     Role
	// Password is the initial one, which the user must change at first
	// login; empty for none: the user logs in through an identity
	// provider, or once an admin sets one (SetPassword).
	Password string
}

// emailPattern is Phoenix's.
var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+[.][^@\s]+$`)

// CreateUser creates a user. Invalid fields wrap store.ErrInvalidArgument,
// a taken username or email store.ErrConflict.
func (s *Service) CreateUser(ctx context.Context, nu NewUser) (store.User, error) {
	username, email := strings.TrimSpace(nu.Username), strings.ToLower(strings.TrimSpace(nu.Email))
	invalid := func(msg string) (store.User, error) {
		return store.User{}, fmt.Errorf("%s: %w", msg, store.ErrInvalidArgument)
	}
	switch {
	case username == "":
		return invalid("username is required")
	case len(username) > 64 || strings.IndexFunc(username, unicode.IsControl) >= 0:
		return invalid("username must be at most 64 characters, none of them control characters")
	case !emailPattern.MatchString(email):
		return invalid(fmt.Sprintf("email %q is not an email address", nu.Email))
	}
	role, err := ParseRole(string(nu.Role))
	if err != nil {
		return invalid(err.Error())
	}
	var hash string
	if nu.Password != "" {
		if err := ValidatePassword(nu.Password); err != nil {
			return invalid(err.Error())
		}
		if hash, err = hashPassword(nu.Password); err != nil {
			return store.User{}, err
		}
	}
	u, err := s.st.CreateUser(ctx, store.User{Username: username, Email: email, Role: string(role),
		PasswordHash: hash, MustChangePassword: hash != ""})
	if err != nil {
		return store.User{}, fmt.Errorf("create user %q: %w", username, err)
	}
	return u, nil
}

// IsDefaultAdmin reports whether u is the admin the first start created,
// whom Phoenix never deletes.
func IsDefaultAdmin(u store.User) bool {
	return strings.EqualFold(u.Username, DefaultAdminUsername) || strings.EqualFold(u.Email, DefaultAdminEmail)
}

// DeleteUser deletes a user with their keys and sessions, all of which
// stop working at once here and within a poll on other servers. The
// default admin cannot be deleted.
func (s *Service) DeleteUser(ctx context.Context, id int64) error {
	u, err := s.st.UserByID(ctx, id)
	if err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	if IsDefaultAdmin(u) {
		return errDefaultAdmin
	}
	if err := s.st.DeleteUser(ctx, id); err != nil {
		return fmt.Errorf("delete user %q: %w", u.Username, err)
	}
	s.forget()
	return nil
}

// SetRole changes a user's role, and so their keys'.
func (s *Service) SetRole(ctx context.Context, id int64, role Role) error {
	role, err := ParseRole(string(role))
	if err != nil {
		return fmt.Errorf("%w: %w", err, store.ErrInvalidArgument)
	}
	u, err := s.st.UserByID(ctx, id)
	if err != nil {
		return fmt.Errorf("set role: %w", err)
	}
	if IsDefaultAdmin(u) && role != RoleAdmin {
		return &authError{ErrForbidden, "the default admin stays an admin"}
	}
	u.Role = string(role)
	if err := s.st.UpdateUser(ctx, u, nil); err != nil {
		return fmt.Errorf("set role of %q: %w", u.Username, err)
	}
	s.forget()
	return nil
}

// User finds a user by id; Users lists them, highest id first.
func (s *Service) User(ctx context.Context, id int64) (store.User, error) {
	return s.st.UserByID(ctx, id)
}

func (s *Service) Users(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	return s.st.Users(ctx, q)
}

// NewKey is an API key to create.
type NewKey struct {
	Name        string
	Description string
	ExpiresAt   time.Time // zero for never
	// UserID owns a personal key; 0 makes a system key.
	UserID int64
}

// CreateAPIKey creates a key and returns its record and the key itself,
// which is shown this once: only its HMAC is kept.
func (s *Service) CreateAPIKey(ctx context.Context, nk NewKey) (store.APIKey, string, error) {
	name := strings.TrimSpace(nk.Name)
	if name == "" {
		return store.APIKey{}, "", fmt.Errorf("name cannot be empty: %w", store.ErrInvalidArgument)
	}
	var expires int64
	if !nk.ExpiresAt.IsZero() {
		if !nk.ExpiresAt.After(s.now()) {
			return store.APIKey{}, "", fmt.Errorf("expiration time must be in the future: %w", store.ErrInvalidArgument)
		}
		// Times are kept as unix nanoseconds, which end in 2262.
		expires = math.MaxInt64
		if end := time.Unix(0, math.MaxInt64); nk.ExpiresAt.Before(end) {
			expires = nk.ExpiresAt.UnixNano()
		}
	}
	token := newToken(KeyPrefix)
	k, err := s.st.CreateAPIKey(ctx, store.APIKey{Hash: s.h.sum(token), Name: name, Description: nk.Description,
		UserID: nk.UserID, ExpiresAt: expires})
	if err != nil {
		return store.APIKey{}, "", fmt.Errorf("create API key %q: %w", name, err)
	}
	return k, token, nil
}

// RevokeAPIKey revokes a key: refused at once here, and within a poll on
// the other servers sharing the database.
func (s *Service) RevokeAPIKey(ctx context.Context, id int64) error {
	if err := s.st.RevokeAPIKey(ctx, id); err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	s.forget()
	return nil
}

// APIKey finds a key by id, revoked or not; APIKeys lists working ones.
func (s *Service) APIKey(ctx context.Context, id int64) (store.APIKey, error) {
	return s.st.APIKeyByID(ctx, id)
}

func (s *Service) APIKeys(ctx context.Context, q store.APIKeyQuery) ([]store.APIKey, error) {
	return s.st.APIKeys(ctx, q)
}
