package clickhouse

import (
	"context"

	"github.com/loupe-dev/loupe/internal/store"
)

// What the ClickHouse backend does not do yet answers errUnsupported, so
// that a caller (and the conformance suite, which lists these cases with
// their reason in clickhouse_test.go) sees it instead of a wrong answer.

// CreateUser is not supported yet.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	return store.User{}, unsupported("CreateUser")
}

// UserByID is not supported yet.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	return store.User{}, unsupported("UserByID")
}

// UserByLogin is not supported yet.
func (s *Store) UserByLogin(ctx context.Context, login string) (store.User, error) {
	return store.User{}, unsupported("UserByLogin")
}

// Users is not supported yet.
func (s *Store) Users(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	return nil, unsupported("Users")
}

// CountUsers is not supported yet.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	return 0, unsupported("CountUsers")
}

// UpdateUser is not supported yet.
func (s *Store) UpdateUser(ctx context.Context, u store.User, keepSession []byte) error {
	return unsupported("UpdateUser")
}

// DeleteUser is not supported yet.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	return unsupported("DeleteUser")
}

// CreateAPIKey is not supported yet.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	return store.APIKey{}, unsupported("CreateAPIKey")
}

// APIKeyByHash is not supported yet.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	return store.APIKey{}, unsupported("APIKeyByHash")
}

// APIKeyByID is not supported yet.
func (s *Store) APIKeyByID(ctx context.Context, id int64) (store.APIKey, error) {
	return store.APIKey{}, unsupported("APIKeyByID")
}

// APIKeys is not supported yet.
func (s *Store) APIKeys(ctx context.Context, q store.APIKeyQuery) ([]store.APIKey, error) {
	return nil, unsupported("APIKeys")
}

// RevokeAPIKey is not supported yet.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	return unsupported("RevokeAPIKey")
}

// TouchAPIKeys is not supported yet.
func (s *Store) TouchAPIKeys(ctx context.Context, lastUsed map[int64]int64) error {
	return unsupported("TouchAPIKeys")
}

// CreateLoginSession is not supported yet.
func (s *Store) CreateLoginSession(ctx context.Context, ls store.LoginSession) error {
	return unsupported("CreateLoginSession")
}

// LoginSessionByHash is not supported yet.
func (s *Store) LoginSessionByHash(ctx context.Context, hash []byte) (store.LoginSession, error) {
	return store.LoginSession{}, unsupported("LoginSessionByHash")
}

// TouchLoginSession is not supported yet.
func (s *Store) TouchLoginSession(ctx context.Context, hash []byte, lastSeen int64) error {
	return unsupported("TouchLoginSession")
}

// DeleteLoginSession is not supported yet.
func (s *Store) DeleteLoginSession(ctx context.Context, hash []byte) error {
	return unsupported("DeleteLoginSession")
}

// DeleteExpiredLoginSessions is not supported yet.
func (s *Store) DeleteExpiredLoginSessions(ctx context.Context, idleBefore, createdBefore int64) (int64, error) {
	return 0, unsupported("DeleteExpiredLoginSessions")
}

// AuthGeneration is not supported yet.
func (s *Store) AuthGeneration(ctx context.Context) (int64, error) {
	return 0, unsupported("AuthGeneration")
}

// SetRetentionPolicy is not supported yet.
func (s *Store) SetRetentionPolicy(ctx context.Context, projectID int64, p store.RetentionPolicy) error {
	return unsupported("SetRetentionPolicy")
}

// DeleteRetentionPolicy is not supported yet.
func (s *Store) DeleteRetentionPolicy(ctx context.Context, projectID int64) error {
	return unsupported("DeleteRetentionPolicy")
}

// DeleteTraces is not supported yet.
func (s *Store) DeleteTraces(ctx context.Context, d store.TraceDeletion) (store.Deleted, error) {
	return store.Deleted{}, unsupported("DeleteTraces")
}

// DeleteTrace is not supported yet.
func (s *Store) DeleteTrace(ctx context.Context, traceID string) error {
	return unsupported("DeleteTrace")
}

// TransferTraces is not supported yet.
func (s *Store) TransferTraces(ctx context.Context, traceIDs []string, toProject int64) (int, error) {
	return 0, unsupported("TransferTraces")
}

// DeleteSession is not supported yet.
func (s *Store) DeleteSession(ctx context.Context, sessionID string) error {
	return unsupported("DeleteSession")
}

// DeleteSpan is not supported yet.
func (s *Store) DeleteSpan(ctx context.Context, rowID int64) error {
	return unsupported("DeleteSpan")
}
