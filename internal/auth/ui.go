package auth

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
)

// What the UI's login pages need beyond the middleware.

// UserByEmail finds the user an identity provider vouches for by email,
// before StartSession logs them in. Only the email is compared: a user
// whose username merely looks like the address is not them.
func (s *Service) UserByEmail(ctx context.Context, email string) (store.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := s.st.UserByLogin(ctx, email)
	if err != nil {
		return store.User{}, err
	}
	if !strings.EqualFold(u.Email, email) {
		return store.User{}, fmt.Errorf("user with email %q: %w", email, store.ErrNotFound)
	}
	return u, nil
}

// IsPageRequest reports whether r is a browser loading a page, which is
// sent somewhere to see, rather than a script's request, which is
// answered with a status.
func IsPageRequest(r *http.Request) bool { return isPageRequest(r) }
