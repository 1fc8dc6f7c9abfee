package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/store"
)

// The users and API keys routes, as Phoenix's routers/v1/users.py and
// api_keys.py: admins manage users and system keys; every user lists,
// creates and revokes their own keys; only a person logged in (or the
// admin secret) creates keys, so that a leaked key cannot mint its own
// replacement.

// Phoenix's GlobalID types.
const (
	userNode      = "User"
	userKeyNode   = "UserApiKey"
	systemKeyNode = "SystemApiKey"
)

// authOff refuses what only makes sense with identities: Phoenix's words.
var authOff = &Error{http.StatusForbidden,
	"This action requires authentication to be enabled. Set the PHOENIX_ENABLE_AUTH environment variable to true."}

// userJSON is Phoenix's LocalUser.
type userJSON struct {
	ID                 string `json:"id"`
	CreatedAt          string `json:"created_at"`
	UpdatedAt          string `json:"updated_at"`
	Email              string `json:"email"`
	Username           string `json:"username"`
	Role               string `json:"role"`
	AuthMethod         string `json:"auth_method"`
	PasswordNeedsReset bool   `json:"password_needs_reset"`
}

func toUserJSON(u store.User) userJSON {
	return userJSON{ID: GlobalID(userNode, u.ID), CreatedAt: isotime.Format(u.CreatedAt), UpdatedAt: isotime.Format(u.UpdatedAt),
		Email: u.Email, Username: u.Username, Role: u.Role, AuthMethod: "LOCAL", PasswordNeedsReset: u.MustChangePassword}
}

// principal returns the request's principal, or refuses when auth is off.
func (a *API) principal(r *http.Request) (*auth.Principal, error) {
	if a.Auth == nil {
		return nil, authOff
	}
	p := auth.FromContext(r.Context())
	if p == nil {
		// The middleware lets no request without one reach these routes.
		return nil, errorf(http.StatusUnauthorized, "Not authenticated")
	}
	return p, nil
}

// getViewer is GET /v1/user: who the request acts as.
func (a *API) getViewer(r *http.Request) (any, error) {
	if a.Auth == nil {
		return single{Data: map[string]string{"auth_method": "ANONYMOUS"}}, nil
	}
	p, err := a.principal(r)
	if err != nil {
		return nil, err
	}
	if p.UserID == 0 {
		// The system has no row; Phoenix answers with its system user.
		now := isotime.Format(time.Now().UnixNano())
		return single{Data: userJSON{ID: GlobalID(userNode, 0), CreatedAt: now, UpdatedAt: now, Email: "system@localhost",
			Username: "system", Role: string(auth.RoleSystem), AuthMethod: "LOCAL"}}, nil
	}
	u, err := a.Auth.User(r.Context(), p.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusUnauthorized, "User not found")
	}
	if err != nil {
		return nil, err
	}
	return single{Data: toUserJSON(u)}, nil
}

// listUsers is GET /v1/users, admins only.
func (a *API) listUsers(r *http.Request) (any, error) {
	if _, err := a.principal(r); err != nil {
		return nil, err
	}
	return idPage(r, userNode, func(cursor int64, limit int) ([]store.User, error) {
		return a.Auth.Users(r.Context(), store.UserQuery{Cursor: cursor, Limit: limit})
	}, func(u store.User) int64 { return u.ID }, toUserJSON)
}

// idPage is a page of a list in descending id order, as Phoenix pages
// users and keys: limit (100, at most 1000) and a cursor, the GlobalID of
// type node of the page's first row. list is asked for one row more than
// the page, whose id is the next page's cursor.
func idPage[T, J any](r *http.Request, node string, list func(cursor int64, limit int) ([]T, error), id func(T) int64, toJSON func(T) J) (any, error) {
	q := r.URL.Query()
	limit, err := limitParam(q, 100, 1000)
	if err != nil {
		return nil, err
	}
	cursor, err := cursorParam(q, node)
	if err != nil {
		return nil, err
	}
	rows, err := list(cursor, limit+1)
	if err != nil {
		return nil, err
	}
	out := page{}
	if len(rows) > limit {
		next := GlobalID(node, id(rows[limit]))
		out.NextCursor, rows = &next, rows[:limit]
	}
	data := make([]J, len(rows))
	for i, row := range rows {
		data[i] = toJSON(row)
	}
	out.Data = data
	return out, nil
}

// createUser is POST /v1/users, admins only.
func (a *API) createUser(r *http.Request) (any, error) {
	if _, err := a.principal(r); err != nil {
		return nil, err
	}
	var body struct {
		User *struct {
			Email      string `json:"email"`
			Username   string `json:"username"`
			Role       string `json:"role"`
			AuthMethod string `json:"auth_method"`
			Password   string `json:"password"`
		} `json:"user"`
		SendWelcomeEmail bool `json:"send_welcome_email"` // no email is sent
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	u := body.User
	if u == nil {
		return nil, errorf(http.StatusUnprocessableEntity, "user is required")
	}
	switch u.AuthMethod {
	case "LOCAL", "":
	case "OAUTH2":
		// Logs in through an identity provider: no password.
		u.Password = ""
	default:
		return nil, errorf(http.StatusUnprocessableEntity, "auth_method %q is not supported: use LOCAL or OAUTH2", u.AuthMethod)
	}
	if strings.EqualFold(u.Role, string(auth.RoleSystem)) {
		return nil, errorf(http.StatusBadRequest, "Cannot create users with SYSTEM role")
	}
	role, err := auth.ParseRole(u.Role)
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "Role '%s' not found", u.Role)
	}
	created, err := a.Auth.CreateUser(r.Context(), auth.NewUser{Username: u.Username, Email: u.Email, Role: role, Password: u.Password})
	if errors.Is(err, store.ErrConflict) {
		what := "Email"
		if strings.Contains(err.Error(), "username") {
			what = "Username"
		}
		return nil, errorf(http.StatusConflict, "%s already exists", what)
	}
	if err != nil {
		return nil, err
	}
	return created201{single{Data: toUserJSON(created)}}, nil
}

// deleteUser is DELETE /v1/users/{user_id}, admins only.
func (a *API) deleteUser(r *http.Request) (any, error) {
	if _, err := a.principal(r); err != nil {
		return nil, err
	}
	id, err := ParseGlobalID(r.PathValue("user_id"), userNode)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, "Invalid User GlobalID format: %s", r.PathValue("user_id"))
	}
	if err := a.Auth.DeleteUser(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "User not found")
	} else if err != nil {
		return nil, err
	}
	return noContent{}, nil
}

// apiKeyJSON is Phoenix's ApiKey, with when it was last used (Loupe's).
type apiKeyJSON struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   string    `json:"created_at"`
	ExpiresAt   *string   `json:"expires_at,omitempty"`
	LastUsedAt  *string   `json:"last_used_at,omitempty"`
	Key         string    `json:"key,omitempty"`  // only when created
	User        *keyOwner `json:"user,omitempty"` // in the list of every user's keys
}

// keyOwner is Phoenix's ApiKeyUser.
type keyOwner struct {
	ID       string `json:"id"`
	Username string `json:"username"`
	Email    string `json:"email"`
}

func toAPIKeyJSON(k store.APIKey, node string) apiKeyJSON {
	out := apiKeyJSON{ID: GlobalID(node, k.ID), Name: k.Name, Description: k.Description, CreatedAt: isotime.Format(k.CreatedAt)}
	if k.ExpiresAt != 0 {
		t := isotime.Format(k.ExpiresAt)
		out.ExpiresAt = &t
	}
	if k.LastUsedAt != 0 {
		t := isotime.Format(k.LastUsedAt)
		out.LastUsedAt = &t
	}
	return out
}

func keysJSON(keys []store.APIKey, node string) []apiKeyJSON {
	out := make([]apiKeyJSON, len(keys))
	for i, k := range keys {
		out[i] = toAPIKeyJSON(k, node)
	}
	return out
}

// listSystemKeys is GET /v1/system/api_keys, admins only.
func (a *API) listSystemKeys(r *http.Request) (any, error) {
	if _, err := a.principal(r); err != nil {
		return nil, err
	}
	keys, err := a.Auth.APIKeys(r.Context(), store.APIKeyQuery{System: true})
	if err != nil {
		return nil, err
	}
	return single{Data: keysJSON(keys, systemKeyNode)}, nil
}

// createSystemKey is POST /v1/system/api_keys: an admin logged in, or the
// admin secret.
func (a *API) createSystemKey(r *http.Request) (any, error) {
	p, err := a.principal(r)
	if err != nil {
		return nil, err
	}
	if !p.Human() && p.Kind != auth.KindSystem {
		return nil, errorf(http.StatusForbidden, "API keys cannot create API keys")
	}
	return a.createKey(r, 0, systemKeyNode)
}

// createKey reads a key's description and creates it for userID (0: a
// system key).
func (a *API) createKey(r *http.Request, userID int64, node string) (any, error) {
	var body struct {
		Data *struct {
			Name        string  `json:"name"`
			Description string  `json:"description"`
			ExpiresAt   *string `json:"expires_at"`
		} `json:"data"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Data == nil {
		return nil, errorf(http.StatusUnprocessableEntity, "data is required")
	}
	nk := auth.NewKey{Name: body.Data.Name, Description: body.Data.Description, UserID: userID}
	if body.Data.ExpiresAt != nil {
		t, err := isotime.Parse(*body.Data.ExpiresAt)
		if err != nil {
			return nil, errorf(http.StatusUnprocessableEntity, "expires_at: %v", err)
		}
		nk.ExpiresAt = t
	}
	k, token, err := a.Auth.CreateAPIKey(r.Context(), nk)
	if err != nil {
		return nil, err
	}
	out := toAPIKeyJSON(k, node)
	out.Key = token
	return created201{single{Data: out}}, nil
}

// deleteSystemKey is DELETE /v1/system/api_keys/{api_key_id}, admins only.
func (a *API) deleteSystemKey(r *http.Request) (any, error) {
	if _, err := a.principal(r); err != nil {
		return nil, err
	}
	id, err := ParseGlobalID(r.PathValue("api_key_id"), systemKeyNode)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, "Invalid %s GlobalID format: %s", systemKeyNode, r.PathValue("api_key_id"))
	}
	// Personal keys live beside system keys but are not found here.
	if k, err := a.Auth.APIKey(r.Context(), id); errors.Is(err, store.ErrNotFound) || err == nil && (!k.System() || k.RevokedAt != 0) {
		return nil, errorf(http.StatusNotFound, "System API key not found")
	} else if err != nil {
		return nil, err
	}
	if err := a.Auth.RevokeAPIKey(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "System API key not found")
	} else if err != nil {
		return nil, err
	}
	return noContent{}, nil
}

// systemKeysElsewhere refuses a system key the personal keys routes.
var systemKeysElsewhere = &Error{http.StatusForbidden, "System API keys must be managed through the /system/api_keys endpoints."}

// listOwnKeys is GET /v1/user/api_keys.
func (a *API) listOwnKeys(r *http.Request) (any, error) {
	p, err := a.principal(r)
	if err != nil {
		return nil, err
	}
	if p.UserID == 0 {
		// The system owns no personal keys, as Phoenix answers.
		return single{Data: []apiKeyJSON{}}, nil
	}
	keys, err := a.Auth.APIKeys(r.Context(), store.APIKeyQuery{UserID: p.UserID})
	if err != nil {
		return nil, err
	}
	return single{Data: keysJSON(keys, userKeyNode)}, nil
}

// createOwnKey is POST /v1/user/api_keys: a person logged in makes a key
// that acts with their role.
func (a *API) createOwnKey(r *http.Request) (any, error) {
	p, err := a.principal(r)
	if err != nil {
		return nil, err
	}
	switch {
	case p.Kind == auth.KindSystem || p.Kind == auth.KindAPIKey && p.UserID == 0:
		return nil, systemKeysElsewhere
	case !p.Human():
		return nil, errorf(http.StatusForbidden, "API keys cannot create API keys")
	}
	return a.createKey(r, p.UserID, userKeyNode)
}

// deleteOwnKey is DELETE /v1/user/api_keys/{api_key_id}: a user revokes
// their own keys, an admin anyone's. Another user's key is reported
// missing, so the route tells no one which keys exist.
func (a *API) deleteOwnKey(r *http.Request) (any, error) {
	p, err := a.principal(r)
	if err != nil {
		return nil, err
	}
	if p.Kind == auth.KindAPIKey && p.UserID == 0 {
		return nil, systemKeysElsewhere
	}
	id, err := ParseGlobalID(r.PathValue("api_key_id"), userKeyNode)
	if err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, "Invalid %s GlobalID format: %s", userKeyNode, r.PathValue("api_key_id"))
	}
	k, err := a.Auth.APIKey(r.Context(), id)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if err != nil || k.System() || k.RevokedAt != 0 || k.UserID != p.UserID && !p.Can(auth.Manage) {
		return nil, errorf(http.StatusNotFound, "API key not found")
	}
	if err := a.Auth.RevokeAPIKey(r.Context(), id); errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusNotFound, "API key not found")
	} else if err != nil {
		return nil, err
	}
	return noContent{}, nil
}

// listUsersKeys is GET /v1/users/api_keys: every user's keys, admins only.
func (a *API) listUsersKeys(r *http.Request) (any, error) {
	if _, err := a.principal(r); err != nil {
		return nil, err
	}
	return idPage(r, userKeyNode, func(cursor int64, limit int) ([]store.APIKey, error) {
		return a.Auth.APIKeys(r.Context(), store.APIKeyQuery{Cursor: cursor, Limit: limit})
	}, func(k store.APIKey) int64 { return k.ID }, func(k store.APIKey) apiKeyJSON {
		out := toAPIKeyJSON(k, userKeyNode)
		out.User = &keyOwner{GlobalID(userNode, k.UserID), k.Username, k.UserEmail}
		return out
	})
}

// created201 makes the wrapper answer 201 with its value.
type created201 struct{ v any }
