package store

import "context"

// AuthStore keeps what authentication needs in the database, so that every
// server sharing it sees the same users, keys and sessions. It stores
// tokens only as the hashes package auth makes of them, and knows nothing
// of what a role permits.
//
// Every change that can take a credential's power away (a key revoked, a
// user deleted, a role or password changed) increments the auth
// generation in the same transaction, so a server that caches verified
// credentials learns, from one cheap read, that its cache may be stale.
type AuthStore interface {
	// CreateUser stores a new user and returns it with its id and times.
	// A username or email already taken (emails compared case-insensitively)
	// is an ErrConflict whose message names which.
	CreateUser(ctx context.Context, u User) (User, error)
	// UserByID and UserByLogin return ErrNotFound for no such user.
	// UserByLogin finds a user by username, or by email, case-insensitively.
	UserByID(ctx context.Context, id int64) (User, error)
	UserByLogin(ctx context.Context, login string) (User, error)
	// Users lists users, highest id first.
	Users(ctx context.Context, q UserQuery) ([]User, error)
	// CountUsers counts the users.
	CountUsers(ctx context.Context) (int64, error)
	// UpdateUser changes a user's role, password hash and must-change flag
	// (the fields of u other than ID, Username, Email and the times are
	// written); it ends the user's sessions other than keepSession (a
	// session token hash, or nil) when the password or role changed.
	UpdateUser(ctx context.Context, u User, keepSession []byte) error
	// DeleteUser deletes a user with its sessions and revokes its keys.
	DeleteUser(ctx context.Context, id int64) error

	// CreateAPIKey stores a key (its hash, never the key) and returns it
	// with its id and creation time.
	CreateAPIKey(ctx context.Context, k APIKey) (APIKey, error)
	// APIKeyByHash finds a key that is not revoked, with its owner's
	// username and role; ErrNotFound otherwise. Expiry is the caller's
	// to check.
	APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error)
	// APIKeyByID finds a key, revoked or not.
	APIKeyByID(ctx context.Context, id int64) (APIKey, error)
	// APIKeys lists keys that are not revoked, highest id first.
	APIKeys(ctx context.Context, q APIKeyQuery) ([]APIKey, error)
	// RevokeAPIKey revokes a key; ErrNotFound when there is no such key
	// or it was revoked already.
	RevokeAPIKey(ctx context.Context, id int64) error
	// TouchAPIKeys records when keys were last used (unix ns by key id);
	// a time is written only when later than the stored one.
	TouchAPIKeys(ctx context.Context, lastUsed map[int64]int64) error

	// CreateLoginSession stores a UI session.
	CreateLoginSession(ctx context.Context, s LoginSession) error
	// LoginSessionByHash finds a session with its user; ErrNotFound when there
	// is none. Expiry is the caller's to check.
	LoginSessionByHash(ctx context.Context, hash []byte) (LoginSession, error)
	// TouchLoginSession records that a session was used at lastSeen (unix ns).
	TouchLoginSession(ctx context.Context, hash []byte, lastSeen int64) error
	// DeleteLoginSession deletes a session; none is not an error.
	DeleteLoginSession(ctx context.Context, hash []byte) error
	// DeleteExpiredLoginSessions deletes the sessions last seen before
	// idleBefore or created before createdBefore (unix ns).
	DeleteExpiredLoginSessions(ctx context.Context, idleBefore, createdBefore int64) (int64, error)

	// AuthGeneration reads the auth generation; it only ever grows.
	AuthGeneration(ctx context.Context) (int64, error)
}

// User is a person who logs in to Loupe.
type User struct {
	ID           int64
	Username     string
	Email        string
	Role         string // ADMIN, MEMBER or VIEWER (package auth)
	PasswordHash string // empty for users who cannot log in with a password
	// MustChangePassword is set for a password someone else chose (the
	// initial admin's, or one an admin set), until its user changes it.
	MustChangePassword bool
	CreatedAt          int64 // unix ns
	UpdatedAt          int64
}

// UserQuery lists users.
type UserQuery struct {
	Cursor int64 // only ids <= Cursor when > 0
	Limit  int   // 0 for all
}

// APIKey is a bearer token's record: what it is called, whose it is, and
// the hash of the token.
type APIKey struct {
	ID          int64
	Hash        []byte // HMAC of the token (package auth)
	Name        string
	Description string
	// UserID owns a personal key, which acts with its owner's role; 0 for
	// a system key, which belongs to no person.
	UserID     int64
	Username   string // the owner's, filled on reads
	UserEmail  string
	UserRole   string
	CreatedAt  int64 // unix ns
	ExpiresAt  int64 // 0 for never
	LastUsedAt int64 // 0 for never used
	RevokedAt  int64 // 0 while it works
}

// System reports whether k is a system key.
func (k APIKey) System() bool { return k.UserID == 0 }

// APIKeyQuery lists keys: the system keys, one user's, or every user's.
type APIKeyQuery struct {
	System bool  // the system keys
	UserID int64 // when not System: one user's keys, or every user's when 0
	Cursor int64 // only ids <= Cursor when > 0
	Limit  int   // 0 for all
}

// LoginSession is a browser's login.
type LoginSession struct {
	Hash       []byte // HMAC of the cookie's token (package auth)
	UserID     int64
	CreatedAt  int64 // unix ns
	LastSeenAt int64
	User       User // filled on reads
}
