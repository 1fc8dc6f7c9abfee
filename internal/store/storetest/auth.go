package storetest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/store"
)

func generation(t *testing.T, s store.AuthStore) int64 {
	t.Helper()
	g, err := s.AuthGeneration(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// bumps runs fn and checks whether it moved the auth generation.
func bumps(t *testing.T, s store.AuthStore, what string, want bool, fn func() error) {
	t.Helper()
	before := generation(t, s)
	if err := fn(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if moved := generation(t, s) > before; moved != want {
		t.Errorf("%s: auth generation moved = %v, want %v", what, moved, want)
	}
}

func hash(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func testAuthUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	if n, err := s.CountUsers(ctx); n != 0 || err != nil {
		t.Fatalf("CountUsers of an empty store = %d, %v", n, err)
	}
	alice, err := s.CreateUser(ctx, store.User{Username: "Alice", Email: "alice@example.com", Role: "ADMIN", PasswordHash: "h1", MustChangePassword: true})
	if err != nil {
		t.Fatal(err)
	}
	if alice.ID == 0 || alice.CreatedAt == 0 {
		t.Errorf("created user = %+v", alice)
	}
	bob, err := s.CreateUser(ctx, store.User{Username: "bob", Email: "bob@example.com", Role: "VIEWER"})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []store.User{
		{Username: "alice", Email: "other@example.com", Role: "MEMBER"},
		{Username: "carol", Email: "BOB@example.com", Role: "MEMBER"},
	} {
		if _, err := s.CreateUser(ctx, u); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateUser(%s, %s) = %v, want ErrConflict", u.Username, u.Email, err)
		}
	}
	for _, login := range []string{"alice", "ALICE", "Alice@Example.com"} {
		u, err := s.UserByLogin(ctx, login)
		if err != nil || u.ID != alice.ID || u.PasswordHash != "h1" || !u.MustChangePassword || u.Role != "ADMIN" {
			t.Errorf("UserByLogin(%q) = %+v, %v", login, u, err)
		}
	}
	if u, err := s.UserByID(ctx, bob.ID); err != nil || u.Username != "bob" || u.PasswordHash != "" {
		t.Errorf("UserByID(bob) = %+v, %v", u, err)
	}
	if _, err := s.UserByLogin(ctx, "nobody"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UserByLogin(nobody) = %v, want ErrNotFound", err)
	}
	users, err := s.Users(ctx, store.UserQuery{Limit: 1})
	if err != nil || len(users) != 1 || users[0].ID != bob.ID {
		t.Errorf("Users(limit 1) = %+v, %v; want bob, the newest", users, err)
	}
	users, err = s.Users(ctx, store.UserQuery{Cursor: alice.ID})
	if err != nil || len(users) != 1 || users[0].ID != alice.ID {
		t.Errorf("Users(cursor alice) = %+v, %v", users, err)
	}

	// Changing a user ends its other sessions and tells the other servers.
	now := time.Now().UnixNano()
	for _, h := range []byte{1, 2} {
		if err := s.CreateLoginSession(ctx, store.LoginSession{Hash: hash(h), UserID: alice.ID, CreatedAt: now, LastSeenAt: now}); err != nil {
			t.Fatal(err)
		}
	}
	alice.Role, alice.PasswordHash, alice.MustChangePassword = "MEMBER", "h2", false
	bumps(t, s, "UpdateUser", true, func() error { return s.UpdateUser(ctx, alice, hash(1)) })
	if u, _ := s.UserByID(ctx, alice.ID); u.Role != "MEMBER" || u.PasswordHash != "h2" || u.MustChangePassword {
		t.Errorf("updated user = %+v", u)
	}
	if _, err := s.LoginSessionByHash(ctx, hash(1)); err != nil {
		t.Errorf("the kept session: %v", err)
	}
	if _, err := s.LoginSessionByHash(ctx, hash(2)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the other session = %v, want ended", err)
	}
	if err := s.UpdateUser(ctx, store.User{ID: 999999, Role: "MEMBER"}, nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser(no such user) = %v", err)
	}

	// Deleting a user deletes its keys and sessions.
	k, err := s.CreateAPIKey(ctx, store.APIKey{Hash: hash(3), Name: "alice's", UserID: alice.ID})
	if err != nil {
		t.Fatal(err)
	}
	bumps(t, s, "DeleteUser", true, func() error { return s.DeleteUser(ctx, alice.ID) })
	if _, err := s.APIKeyByHash(ctx, hash(3)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("key %d of a deleted user = %v, want ErrNotFound", k.ID, err)
	}
	if _, err := s.LoginSessionByHash(ctx, hash(1)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("session of a deleted user = %v", err)
	}
	if err := s.DeleteUser(ctx, alice.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice = %v", err)
	}
	if n, _ := s.CountUsers(ctx); n != 1 {
		t.Errorf("CountUsers = %d, want 1", n)
	}
}

func testAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	carol, err := s.CreateUser(ctx, store.User{Username: "carol", Email: "carol@example.com", Role: "VIEWER"})
	if err != nil {
		t.Fatal(err)
	}
	dave, err := s.CreateUser(ctx, store.User{Username: "dave", Email: "dave@example.com", Role: "MEMBER"})
	if err != nil {
		t.Fatal(err)
	}
	expires := time.Now().Add(time.Hour).UnixNano()
	sys, err := s.CreateAPIKey(ctx, store.APIKey{Hash: hash(1), Name: "ingest", Description: "from the app"})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := s.CreateAPIKey(ctx, store.APIKey{Hash: hash(2), Name: "notebook", UserID: carol.ID, ExpiresAt: expires})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := s.CreateAPIKey(ctx, store.APIKey{Hash: hash(3), Name: "ci", UserID: dave.ID})
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.APIKeyByHash(ctx, hash(2))
	want := store.APIKey{ID: mine.ID, Hash: hash(2), Name: "notebook", UserID: carol.ID, Username: "carol", UserEmail: "carol@example.com",
		UserRole: "VIEWER", CreatedAt: mine.CreatedAt, ExpiresAt: expires}
	if err != nil || !cmp.Equal(got, want) {
		t.Errorf("APIKeyByHash = %+v, %v; want %+v", got, err, want)
	}
	if got, err := s.APIKeyByHash(ctx, hash(1)); err != nil || !got.System() || got.Description != "from the app" || got.UserRole != "" {
		t.Errorf("system key = %+v, %v", got, err)
	}
	for _, tc := range []struct {
		q    store.APIKeyQuery
		want []int64
	}{
		{store.APIKeyQuery{System: true}, []int64{sys.ID}},
		{store.APIKeyQuery{UserID: carol.ID}, []int64{mine.ID}},
		{store.APIKeyQuery{}, []int64{theirs.ID, mine.ID}},
		{store.APIKeyQuery{Limit: 1}, []int64{theirs.ID}},
		{store.APIKeyQuery{Cursor: mine.ID}, []int64{mine.ID}},
	} {
		keys, err := s.APIKeys(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, k := range keys {
			ids = append(ids, k.ID)
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("APIKeys(%+v) = %v, want %v", tc.q, ids, tc.want)
		}
	}

	// Last use only moves forward.
	if err := s.TouchAPIKeys(ctx, map[int64]int64{mine.ID: 200, sys.ID: 100}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAPIKeys(ctx, map[int64]int64{mine.ID: 150}); err != nil {
		t.Fatal(err)
	}
	if k, _ := s.APIKeyByID(ctx, mine.ID); k.LastUsedAt != 200 {
		t.Errorf("last used = %d, want 200", k.LastUsedAt)
	}

	bumps(t, s, "RevokeAPIKey", true, func() error { return s.RevokeAPIKey(ctx, mine.ID) })
	if _, err := s.APIKeyByHash(ctx, hash(2)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoked key by hash = %v, want ErrNotFound", err)
	}
	if k, err := s.APIKeyByID(ctx, mine.ID); err != nil || k.RevokedAt == 0 {
		t.Errorf("revoked key by id = %+v, %v; want it, revoked", k, err)
	}
	if keys, _ := s.APIKeys(ctx, store.APIKeyQuery{UserID: carol.ID}); len(keys) != 0 {
		t.Errorf("revoked key still listed: %+v", keys)
	}
	if err := s.RevokeAPIKey(ctx, mine.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("revoking twice = %v, want ErrNotFound", err)
	}
	if _, err := s.APIKeyByID(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("APIKeyByID(no such key) = %v", err)
	}
}

func testLoginSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	u, err := s.CreateUser(ctx, store.User{Username: "erin", Email: "erin@example.com", Role: "MEMBER", MustChangePassword: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, at := range []int64{1000, 2000, 3000} {
		if err := s.CreateLoginSession(ctx, store.LoginSession{Hash: hash(byte(i)), UserID: u.ID, CreatedAt: at, LastSeenAt: at}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.LoginSessionByHash(ctx, hash(1))
	if err != nil || got.UserID != u.ID || got.User.Username != "erin" || !got.User.MustChangePassword || got.CreatedAt != 2000 || got.LastSeenAt != 2000 {
		t.Errorf("LoginSessionByHash = %+v, %v", got, err)
	}
	bumps(t, s, "TouchLoginSession", false, func() error { return s.TouchLoginSession(ctx, hash(1), 5000) })
	if err := s.TouchLoginSession(ctx, hash(1), 4000); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.LoginSessionByHash(ctx, hash(1)); got.LastSeenAt != 5000 {
		t.Errorf("last seen = %d, want 5000", got.LastSeenAt)
	}
	// By idle time: session 0 was last seen before 1500.
	n, err := s.DeleteExpiredLoginSessions(ctx, 1500, 0)
	if err != nil || n != 1 {
		t.Errorf("DeleteExpiredLoginSessions(idle) = %d, %v; want 1", n, err)
	}
	// By age: session 2, seen at 3000, was created before 2500 too, as was
	// session 1, seen at 5000.
	n, err = s.DeleteExpiredLoginSessions(ctx, 4000, 2500)
	if err != nil || n != 2 {
		t.Errorf("DeleteExpiredLoginSessions(age) = %d, %v; want 2", n, err)
	}
	if _, err := s.LoginSessionByHash(ctx, hash(0)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("idle session = %v, want deleted", err)
	}
	if err := s.CreateLoginSession(ctx, store.LoginSession{Hash: hash(9), UserID: u.ID, CreatedAt: 1, LastSeenAt: 1}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.DeleteLoginSession(ctx, hash(9)); err != nil {
			t.Errorf("DeleteLoginSession = %v", err)
		}
	}
	if _, err := s.LoginSessionByHash(ctx, hash(9)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted session = %v", err)
	}
}

// AuthShared checks what servers sharing one database rely on: a key made
// through one handle works through the other, and a key revoked through
// one is refused by an auth.Service on the other within about a second,
// however recently that service verified (and cached) it. Backends that
// several servers share pass two handles on one database; the others pass
// one handle twice, which checks the same poll.
func AuthShared(t *testing.T, first, second store.AuthStore) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const secret = "a-shared-secret-of-at-least-32-characters-7"
	a, err := auth.New(first, auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	b, err := auth.New(second, auth.Config{Secret: secret})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	for _, svc := range []*auth.Service{a, b} {
		go func() { svc.Run(ctx); done <- struct{}{} }()
	}
	defer func() { cancel(); <-done; <-done }()

	k, token, err := a.CreateAPIKey(ctx, auth.NewKey{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.VerifyToken(ctx, token); err != nil {
		t.Fatalf("a key made through one handle, verified through the other: %v", err)
	}
	// Used again once b has polled: from its cache now.
	time.Sleep(1500 * time.Millisecond)
	if _, err := b.VerifyToken(ctx, token); err != nil {
		t.Fatal(err)
	}
	revoked := time.Now()
	if err := a.RevokeAPIKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.VerifyToken(ctx, token); !errors.Is(err, auth.ErrUnauthenticated) {
		t.Errorf("the revoking server still accepts the key: %v", err)
	}
	for {
		_, err := b.VerifyToken(ctx, token)
		if errors.Is(err, auth.ErrUnauthenticated) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(revoked) > 2*time.Second {
			t.Fatalf("the other server still accepts the key %v after its revocation", time.Since(revoked))
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("the other server refused the revoked key after %v", time.Since(revoked).Round(time.Millisecond))
}
