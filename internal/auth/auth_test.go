package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	bcryptCost = bcrypt.MinCost
	os.Exit(m.Run())
}

const testSecret = "a-test-secret-of-at-least-32-characters-1"

// clock is a settable time for tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// countingStore counts the key lookups that reach the database, and can be
// made to fail them.
type countingStore struct {
	store.AuthStore
	lookups atomic.Int64
	fail    atomic.Bool
}

var errDown = store.Unavailable(errors.New("database down"))

func (c *countingStore) APIKeyByHash(ctx context.Context, hash []byte) (store.APIKey, error) {
	c.lookups.Add(1)
	if c.fail.Load() {
		return store.APIKey{}, errDown
	}
	return c.AuthStore.APIKeyByHash(ctx, hash)
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

type fixture struct {
	svc   *Service
	st    *countingStore
	clock *clock
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	f := &fixture{st: &countingStore{AuthStore: openStore(t)}, clock: &clock{t: time.Now()}}
	cfg.Secret = testSecret
	cfg.Now = f.clock.now
	svc, err := New(f.st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// run runs the service's background work for the test.
func (f *fixture) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitFor(t, func() bool { return f.svc.polledAt.Load() != 0 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (f *fixture) user(t *testing.T, name string, role Role) store.User {
	t.Helper()
	u, err := f.svc.CreateUser(context.Background(), NewUser{Username: name, Email: name + "@example.com", Role: role, Password: "password-" + name})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (f *fixture) key(t *testing.T, userID int64) (store.APIKey, string) {
	t.Helper()
	k, token, err := f.svc.CreateAPIKey(context.Background(), NewKey{Name: "k", UserID: userID})
	if err != nil {
		t.Fatal(err)
	}
	return k, token
}

func TestValidateSecret(t *testing.T) {
	tests := []struct {
		secret, want string // want: a part of the error, "" for none
	}{
		{"", "must be set"},
		{"short1a", "at least 32 characters long (it has 7)"},
		{strings.Repeat("a", 32), "contain a digit"},
		{strings.Repeat("A1", 16), "contain a lower-case letter"},
		{strings.Repeat("a1", 15) + " x", "contain no whitespace"},
		{"abc", "be at least 32 characters long (it has 3) and contain a digit"},
		{testSecret, ""},
	}
	for _, tc := range tests {
		err := ValidateSecret(tc.secret)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ValidateSecret(%q) = %v, want nil", tc.secret, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateSecret(%q) = %v, want it to say %q", tc.secret, err, tc.want)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	st := openStore(t)
	for _, cfg := range []Config{
		{Secret: "short"},
		{Secret: testSecret, AdminSecret: "short"},
		{Secret: testSecret, AdminSecret: testSecret},
	} {
		if _, err := New(st, cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
		}
	}
}

func TestCan(t *testing.T) {
	tests := []struct {
		p                   Principal
		read, write, manage bool
	}{
		{Principal{Kind: KindSession, Role: RoleViewer}, true, false, false},
		{Principal{Kind: KindSession, Role: RoleMember}, true, true, false},
		{Principal{Kind: KindSession, Role: RoleAdmin}, true, true, true},
		{Principal{Kind: KindAPIKey, Role: RoleViewer}, true, false, false},
		{Principal{Kind: KindAPIKey, Role: RoleAdmin}, true, true, true},
		{Principal{Kind: KindAPIKey, Role: RoleSystem}, true, true, false},
		{Principal{Kind: KindSystem, Role: RoleSystem}, true, true, true},
	}
	for _, tc := range tests {
		got := [3]bool{tc.p.Can(Read), tc.p.Can(Write), tc.p.Can(Manage)}
		if want := [3]bool{tc.read, tc.write, tc.manage}; got != want {
			t.Errorf("%v %s: read, write, manage = %v, want %v", tc.p.Kind, tc.p.Role, got, want)
		}
	}
}

func TestPrincipalNames(t *testing.T) {
	tests := []struct {
		p         *Principal
		str       string
		id        int64
		user, key string
	}{
		{&Principal{Kind: KindSession, UserID: 3, Username: "alice"}, "alice", 3, "alice", ""},
		{&Principal{Kind: KindAPIKey, UserID: 3, Username: "alice", KeyName: "ci"}, "alice (key ci)", 3, "alice", "ci"},
		{&Principal{Kind: KindAPIKey, KeyName: "ingest", Role: RoleSystem}, "key ingest", 0, "", "ingest"},
		{systemPrincipal, "system", 0, "system", ""},
	}
	for _, tc := range tests {
		id, user, key := tc.p.Author()
		if tc.p.String() != tc.str || id != tc.id || user != tc.user || key != tc.key {
			t.Errorf("%+v: String, Author = %q, %d %q %q; want %q, %d %q %q", tc.p, tc.p.String(), id, user, key, tc.str, tc.id, tc.user, tc.key)
		}
	}
	if id, user, key := (*Principal)(nil).Author(); id != 0 || user != "" || key != "" {
		t.Errorf("nil Author = %d %q %q", id, user, key)
	}
}

func TestBootstrap(t *testing.T) {
	f := newFixture(t, Config{InitialAdminPassword: "first-password"})
	ctx := context.Background()
	for range 2 {
		if err := f.svc.Bootstrap(ctx); err != nil {
			t.Fatal(err)
		}
	}
	users, err := f.svc.Users(ctx, store.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 || users[0].Username != "admin" || users[0].Email != "admin@localhost" || users[0].Role != "ADMIN" || !users[0].MustChangePassword {
		t.Fatalf("users after Bootstrap twice = %+v, want just the admin, who must change the password", users)
	}
	_, p, err := f.svc.Login(ctx, "admin", "first-password", "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	if !p.MustChangePassword || p.Role != RoleAdmin {
		t.Errorf("admin's principal = %+v", p)
	}
	if err := f.svc.DeleteUser(ctx, users[0].ID); !errors.Is(err, ErrForbidden) {
		t.Errorf("deleting the default admin = %v, want ErrForbidden", err)
	}
}

func TestLoginAndSessions(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	alice := f.user(t, "alice", RoleMember)
	for _, login := range []string{"alice", "ALICE", "alice@example.com", " Alice@Example.com "} {
		if _, _, err := f.svc.Login(ctx, login, "password-alice", "1.2.3.4"); err != nil {
			t.Errorf("Login(%q) = %v", login, err)
		}
	}
	for _, tc := range [][2]string{{"alice", "wrong"}, {"bob", "password-alice"}, {"", ""}} {
		_, _, err := f.svc.Login(ctx, tc[0], tc[1], "1.2.3.4")
		if !errors.Is(err, ErrUnauthenticated) || err.Error() != "Invalid email and/or password" {
			t.Errorf("Login(%q, %q) = %v, want Invalid email and/or password", tc[0], tc[1], err)
		}
	}

	token, p, err := f.svc.Login(ctx, "alice", "password-alice", "1.2.3.4")
	if err != nil {
		t.Fatal(err)
	}
	// An admin chose the password: the user must change it.
	if p.UserID != alice.ID || p.Kind != KindSession || !p.MustChangePassword {
		t.Errorf("principal = %+v", p)
	}
	// Used within the idle time, a session lives on up to its lifetime.
	for range 7 {
		f.clock.advance(SessionIdle - time.Hour)
		if _, err := f.svc.VerifySession(ctx, token); err != nil {
			t.Fatalf("session used daily: %v", err)
		}
	}
	f.clock.advance(SessionLifetime - 7*(SessionIdle-time.Hour))
	if _, err := f.svc.VerifySession(ctx, token); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session past its lifetime = %v, want refused", err)
	}

	token, _, _ = f.svc.Login(ctx, "alice", "password-alice", "1.2.3.4")
	f.clock.advance(SessionIdle)
	if _, err := f.svc.VerifySession(ctx, token); err == nil || err.Error() != "Expired token" {
		t.Errorf("session idle for a day = %v, want Expired token", err)
	}

	token, _, _ = f.svc.Login(ctx, "alice", "password-alice", "1.2.3.4")
	if err := f.svc.Logout(ctx, token); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifySession(ctx, token); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session after logout = %v, want refused", err)
	}
}

func TestChangePassword(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	f.user(t, "alice", RoleMember)
	mine, p, _ := f.svc.Login(ctx, "alice", "password-alice", "a")
	other, _, _ := f.svc.Login(ctx, "alice", "password-alice", "b")
	if err := f.svc.ChangePassword(ctx, p, "a", "wrong", "new-password"); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("with a wrong current password = %v", err)
	}
	if err := f.svc.ChangePassword(ctx, p, "a", "password-alice", "short"); !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("with a short new password = %v", err)
	}
	if err := f.svc.ChangePassword(ctx, p, "a", "password-alice", "new-password"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifySession(ctx, mine); err != nil {
		t.Errorf("the session that changed the password = %v, want it kept", err)
	}
	if _, err := f.svc.VerifySession(ctx, other); err == nil {
		t.Errorf("another session of the user survived the password change")
	}
	if _, _, err := f.svc.Login(ctx, "alice", "new-password", "a"); err != nil {
		t.Errorf("login with the new password = %v", err)
	}
	keyP := &Principal{Kind: KindAPIKey, UserID: p.UserID, Username: "alice"}
	if err := f.svc.ChangePassword(ctx, keyP, "a", "new-password", "newer-password"); !errors.Is(err, ErrForbidden) {
		t.Errorf("a key changing its user's password = %v, want ErrForbidden", err)
	}
}

func TestLoginLimits(t *testing.T) {
	f := newFixture(t, Config{Limits: LoginLimits{PerLogin: 3, Window: time.Minute, PerAddress: 5, AddressInterval: 10 * time.Second}})
	ctx := context.Background()
	f.user(t, "alice", RoleMember)
	f.user(t, "bob", RoleMember)

	for range 3 {
		f.svc.Login(ctx, "alice", "wrong", "10.0.0.1")
	}
	// Blocked now, even with the right password, from anywhere.
	_, _, err := f.svc.Login(ctx, "alice", "password-alice", "10.0.0.2")
	var le *LimitError
	if !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetryAfter > time.Minute {
		t.Fatalf("login after 3 failures = %v, want a LimitError", err)
	}
	if _, _, err := f.svc.Login(ctx, "bob", "password-bob", "10.0.0.2"); err != nil {
		t.Errorf("another user is held up: %v", err)
	}
	f.clock.advance(time.Minute)
	if _, _, err := f.svc.Login(ctx, "alice", "password-alice", "10.0.0.2"); err != nil {
		t.Errorf("login once the window passed = %v", err)
	}

	// One address guessing many names: 3 failures above plus 2 here use
	// its burst of 5 (refilled by 6 over the minute, capped at 5).
	for i := range 5 {
		f.svc.Login(ctx, "nobody"+string(rune('a'+i)), "x", "10.0.0.1")
	}
	if _, _, err := f.svc.Login(ctx, "bob", "password-bob", "10.0.0.1"); !errors.As(err, &le) {
		t.Errorf("login from an address that failed 5 times = %v, want a LimitError", err)
	}
	f.clock.advance(10 * time.Second)
	if _, _, err := f.svc.Login(ctx, "bob", "password-bob", "10.0.0.1"); err != nil {
		t.Errorf("login from that address after its interval = %v", err)
	}
}

func TestVerifyToken(t *testing.T) {
	f := newFixture(t, Config{AdminSecret: "the-admin-secret-of-32-characters-or-more-9"})
	f.run(t)
	ctx := context.Background()
	alice := f.user(t, "alice", RoleViewer)
	k, token := f.key(t, alice.ID)
	if !strings.HasPrefix(token, "lk_") || len(token) < 40 {
		t.Errorf("token %q", token)
	}

	for range 3 {
		p, err := f.svc.VerifyToken(ctx, token)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != KindAPIKey || p.Role != RoleViewer || p.UserID != alice.ID || p.KeyID != k.ID {
			t.Errorf("principal = %+v", p)
		}
	}
	if n := f.st.lookups.Load(); n != 1 {
		t.Errorf("3 verifications read the database %d times, want 1 (cached)", n)
	}

	for _, bad := range []string{"lk_nope", "nope", token + "x"} {
		if _, err := f.svc.VerifyToken(ctx, bad); !errors.Is(err, ErrUnauthenticated) {
			t.Errorf("VerifyToken(%q) = %v", bad, err)
		}
	}
	p, err := f.svc.VerifyToken(ctx, "the-admin-secret-of-32-characters-or-more-9")
	if err != nil || p.Kind != KindSystem || !p.Can(Manage) {
		t.Errorf("admin secret = %+v, %v", p, err)
	}

	// A role change reaches the key at once.
	if err := f.svc.SetRole(ctx, alice.ID, RoleMember); err != nil {
		t.Fatal(err)
	}
	if p, _ := f.svc.VerifyToken(ctx, token); p == nil || p.Role != RoleMember {
		t.Errorf("after the role change, principal = %+v", p)
	}
	if err := f.svc.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifyToken(ctx, token); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("revoked key = %v, want refused at once", err)
	}
	if err := f.svc.RevokeAPIKey(ctx, k.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking twice = %v, want ErrNotFound", err)
	}

	// A database that cannot say is not the client's fault.
	_, token = f.key(t, 0)
	f.st.fail.Store(true)
	if _, err := f.svc.VerifyToken(ctx, token); err == nil || errors.Is(err, ErrUnauthenticated) {
		t.Errorf("with the database down = %v, want an error that is not a refusal", err)
	}
	f.st.fail.Store(false)

	// Expiry.
	k2, _, err := f.svc.CreateAPIKey(ctx, NewKey{Name: "past", ExpiresAt: f.clock.now().Add(-time.Second)})
	if !errors.Is(err, store.ErrInvalidArgument) {
		t.Errorf("a key expiring in the past = %+v, %v", k2, err)
	}
	_, token, err = f.svc.CreateAPIKey(ctx, NewKey{Name: "soon", ExpiresAt: f.clock.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifyToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	f.clock.advance(time.Hour)
	if _, err := f.svc.VerifyToken(ctx, token); err == nil || err.Error() != "Expired token" {
		t.Errorf("expired key (cached) = %v, want Expired token", err)
	}
}

func TestDeleteUserRevokesKeys(t *testing.T) {
	f := newFixture(t, Config{})
	f.run(t)
	ctx := context.Background()
	bob := f.user(t, "bob", RoleMember)
	_, token := f.key(t, bob.ID)
	session, _, _ := f.svc.Login(ctx, "bob", "password-bob", "a")
	if _, err := f.svc.VerifyToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.DeleteUser(ctx, bob.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.VerifyToken(ctx, token); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("key of a deleted user = %v", err)
	}
	if _, err := f.svc.VerifySession(ctx, session); !errors.Is(err, ErrUnauthenticated) {
		t.Errorf("session of a deleted user = %v", err)
	}
}

// TestOtherServersRevocation revokes a key through the store, as another
// server sharing the database would: the cache here lets it go within a
// poll.
func TestOtherServersRevocation(t *testing.T) {
	f := newFixture(t, Config{PollInterval: 20 * time.Millisecond})
	f.clock = nil
	f.svc.now = time.Now
	f.run(t)
	ctx := context.Background()
	k, token := f.key(t, 0)
	if _, err := f.svc.VerifyToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	if err := f.st.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		_, err := f.svc.VerifyToken(ctx, token)
		return errors.Is(err, ErrUnauthenticated)
	})
}

func TestLastUsed(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	k, token := f.key(t, 0)
	f.svc.VerifyToken(ctx, token)
	f.svc.flushUsed(ctx)
	got, err := f.svc.APIKey(ctx, k.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastUsedAt != f.clock.now().UnixNano() {
		t.Errorf("last used at %d, want %d", got.LastUsedAt, f.clock.now().UnixNano())
	}
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t, Config{})
	ctx := context.Background()
	viewer := f.user(t, "viewer", RoleViewer)
	member := f.user(t, "member", RoleMember)
	_, viewerKey := f.key(t, viewer.ID)
	_, memberKey := f.key(t, member.ID)
	session, _, _ := f.svc.Login(ctx, "member", "password-member", "a")

	var seen *Principal
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = FromContext(r.Context()) })
	api := f.svc.Middleware(HTTPOptions{})(handler)
	pages := f.svc.Middleware(HTTPOptions{Pages: true, Open: func(r *http.Request) bool { return r.URL.Path == "/login" }})(handler)

	tests := []struct {
		name    string
		h       http.Handler
		method  string
		path    string
		headers map[string]string
		status  int
		who     string
	}{
		{"no credentials", api, "GET", "/v1/projects", nil, 401, ""},
		{"bad scheme", api, "GET", "/v1/projects", map[string]string{"Authorization": "Basic eDp5"}, 401, ""},
		{"bad key", api, "GET", "/v1/projects", map[string]string{"Authorization": "Bearer lk_nope"}, 401, ""},
		{"viewer reads", api, "GET", "/v1/projects", map[string]string{"Authorization": "Bearer " + viewerKey}, 200, "viewer (key k)"},
		{"viewer writes", api, "POST", "/v1/traces", map[string]string{"Authorization": "Bearer " + viewerKey}, 403, ""},
		{"member writes", api, "POST", "/v1/traces", map[string]string{"Authorization": "bearer " + memberKey}, 200, "member (key k)"},
		{"cookie", api, "DELETE", "/v1/x", map[string]string{"Cookie": "loupe_session=" + session}, 200, "member"},
		{"page redirects", pages, "GET", "/projects/p?x=1", map[string]string{"Sec-Fetch-Mode": "navigate"}, 303, ""},
		{"old browser page redirects", pages, "GET", "/", map[string]string{"Accept": "text/html,*/*"}, 303, ""},
		{"fragment", pages, "GET", "/projects/p/spans/1", map[string]string{"Sec-Fetch-Mode": "cors", "Accept": "text/html"}, 401, ""},
		{"stream", pages, "GET", "/events", map[string]string{"Accept": "text/event-stream"}, 401, ""},
		{"login page open", pages, "GET", "/login", map[string]string{"Sec-Fetch-Mode": "navigate"}, 200, ""},
		{"expired cookie", pages, "GET", "/", map[string]string{"Cookie": "loupe_session=gone", "Sec-Fetch-Mode": "navigate"}, 303, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seen = nil
			r := httptest.NewRequest(tc.method, tc.path, nil)
			for k, v := range tc.headers {
				r.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			tc.h.ServeHTTP(w, r)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			switch tc.status {
			case 401:
				if got := w.Header().Get("WWW-Authenticate"); got != `Bearer realm="Loupe"` {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			case 303:
				loc, err := url.Parse(w.Header().Get("Location"))
				if err != nil || loc.Path != "/login" || loc.Query().Get("next") != tc.path {
					t.Errorf("Location = %q, want the login page with next=%s", w.Header().Get("Location"), tc.path)
				}
			case 200:
				if tc.who != "" && (seen == nil || seen.String() != tc.who) {
					t.Errorf("principal = %v, want %s", seen, tc.who)
				}
			}
			if tc.headers["Cookie"] == "loupe_session=gone" && !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
				t.Errorf("a refused cookie is not cleared: Set-Cookie %q", w.Header().Get("Set-Cookie"))
			}
		})
	}

	admin := Require(Manage, handler)
	for _, tc := range []struct {
		p      *Principal
		status int
	}{{nil, 200}, {&Principal{Role: RoleMember}, 403}, {&Principal{Role: RoleAdmin}, 200}} {
		w := httptest.NewRecorder()
		admin.ServeHTTP(w, httptest.NewRequest("GET", "/v1/users", nil).WithContext(WithPrincipal(ctx, tc.p)))
		if w.Code != tc.status {
			t.Errorf("Require(Manage) with %+v = %d, want %d", tc.p, w.Code, tc.status)
		}
	}

	f.st.fail.Store(true)
	_, fresh := f.key(t, 0)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("POST", "/v1/traces", nil)
	r.Header.Set("Authorization", "Bearer "+fresh)
	api.ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("with the database down: %d %q, want 503 with Retry-After", w.Code, w.Body)
	}
}

func TestLoginURL(t *testing.T) {
	f := newFixture(t, Config{})
	r := httptest.NewRequest("GET", "/projects/a%20b/traces?filter=x%3D1", nil)
	if got, want := f.svc.LoginURL(r), "/login?next=%2Fprojects%2Fa%2520b%2Ftraces%3Ffilter%3Dx%253D1"; got != want {
		t.Errorf("LoginURL = %q, want %q", got, want)
	}
}

func TestSafeRedirect(t *testing.T) {
	for next, want := range map[string]string{
		"/projects/x?y=1":   "/projects/x?y=1",
		"":                  "/",
		"https://evil.test": "/",
		"//evil.test/x":     "/",
		"/\\evil.test":      "/",
		"javascript:alert":  "/",
		"projects":          "/",
	} {
		if got := SafeRedirect(next); got != want {
			t.Errorf("SafeRedirect(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestCookies(t *testing.T) {
	f := newFixture(t, Config{})
	w := httptest.NewRecorder()
	f.svc.SetSessionCookie(w, httptest.NewRequest("GET", "http://x/", nil), "tok")
	if c := w.Header().Get("Set-Cookie"); !strings.Contains(c, "loupe_session=tok") || !strings.Contains(c, "HttpOnly") ||
		!strings.Contains(c, "SameSite=Lax") || strings.Contains(c, "Secure") {
		t.Errorf("plain HTTP cookie = %q", c)
	}
	w = httptest.NewRecorder()
	f.svc.SetSessionCookie(w, httptest.NewRequest("GET", "https://x/", nil), "tok")
	if c := w.Header().Get("Set-Cookie"); !strings.HasPrefix(c, "__Host-loupe_session=tok") || !strings.Contains(c, "Secure") || !strings.Contains(c, "Path=/") {
		t.Errorf("TLS cookie = %q", c)
	}
	r := httptest.NewRequest("GET", "/", nil)
	r.AddCookie(&http.Cookie{Name: "__Host-loupe_session", Value: "tok"})
	if SessionToken(r) != "tok" {
		t.Errorf("SessionToken misses the __Host- cookie")
	}
}

func TestInterceptors(t *testing.T) {
	f := newFixture(t, Config{})
	viewer := f.user(t, "viewer", RoleViewer)
	_, viewerKey := f.key(t, viewer.ID)
	_, systemKey := f.key(t, 0)
	unary := f.svc.UnaryServerInterceptor(nil)
	stream := f.svc.StreamServerInterceptor(nil)
	tests := []struct {
		md   []string
		code codes.Code
	}{
		{nil, codes.Unauthenticated},
		{[]string{"authorization", "Bearer lk_nope"}, codes.Unauthenticated},
		{[]string{"authorization", "Basic x"}, codes.Unauthenticated},
		{[]string{"authorization", "Bearer " + viewerKey}, codes.PermissionDenied},
		{[]string{"authorization", "Bearer " + systemKey}, codes.OK},
	}
	for _, tc := range tests {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs(tc.md...))
		var who *Principal
		_, err := unary(ctx, nil, &grpc.UnaryServerInfo{FullMethod: "/x/Export"}, func(ctx context.Context, _ any) (any, error) {
			who = FromContext(ctx)
			return nil, nil
		})
		if status.Code(err) != tc.code {
			t.Errorf("unary with %q = %v, want %v", tc.md, err, tc.code)
		}
		if tc.code == codes.OK && (who == nil || who.Role != RoleSystem) {
			t.Errorf("unary handler saw principal %+v", who)
		}
		err = stream(nil, fakeStream{ctx}, &grpc.StreamServerInfo{FullMethod: "/x/Export"}, func(_ any, ss grpc.ServerStream) error {
			who = FromContext(ss.Context())
			return nil
		})
		if status.Code(err) != tc.code {
			t.Errorf("stream with %q = %v, want %v", tc.md, err, tc.code)
		}
	}
}

type fakeStream struct{ ctx context.Context }

func (s fakeStream) Context() context.Context   { return s.ctx }
func (fakeStream) SetHeader(metadata.MD) error  { return nil }
func (fakeStream) SendHeader(metadata.MD) error { return nil }
func (fakeStream) SetTrailer(metadata.MD)       {}
func (fakeStream) SendMsg(any) error            { return nil }
func (fakeStream) RecvMsg(any) error            { return nil }
