package web

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/sso"
	"github.com/loupe-dev/loupe/internal/sso/ssotest"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

// authSite is the UI with authentication on, served as the server serves
// it: behind the authentication middleware.
type authSite struct {
	t    *testing.T
	url  string
	auth *auth.Service
	st   *sqlite.Store
}

func newAuthSite(t *testing.T, idps []sso.Config) *authSite {
	t.Helper()
	st, log := openTestStore(t)
	a, err := auth.New(st, auth.Config{Secret: "a-web-test-secret-of-32-characters-or-more-5",
		Limits: auth.LoginLimits{PerLogin: 3, Window: time.Minute, PerAddress: 100, AddressInterval: time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	var single *sso.Service
	if idps != nil {
		single = sso.New(a, idps, sso.Options{Log: log})
	}
	h := New(Config{Store: st, Log: log, Auth: a, SSO: single, PollInterval: 20 * time.Millisecond})
	srv := httptest.NewServer(h.Handler(a.Middleware(auth.HTTPOptions{Pages: true, Need: Access, Open: Open})))
	t.Cleanup(srv.Close)
	return &authSite{t: t, url: srv.URL, auth: a, st: st}
}

// person is a browser: its own cookies, and redirects followed.
type person struct {
	t    *testing.T
	site *authSite
	c    *http.Client
}

func (s *authSite) browser() *person {
	jar, _ := cookiejar.New(nil)
	return &person{t: s.t, site: s, c: &http.Client{Jar: jar, Timeout: 20 * time.Second}}
}

// page is an answer: where the redirects ended, its status and its body.
type page struct {
	at     *url.URL
	status int
	body   string
}

func (p *person) answer(resp *http.Response, err error) page {
	p.t.Helper()
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.Request.URL, resp.StatusCode, string(b)}
}

func (p *person) get(path string) page {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.site.url+path, nil)
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	return p.answer(p.c.Do(req))
}

func (p *person) post(path string, kv ...string) page {
	p.t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		form.Add(kv[i], kv[i+1])
	}
	return p.answer(p.c.PostForm(p.site.url+path, form))
}

func (p *person) logIn(login, password string) page {
	p.t.Helper()
	return p.post("/login", "login", login, "password", password, "next", "/")
}

func (pg page) has(t *testing.T, what string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(pg.body, w) {
			t.Errorf("%s (%d at %s): missing %q", what, pg.status, pg.at.Path, w)
		}
	}
}

func (pg page) lacks(t *testing.T, what string, unwanted ...string) {
	t.Helper()
	for _, w := range unwanted {
		if strings.Contains(pg.body, w) {
			t.Errorf("%s (%d at %s): shows %q", what, pg.status, pg.at.Path, w)
		}
	}
}

// user creates a user with a password of their own, and logs them in.
func (s *authSite) user(name string, role auth.Role) *person {
	s.t.Helper()
	ctx := context.Background()
	_, err := s.auth.CreateUser(ctx, auth.NewUser{Username: name, Email: name + "@example.com", Role: role, Password: "initial-password"})
	if err != nil {
		s.t.Fatal(err)
	}
	p := s.browser()
	p.logIn(name, "initial-password")
	if pg := p.post("/password", "current", "initial-password", "new", name+"-own-password", "confirm", name+"-own-password"); pg.status != http.StatusOK {
		s.t.Fatalf("%s chooses a password: %d at %s", name, pg.status, pg.at)
	}
	return p
}

// TestFirstLogin is the first admin's first visit: the login page, a
// wrong password, the initial one, the password page every other page
// leads to until a new password is chosen, and logging out.
func TestFirstLogin(t *testing.T) {
	s := newAuthSite(t, nil)
	b := s.browser()
	pg := b.get("/projects/default?range=24h")
	if pg.at.Path != "/login" || pg.at.Query().Get("next") != "/projects/default?range=24h" {
		t.Fatalf("a page without a session ended at %s", pg.at)
	}
	pg.has(t, "login page", "Log in to Loupe", `name="login"`, `name="password"`, `value="/projects/default?range=24h"`)
	pg.lacks(t, "login page", "Sign in with", "Project</span>", "/logout")

	pg = b.post("/login", "login", "admin", "password", "wrong", "next", "/projects/default?range=24h")
	if pg.status != http.StatusUnauthorized {
		t.Errorf("a wrong password = %d", pg.status)
	}
	pg.has(t, "a wrong password", "Invalid email and/or password", `value="admin"`)

	pg = b.post("/login", "login", "ADMIN@localhost", "password", "admin", "next", "/projects/default?range=24h")
	if pg.at.Path != "/password" || pg.at.Query().Get("next") != "/projects/default?range=24h" {
		t.Fatalf("the initial password ended at %s", pg.at)
	}
	pg.has(t, "password page", "Choose a new password", `name="current"`, `name="new"`, `name="confirm"`, "admin", "/logout")
	pg.lacks(t, "password page", `href="/settings"`, "Project</span>")

	for _, path := range []string{"/", "/settings", "/storage"} {
		if pg := b.get(path); pg.at.Path != "/password" {
			t.Errorf("%s before a new password ended at %s", path, pg.at)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, s.url+"/filter/check?filter=x", nil)
	if resp, err := b.c.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a fragment before a new password = %v %v, want 403", resp.StatusCode, err)
	}

	pg = b.post("/password", "current", "admin", "new", "a-new-password", "confirm", "another", "next", "/")
	if pg.status != http.StatusUnprocessableEntity {
		t.Errorf("differing passwords = %d", pg.status)
	}
	pg.has(t, "differing passwords", "The new password and its confirmation differ.")
	pg = b.post("/password", "current", "admin", "new", "short", "confirm", "short", "next", "/")
	pg.has(t, "a short password", "Password must be at least 8 characters long.")
	pg = b.post("/password", "current", "admin", "new", "a-new-password", "confirm", "a-new-password", "next", "/projects/default?range=24h")
	if pg.at.Path != "/projects/default" {
		t.Errorf("the new password ended at %s (%d)", pg.at, pg.status)
	}
	pg = b.get("/settings")
	pg.has(t, "settings", "Your account", "admin@localhost", "Users", "System API keys", `class="avatar"`, "Admin")

	pg = b.post("/logout")
	if pg.at.Path != "/login" {
		t.Errorf("logging out ended at %s", pg.at)
	}
	pg.has(t, "after logging out", "You have logged out.")
	if pg := b.get("/settings"); pg.at.Path != "/login" {
		t.Errorf("after logging out, /settings ended at %s", pg.at)
	}
	if pg := b.logIn("admin", "admin"); pg.at.Path != "/login" {
		t.Errorf("the old password still logs in: %s", pg.at)
	}
	if pg := b.logIn("admin", "a-new-password"); pg.at.Path != "/" || pg.status != http.StatusOK {
		t.Errorf("the new password ended at %s (%d)", pg.at, pg.status)
	}
}

// TestLoginRateLimit: after a few wrong passwords the page says to wait.
func TestLoginRateLimit(t *testing.T) {
	s := newAuthSite(t, nil)
	b := s.browser()
	var pg page
	for range 4 {
		pg = b.logIn("admin", "wrong")
	}
	if pg.status != http.StatusTooManyRequests {
		t.Errorf("the fourth wrong password = %d, want 429", pg.status)
	}
	pg.has(t, "rate limited", "Too many failed login attempts: try again in")
}

var tokenPattern = regexp.MustCompile(`lk_[A-Za-z0-9_-]{43}`)

// TestSettingsAdmin is an admin at work: users created, their roles
// changed, one deleted; personal and system keys created, each shown once,
// and revoked.
func TestSettingsAdmin(t *testing.T) {
	s := newAuthSite(t, nil)
	admin := s.user("root", auth.RoleAdmin)
	ctx := context.Background()

	pg := admin.post("/settings/users", "username", "bob", "email", "bob@example.com", "role", "MEMBER", "password", "bobs-initial")
	if pg.at.Path != "/settings" || pg.status != http.StatusOK {
		t.Fatalf("create user ended at %s (%d)", pg.at, pg.status)
	}
	pg.has(t, "after creating bob", "User created", `data-id="bob"`, "bob@example.com", "initial</span>")
	for _, tc := range []struct {
		kv   []string
		want string
	}{
		{[]string{"username", "bob", "email", "bob2@example.com", "role", "VIEWER", "password", "12345678"}, `The username &#34;bob&#34; is taken.`},
		{[]string{"username", "bob2", "email", "BOB@example.com", "role", "VIEWER", "password", "12345678"}, "exists already"},
		{[]string{"username", "carl", "email", "not-an-email", "role", "VIEWER", "password", "12345678"}, "is not an email address"},
		{[]string{"username", "carl", "email", "carl@example.com", "role", "SYSTEM", "password", "12345678"}, "Choose a role"},
		{[]string{"username", "carl", "email", "carl@example.com", "role", "VIEWER", "password", ""}, "Give them an initial password"},
	} {
		pg := admin.post("/settings/users", tc.kv...)
		if pg.status != http.StatusUnprocessableEntity {
			t.Errorf("create user %v = %d, want 422", tc.kv, pg.status)
		}
		pg.has(t, "refused user", tc.want)
	}
	bob, err := s.auth.UserByEmail(ctx, "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	id := strconvI(bob.ID)
	if pg := admin.post("/settings/users/"+id+"/role", "role", "VIEWER"); pg.at.Path != "/settings" {
		t.Errorf("set role ended at %s", pg.at)
	}
	if u, _ := s.auth.User(ctx, bob.ID); u.Role != "VIEWER" {
		t.Errorf("bob's role = %s, want VIEWER", u.Role)
	}
	root, _ := s.auth.UserByEmail(ctx, "root@example.com")
	pg = admin.post("/settings/users/" + strconvI(root.ID) + "/delete")
	pg.has(t, "deleting oneself", "You cannot delete yourself")
	defaultAdmin, _ := s.auth.UserByEmail(ctx, "admin@localhost")
	pg = admin.post("/settings/users/"+strconvI(defaultAdmin.ID)+"/role", "role", "VIEWER")
	pg.has(t, "demoting the first admin", "The default admin stays an admin.")
	if pg := admin.post("/settings/users/" + id + "/delete"); pg.at.Path != "/settings" {
		t.Errorf("delete ended at %s", pg.at)
	}
	if _, err := s.auth.User(ctx, bob.ID); err == nil {
		t.Errorf("bob is still there")
	}
	if pg := admin.post("/settings/users/999/delete"); pg.status != http.StatusNotFound {
		t.Errorf("deleting no one = %d, want 404", pg.status)
	}

	for _, kind := range []struct{ path, name string }{{"/settings/keys", "laptop"}, {"/settings/system-keys", "ingest"}} {
		pg := admin.post(kind.path, "name", kind.name, "expires", time.Now().AddDate(0, 1, 0).Format("2006-01-02"))
		if pg.status != http.StatusCreated {
			t.Fatalf("create key %s = %d", kind.name, pg.status)
		}
		token := tokenPattern.FindString(pg.body)
		pg.has(t, "new key", "shown only this once", `data-copy-from="#new-key-token"`, kind.name)
		p, err := s.auth.VerifyToken(ctx, token)
		if err != nil {
			t.Fatalf("the key shown does not work: %q %v", token, err)
		}
		again := admin.get("/settings")
		if strings.Contains(again.body, token) {
			t.Errorf("the key %s is shown twice", kind.name)
		}
		again.has(t, "settings with a key", `data-id="`+kind.name+`"`, "Revoke")
		if kind.path == "/settings/system-keys" {
			if pg := admin.post("/settings/keys/" + strconvI(p.KeyID) + "/revoke"); pg.status != http.StatusNotFound {
				t.Errorf("a system key revoked as a personal one: %d", pg.status)
			}
		}
		revoke := kind.path + "/" + strconvI(p.KeyID) + "/revoke"
		if pg := admin.post(revoke); pg.at.Path != "/settings" || !strings.Contains(pg.body, "revoked") {
			t.Errorf("revoke %s ended at %s", kind.name, pg.at)
		}
		if _, err := s.auth.VerifyToken(ctx, token); err == nil {
			t.Errorf("the revoked key %s still works", kind.name)
		}
	}
	pg = admin.post("/settings/keys", "name", "", "expires", "")
	pg.has(t, "a key without a name", "Name cannot be empty.")
	pg = admin.post("/settings/keys", "name", "x", "expires", "2001-01-01")
	pg.has(t, "a key expired already", "Expiration time must be in the future.")
}

func strconvI(n int64) string { return strconv.FormatInt(n, 10) }

// TestViewer: a viewer reads every page but sees no control that writes,
// keeps their own keys, and the routes that manage refuse them.
func TestViewer(t *testing.T) {
	s := newAuthSite(t, nil)
	e := &testEnv{t: t, store: s.st}
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	viewer := s.user("vera", auth.RoleViewer)

	pg := viewer.get("/projects/support-bot/traces/" + agentTrace)
	if pg.status != http.StatusOK {
		t.Fatalf("trace page = %d", pg.status)
	}
	pg.has(t, "trace page", "vera", "Viewer", "Annotations", "Your role reads annotations")
	pg.lacks(t, "trace page", "data-annotate>", "Save annotation", "Add note")
	pg = viewer.get("/projects/support-bot/spans/" + llmSpan + "?tab=annotations")
	pg.lacks(t, "span detail", "data-annotate>", "Thumbs up")
	viewer.get("/prices").lacks(t, "prices", `action="/prices"`, "Recompute all costs")
	viewer.get("/storage").lacks(t, "storage", `action="/storage/retention"`)

	pg = viewer.get("/settings")
	pg.has(t, "viewer's settings", "Your API keys", "Create personal key", "Change password")
	pg.lacks(t, "viewer's settings", "System API keys", `action="/settings/users"`)
	if pg := viewer.post("/settings/keys", "name", "notebook"); pg.status != http.StatusCreated || tokenPattern.FindString(pg.body) == "" {
		t.Errorf("a viewer's own key = %d", pg.status)
	}
	for _, path := range []string{"/settings/users", "/settings/system-keys", "/projects/support-bot/spans/" + llmSpan + "/annotations"} {
		if pg := viewer.post(path, "name", "x", "note", "x"); pg.status != http.StatusForbidden {
			t.Errorf("POST %s as a viewer = %d, want 403", path, pg.status)
		}
	}

	member := s.user("max", auth.RoleMember)
	pg = member.get("/projects/support-bot/traces/" + agentTrace)
	pg.has(t, "a member's trace page", "data-annotate>", "Save annotation")
	member.get("/settings").lacks(t, "a member's settings", "System API keys", "Other users")
	if pg := member.post("/settings/users", "username", "x"); pg.status != http.StatusForbidden {
		t.Errorf("a member creating a user = %d, want 403", pg.status)
	}
	// A member revokes no one else's key.
	_, _, err := s.auth.CreateAPIKey(context.Background(), auth.NewKey{Name: "theirs", UserID: 1})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := s.auth.APIKeys(context.Background(), store.APIKeyQuery{UserID: 1})
	if pg := member.post("/settings/keys/" + strconvI(keys[0].ID) + "/revoke"); pg.status != http.StatusNotFound {
		t.Errorf("a member revoking another's key = %d, want 404", pg.status)
	}
}

// TestLoginPageSSO: the login page offers each identity provider, says
// why a login through one failed, and goes straight to one set to
// AUTO_LOGIN.
func TestLoginPageSSO(t *testing.T) {
	idp := ssotest.New(t)
	cfgs, err := sso.FromEnv(idp.Env("ACME", "DISPLAY_NAME=Acme SSO"))
	if err != nil {
		t.Fatal(err)
	}
	s := newAuthSite(t, cfgs)
	b := s.browser()
	pg := b.get("/login?next=/storage")
	pg.has(t, "login page", "Sign in with Acme SSO", `href="/oauth2/acme/login?returnUrl=%2Fstorage"`)
	b.get("/login?error=invalid_state").has(t, "a failed login", "Invalid authentication state. Please try again.")
	b.get("/login?error=%3Cb%3Eforged").has(t, "an unknown code", "Login failed. Please try again.")

	// The whole flow, from the button: a new user, a viewer.
	pg = b.get("/oauth2/acme/login?returnUrl=%2Fstorage")
	if pg.at.Path != "/storage" || pg.status != http.StatusOK {
		t.Fatalf("single sign-on ended at %s (%d)", pg.at, pg.status)
	}
	pg.has(t, "after single sign-on", "Alice", "Viewer")

	cfgs[0].AutoLogin = true
	s = newAuthSite(t, cfgs)
	b = s.browser()
	if pg := b.get("/settings"); pg.at.Path != "/settings" {
		t.Errorf("auto-login ended at %s", pg.at)
	}
	if pg := s.browser().get("/login?error=auth_failed"); pg.at.Path != "/login" {
		t.Errorf("a failed auto-login loops: %s", pg.at)
	}
}
