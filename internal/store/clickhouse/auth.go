package clickhouse

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store"
)

// Users, API keys and login sessions live in ClickHouse with the spans, as
// versioned rows read with FINAL (docs/CLICKHOUSE.md says why not in a
// second database). ClickHouse has no sequences, unique constraints or
// transactions, so:
//
//   - ids are times (newID): the newest user or key has the highest id, as
//     the other backends' sequences give;
//   - a username or email is claimed by inserting the user and then
//     looking for other claims: a writer that finds one withdraws its own
//     (claimUser), so two servers creating one name at once never both
//     succeed;
//   - what ends a credential is final: a deleted user, a revoked key and an
//     ended login session are written with the highest version there is,
//     so no later write (an update, a touch) brings them back;
//   - the auth generation is the largest value ever written to
//     auth_generation, and each change writes one above what it reads
//     after the change itself is stored, so a server that read the
//     generation before the change reads a larger one after it.
var authTables = []table{
	{
		name: "users",
		columns: `id Int64, username String, email String, role LowCardinality(String), password_hash String,
			must_change_password UInt8, created_at Int64, updated_at Int64, version Int64, is_deleted UInt8`,
		engine: "ReplacingMergeTree(version, is_deleted)", orderBy: "id", shardKey: "id",
	},
	{
		// A key's row is written twice at most: created, then revoked
		// (version final). When it was last used is in api_key_uses.
		name: "api_keys",
		columns: `id Int64, token_hash String, name String, description String, user_id Int64,
			created_at Int64, expires_at Int64, revoked_at Int64, version Int64,
			INDEX token_hash_bf token_hash TYPE bloom_filter GRANULARITY 1`,
		engine: "ReplacingMergeTree(version)", orderBy: "id", shardKey: "id",
	},
	{
		// Each server writes when its keys were used; the latest wins
		// without reading first.
		name:    "api_key_uses",
		columns: `key_id Int64, last_used_at SimpleAggregateFunction(max, Int64)`,
		engine:  "AggregatingMergeTree", orderBy: "key_id", shardKey: "key_id",
	},
	{
		// A live session's version is when it was last seen, so a touch
		// only moves it forward; an ended one's is final.
		name: "login_sessions",
		columns: `token_hash String, user_id Int64, created_at Int64, last_seen_at Int64,
			version Int64, is_deleted UInt8`,
		engine: "ReplacingMergeTree(version, is_deleted)", orderBy: "token_hash", shardKey: "cityHash64(token_hash)",
	},
	{
		name:    "auth_generation",
		columns: `k UInt8, generation SimpleAggregateFunction(max, Int64)`,
		engine:  "AggregatingMergeTree", orderBy: "k", shardKey: "k",
	},
}

// final is the version of a row that nothing may replace.
const final = math.MaxInt64

var idClock struct {
	sync.Mutex
	last int64
}

// newID is an id for a user or key: milliseconds since 1970 shifted left
// by 11 bits, plus 11 random bits, so that ids grow with time, servers
// creating one in the same millisecond almost never meet, and ids stay
// below 2^53 (exact as JSON numbers) until the year 2109.
func newID() int64 {
	idClock.Lock()
	defer idClock.Unlock()
	id := time.Now().UnixMilli()<<11 | rand.Int64N(1<<11)
	if id <= idClock.last {
		id = idClock.last + 1
	}
	idClock.last = id
	return id
}

func hashKey(h []byte) string { return hex.EncodeToString(h) }

// bumpAuthGeneration tells every server that a credential may have lost
// its power. It runs after the change is stored and writes above the
// largest generation it reads, so every server polling later sees a value
// it has not seen before the change.
func (s *Store) bumpAuthGeneration(ctx context.Context) error {
	g, err := s.AuthGeneration(ctx)
	if err != nil {
		return err
	}
	if err := s.conn.Exec(insertCtx(ctx, ""), "INSERT INTO auth_generation VALUES (0, {g:Int64})",
		ch.Named("g", max(nowNanos(), g+1))); err != nil {
		return classify(ctx, fmt.Errorf("move the auth generation: %w", err))
	}
	return nil
}

// AuthGeneration reads the auth generation.
func (s *Store) AuthGeneration(ctx context.Context) (int64, error) {
	var g int64
	if err := s.conn.QueryRow(ctx, "SELECT toInt64(max(generation)) FROM auth_generation").Scan(&g); err != nil {
		return 0, classify(ctx, fmt.Errorf("read the auth generation: %w", err))
	}
	return g, nil
}

const userColumns = `id, username, email, role, password_hash, must_change_password, created_at, updated_at, version`

func (s *Store) queryUsers(ctx context.Context, cond, tail string, args ...any) ([]store.User, []int64, error) {
	sql := "SELECT " + userColumns + " FROM users FINAL"
	if cond != "" {
		sql += " WHERE " + cond
	}
	rows, err := s.conn.Query(ctx, sql+tail, args...)
	if err != nil {
		return nil, nil, classify(ctx, fmt.Errorf("read users: %w", err))
	}
	defer rows.Close()
	var out []store.User
	var versions []int64
	for rows.Next() {
		var u store.User
		var must uint8
		var v int64
		if err := rows.Scan(&u.ID, &u.Username, &u.Email, &u.Role, &u.PasswordHash, &must, &u.CreatedAt, &u.UpdatedAt, &v); err != nil {
			return nil, nil, fmt.Errorf("read users: %w", err)
		}
		u.MustChangePassword = must != 0
		out = append(out, u)
		versions = append(versions, v)
	}
	return out, versions, classify(ctx, rows.Err())
}

func (s *Store) insertUser(ctx context.Context, u store.User, version int64, deleted bool) error {
	return s.conn.Exec(insertCtx(ctx, ""), `INSERT INTO users VALUES ({id:Int64}, {u:String}, {e:String}, {r:String}, {p:String},
		{m:UInt8}, {c:Int64}, {t:Int64}, {v:Int64}, {d:UInt8})`,
		ch.Named("id", u.ID), ch.Named("u", text(u.Username)), ch.Named("e", text(u.Email)), ch.Named("r", text(u.Role)),
		ch.Named("p", text(u.PasswordHash)), ch.Named("m", boolByte(u.MustChangePassword)), ch.Named("c", u.CreatedAt),
		ch.Named("t", u.UpdatedAt), ch.Named("v", version), ch.Named("d", boolByte(deleted)))
}

func boolByte(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

const sameLogin = `(lowerUTF8(username) = lowerUTF8({u:String}) OR lowerUTF8(email) = lowerUTF8({e:String}))`

// CreateUser stores a new user; a taken username or email is an ErrConflict.
func (s *Store) CreateUser(ctx context.Context, u store.User) (store.User, error) {
	u.Username, u.Email = text(u.Username), text(u.Email)
	names := []any{ch.Named("u", u.Username), ch.Named("e", u.Email)}
	others, _, err := s.queryUsers(ctx, sameLogin, " LIMIT 1", names...)
	if err != nil {
		return u, err
	}
	if len(others) > 0 {
		return u, conflict(others[0], u)
	}
	now := nowNanos()
	u.ID, u.CreatedAt, u.UpdatedAt = newID(), now, now
	if err := s.insertUser(ctx, u, now, false); err != nil {
		return u, classify(ctx, fmt.Errorf("create user: %w", err))
	}
	return u, s.claimUser(ctx, u, names)
}

// claimUser withdraws a user just written when another user with its
// username or email exists by now: of two servers creating the same name
// at once, at least the one that stored its user second sees the other,
// so two users never keep one name (both may withdraw; the caller retries).
func (s *Store) claimUser(ctx context.Context, u store.User, names []any) error {
	others, _, err := s.queryUsers(ctx, sameLogin+" AND id != {id:Int64}", " LIMIT 1", append(names, ch.Named("id", u.ID))...)
	if err != nil {
		return err
	}
	if len(others) == 0 {
		return nil
	}
	if err := s.insertUser(ctx, u, final, true); err != nil {
		return classify(ctx, fmt.Errorf("withdraw user %q: %w", u.Username, err))
	}
	return conflict(others[0], u)
}

func conflict(other, u store.User) error {
	taken := "email"
	if strings.EqualFold(other.Username, u.Username) {
		taken = "username"
	}
	return fmt.Errorf("%s already exists: %w", taken, store.ErrConflict)
}

func (s *Store) oneUser(ctx context.Context, cond, tail string, args ...any) (store.User, int64, error) {
	us, vs, err := s.queryUsers(ctx, cond, tail, args...)
	if err != nil {
		return store.User{}, 0, err
	}
	if len(us) == 0 {
		return store.User{}, 0, fmt.Errorf("user: %w", store.ErrNotFound)
	}
	return us[0], vs[0], nil
}

// UserByID finds a user by id.
func (s *Store) UserByID(ctx context.Context, id int64) (store.User, error) {
	u, _, err := s.oneUser(ctx, "id = {id:Int64}", "", ch.Named("id", id))
	return u, err
}

// UserByLogin finds a user by username or email, a username first.
func (s *Store) UserByLogin(ctx context.Context, login string) (store.User, error) {
	u, _, err := s.oneUser(ctx, "lowerUTF8(username) = lowerUTF8({l:String}) OR lowerUTF8(email) = lowerUTF8({l:String})",
		" ORDER BY lowerUTF8(username) = lowerUTF8({l:String}) DESC, id LIMIT 1", ch.Named("l", text(login)))
	return u, err
}

// Users lists users, highest id first.
func (s *Store) Users(ctx context.Context, q store.UserQuery) ([]store.User, error) {
	cond, args := "", []any{}
	if q.Cursor > 0 {
		cond, args = "id <= {c:Int64}", append(args, ch.Named("c", q.Cursor))
	}
	us, _, err := s.queryUsers(ctx, cond, " ORDER BY id DESC"+limit(q.Limit), args...)
	return us, err
}

// CountUsers counts the users.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	if err := s.conn.QueryRow(ctx, "SELECT toInt64(count()) FROM users FINAL").Scan(&n); err != nil {
		return 0, classify(ctx, fmt.Errorf("count users: %w", err))
	}
	return n, nil
}

// UpdateUser changes a user's role and password, ends its other sessions
// and moves the auth generation.
func (s *Store) UpdateUser(ctx context.Context, u store.User, keepSession []byte) error {
	old, version, err := s.oneUser(ctx, "id = {id:Int64}", "", ch.Named("id", u.ID))
	if err != nil {
		return fmt.Errorf("user %d: %w", u.ID, err)
	}
	old.Role, old.PasswordHash, old.MustChangePassword = u.Role, u.PasswordHash, u.MustChangePassword
	now := nowNanos()
	old.UpdatedAt = now
	if err := s.insertUser(ctx, old, max(now, version+1), false); err != nil {
		return classify(ctx, fmt.Errorf("update user %d: %w", u.ID, err))
	}
	if _, err := s.endSessions(ctx, "user_id = {u:Int64} AND token_hash != {keep:String}",
		ch.Named("u", u.ID), ch.Named("keep", hashKey(keepSession))); err != nil {
		return err
	}
	return s.bumpAuthGeneration(ctx)
}

// DeleteUser deletes a user, ends its sessions and revokes its keys.
func (s *Store) DeleteUser(ctx context.Context, id int64) error {
	u, _, err := s.oneUser(ctx, "id = {id:Int64}", "", ch.Named("id", id))
	if err != nil {
		return fmt.Errorf("user %d: %w", id, err)
	}
	if err := s.insertUser(ctx, u, final, true); err != nil {
		return classify(ctx, fmt.Errorf("delete user %d: %w", id, err))
	}
	if _, err := s.endSessions(ctx, "user_id = {u:Int64}", ch.Named("u", id)); err != nil {
		return err
	}
	// APIKeyByHash refuses a personal key whose user is gone anyway; the
	// keys are revoked too so that lists and the ids' reads agree.
	err = s.conn.Exec(insertCtx(ctx, ""), `INSERT INTO api_keys SELECT * REPLACE ({now:Int64} AS revoked_at, {v:Int64} AS version)
		FROM api_keys FINAL WHERE user_id = {u:Int64} AND revoked_at = 0`,
		ch.Named("now", nowNanos()), ch.Named("v", int64(final)), ch.Named("u", id))
	if err != nil {
		return classify(ctx, fmt.Errorf("revoke the keys of user %d: %w", id, err))
	}
	return s.bumpAuthGeneration(ctx)
}

const keyColumns = `id, token_hash, name, description, user_id, created_at, expires_at, revoked_at`

// queryKeys reads keys with their owners and last uses (two more reads,
// not joins: keys and users are sharded apart).
func (s *Store) queryKeys(ctx context.Context, cond, tail string, args ...any) ([]store.APIKey, error) {
	rows, err := s.conn.Query(ctx, "SELECT "+keyColumns+" FROM api_keys FINAL WHERE "+cond+tail, args...)
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("read API keys: %w", err))
	}
	var out []store.APIKey
	for rows.Next() {
		var k store.APIKey
		var h string
		if err := rows.Scan(&k.ID, &h, &k.Name, &k.Description, &k.UserID, &k.CreatedAt, &k.ExpiresAt, &k.RevokedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read API keys: %w", err)
		}
		if k.Hash, err = hex.DecodeString(h); err != nil {
			rows.Close()
			return nil, fmt.Errorf("read API key %d: %w", k.ID, err)
		}
		out = append(out, k)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(out) == 0 {
		return out, classify(ctx, err)
	}
	ids := make([]int64, len(out))
	var owners []int64
	for i, k := range out {
		ids[i] = k.ID
		if k.UserID != 0 {
			owners = append(owners, k.UserID)
		}
	}
	used := map[int64]int64{}
	rows, err = s.conn.Query(ctx, "SELECT key_id, toInt64(max(last_used_at)) FROM api_key_uses WHERE key_id IN {ids:Array(Int64)} GROUP BY key_id",
		ch.Named("ids", ids))
	if err != nil {
		return nil, classify(ctx, fmt.Errorf("read when API keys were used: %w", err))
	}
	for rows.Next() {
		var id, at int64
		if err := rows.Scan(&id, &at); err != nil {
			rows.Close()
			return nil, err
		}
		used[id] = at
	}
	rows.Close()
	users := map[int64]store.User{}
	if len(owners) > 0 {
		us, _, err := s.queryUsers(ctx, "id IN {ids:Array(Int64)}", "", ch.Named("ids", owners))
		if err != nil {
			return nil, err
		}
		for _, u := range us {
			users[u.ID] = u
		}
	}
	for i := range out {
		k := &out[i]
		k.LastUsedAt = used[k.ID]
		if u, ok := users[k.UserID]; ok {
			k.Username, k.UserEmail, k.UserRole = u.Username, u.Email, u.Role
		}
	}
	return out, nil
}

// CreateAPIKey stores a key's hash and description.
func (s *Store) CreateAPIKey(ctx context.Context, k store.APIKey) (store.APIKey, error) {
	k.ID, k.CreatedAt = newID(), nowNanos()
	k.Name, k.Description = text(k.Name), text(k.Description)
	err := s.conn.Exec(insertCtx(ctx, ""), `INSERT INTO api_keys VALUES ({id:Int64}, {h:String}, {n:String}, {d:String}, {u:Int64},
		{c:Int64}, {x:Int64}, 0, 1)`, ch.Named("id", k.ID), ch.Named("h", hashKey(k.Hash)), ch.Named("n", k.Name),
		ch.Named("d", k.Description), ch.Named("u", k.UserID), ch.Named("c", k.CreatedAt), ch.Named("x", k.ExpiresAt))
	if err != nil {
		return k, classify(ctx, fmt.Errorf("create API key: %w", err))
	}
	return k, nil
}

// APIKeyByHash finds a working key by its hash: not revoked, and a
// personal key's owner not deleted.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	ks, err := s.queryKeys(ctx, "token_hash = {h:String} AND revoked_at = 0", " LIMIT 1", ch.Named("h", hashKey(hash)))
	if err != nil {
		return store.APIKey{}, err
	}
	if len(ks) == 0 || ks[0].UserID != 0 && ks[0].Username == "" {
		return store.APIKey{}, fmt.Errorf("API key: %w", store.ErrNotFound)
	}
	return ks[0], nil
}

// APIKeyByID finds a key by id, revoked or not.
func (s *Store) APIKeyByID(ctx context.Context, id int64) (store.APIKey, error) {
	ks, err := s.queryKeys(ctx, "id = {id:Int64}", "", ch.Named("id", id))
	if err != nil {
		return store.APIKey{}, err
	}
	if len(ks) == 0 {
		return store.APIKey{}, fmt.Errorf("API key %d: %w", id, store.ErrNotFound)
	}
	return ks[0], nil
}

// APIKeys lists working keys, highest id first.
func (s *Store) APIKeys(ctx context.Context, q store.APIKeyQuery) ([]store.APIKey, error) {
	var w where
	w.add("revoked_at = 0")
	switch {
	case q.System:
		w.add("user_id = 0")
	case q.UserID != 0:
		w.add("user_id = " + w.arg("Int64", q.UserID))
	default:
		w.add("user_id != 0")
	}
	if q.Cursor > 0 {
		w.add("id <= " + w.arg("Int64", q.Cursor))
	}
	return s.queryKeys(ctx, strings.Join(w.conds, " AND "), " ORDER BY id DESC"+limit(q.Limit), w.args...)
}

// RevokeAPIKey revokes a working key and moves the auth generation.
func (s *Store) RevokeAPIKey(ctx context.Context, id int64) error {
	var n uint64
	if err := s.conn.QueryRow(ctx, "SELECT count() FROM api_keys FINAL WHERE id = {id:Int64} AND revoked_at = 0",
		ch.Named("id", id)).Scan(&n); err != nil {
		return classify(ctx, fmt.Errorf("find API key %d: %w", id, err))
	}
	if n == 0 {
		return fmt.Errorf("API key %d: %w", id, store.ErrNotFound)
	}
	err := s.conn.Exec(insertCtx(ctx, ""), `INSERT INTO api_keys SELECT * REPLACE ({r:Int64} AS revoked_at, {v:Int64} AS version)
		FROM api_keys FINAL WHERE id = {id:Int64}`, ch.Named("r", nowNanos()), ch.Named("v", int64(final)), ch.Named("id", id))
	if err != nil {
		return classify(ctx, fmt.Errorf("revoke API key %d: %w", id, err))
	}
	return s.bumpAuthGeneration(ctx)
}

// TouchAPIKeys records when keys were last used; reads take the latest.
func (s *Store) TouchAPIKeys(ctx context.Context, lastUsed map[int64]int64) error {
	if len(lastUsed) == 0 {
		return nil
	}
	batch, err := s.conn.PrepareBatch(insertCtx(ctx, ""), "INSERT INTO api_key_uses")
	if err != nil {
		return classify(ctx, fmt.Errorf("record when API keys were used: %w", err))
	}
	for id, at := range lastUsed {
		if err := batch.Append(id, at); err != nil {
			return fmt.Errorf("record when API keys were used: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return classify(ctx, fmt.Errorf("record when API keys were used: %w", err))
	}
	return nil
}

func (s *Store) insertSession(ctx context.Context, ls store.LoginSession, version int64, deleted bool) error {
	return s.conn.Exec(insertCtx(ctx, ""), `INSERT INTO login_sessions VALUES ({h:String}, {u:Int64}, {c:Int64}, {l:Int64}, {v:Int64}, {d:UInt8})`,
		ch.Named("h", hashKey(ls.Hash)), ch.Named("u", ls.UserID), ch.Named("c", ls.CreatedAt), ch.Named("l", ls.LastSeenAt),
		ch.Named("v", version), ch.Named("d", boolByte(deleted)))
}

// CreateLoginSession stores a UI session.
func (s *Store) CreateLoginSession(ctx context.Context, ls store.LoginSession) error {
	if err := s.insertSession(ctx, ls, ls.LastSeenAt, false); err != nil {
		return classify(ctx, fmt.Errorf("create login session: %w", err))
	}
	return nil
}

func (s *Store) loginSession(ctx context.Context, hash []byte) (store.LoginSession, error) {
	ls := store.LoginSession{Hash: hash}
	rows, err := s.conn.Query(ctx, "SELECT user_id, created_at, last_seen_at FROM login_sessions FINAL WHERE token_hash = {h:String}",
		ch.Named("h", hashKey(hash)))
	if err != nil {
		return ls, classify(ctx, fmt.Errorf("read login session: %w", err))
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return ls, classify(ctx, fmt.Errorf("read login session: %w", err))
		}
		return ls, fmt.Errorf("login session: %w", store.ErrNotFound)
	}
	if err := rows.Scan(&ls.UserID, &ls.CreatedAt, &ls.LastSeenAt); err != nil {
		return ls, fmt.Errorf("read login session: %w", err)
	}
	return ls, nil
}

// LoginSessionByHash finds a session and its user.
func (s *Store) LoginSessionByHash(ctx context.Context, hash []byte) (store.LoginSession, error) {
	ls, err := s.loginSession(ctx, hash)
	if err != nil {
		return ls, err
	}
	if ls.User, err = s.UserByID(ctx, ls.UserID); err != nil {
		return store.LoginSession{}, fmt.Errorf("login session: %w", err)
	}
	return ls, nil
}

// TouchLoginSession records when a session was last used: a row whose
// version is that time, so the latest touch wins.
func (s *Store) TouchLoginSession(ctx context.Context, hash []byte, lastSeen int64) error {
	ls, err := s.loginSession(ctx, hash)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	}
	if lastSeen <= ls.LastSeenAt {
		return nil
	}
	ls.LastSeenAt = lastSeen
	if err := s.insertSession(ctx, ls, lastSeen, false); err != nil {
		return classify(ctx, fmt.Errorf("record when a login session was used: %w", err))
	}
	return nil
}

// DeleteLoginSession ends a session.
func (s *Store) DeleteLoginSession(ctx context.Context, hash []byte) error {
	_, err := s.endSessions(ctx, "token_hash = {h:String}", ch.Named("h", hashKey(hash)))
	return err
}

// DeleteExpiredLoginSessions ends sessions past their idle or absolute expiry.
func (s *Store) DeleteExpiredLoginSessions(ctx context.Context, idleBefore, createdBefore int64) (int64, error) {
	return s.endSessions(ctx, "last_seen_at < {i:Int64} OR created_at < {c:Int64}", ch.Named("i", idleBefore), ch.Named("c", createdBefore))
}

// endSessions ends the live sessions cond selects, writing each again with
// the final version, and reports how many it ended.
func (s *Store) endSessions(ctx context.Context, cond string, args ...any) (int64, error) {
	var n int64
	err := s.conn.QueryRow(ctx, "SELECT toInt64(count()) FROM login_sessions FINAL WHERE "+cond, args...).Scan(&n)
	if err != nil {
		return 0, classify(ctx, fmt.Errorf("find login sessions: %w", err))
	}
	if n == 0 {
		return 0, nil
	}
	err = s.conn.Exec(insertCtx(ctx, ""), `INSERT INTO login_sessions SELECT token_hash, user_id, created_at, last_seen_at,
		{final:Int64}, 1 FROM login_sessions FINAL WHERE `+cond, append(args, ch.Named("final", int64(final)))...)
	if err != nil {
		return 0, classify(ctx, fmt.Errorf("end login sessions: %w", err))
	}
	return n, nil
}
