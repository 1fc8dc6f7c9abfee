package sso_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/sso"
	"github.com/loupe-dev/loupe/internal/sso/ssotest"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

const testSecret = "a-test-secret-of-at-least-32-characters-1"

// site is Loupe's part in a login: the single sign-on routes, a login
// page that shows the error a failed login came back with, and pages
// behind a login that say who is logged in.
type site struct {
	url  string
	auth *auth.Service
	st   *sqlite.Store
	idp  *ssotest.Provider
}

func newSite(t *testing.T, settings ...string) *site {
	t.Helper()
	st, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	a, err := auth.New(st, auth.Config{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	idp := ssotest.New(t)
	cfgs, err := sso.FromEnv(idp.Env("MOCK", settings...))
	if err != nil {
		t.Fatal(err)
	}
	svc := sso.New(a, cfgs, sso.Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /oauth2/{idp_name}/login", svc.Login)
	mux.HandleFunc("POST /oauth2/{idp_name}/login", svc.Login)
	mux.HandleFunc("GET /oauth2/{idp_name}/tokens", svc.Callback)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "login page; error="+r.URL.Query().Get("error"))
	})
	mux.Handle("GET /", a.Middleware(auth.HTTPOptions{})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := auth.FromContext(r.Context())
		io.WriteString(w, "hello "+p.Username+" ("+string(p.Role)+") at "+r.URL.Path)
	})))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return &site{url: srv.URL, auth: a, st: st, idp: idp}
}

// browser is an http.Client with its own cookies that follows redirects.
func browser(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 20 * time.Second}
}

// visit GETs url and returns where the redirects ended and what it said.
func visit(t *testing.T, c *http.Client, u string) (*url.URL, string) {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.Request.URL, string(b)
}

func (s *site) users(t *testing.T) []store.User {
	t.Helper()
	us, err := s.auth.Users(context.Background(), store.UserQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return us
}

// TestLoginCreatesUserOnce is a person's first and second login: the
// first makes them a user (a viewer, without a password), both log them
// in and bring them to the page they asked for.
func TestLoginCreatesUserOnce(t *testing.T) {
	s := newSite(t)
	for i := range 2 {
		b := browser(t)
		end, body := visit(t, b, s.url+"/oauth2/mock/login?returnUrl="+url.QueryEscape("/projects/default?range=1h"))
		if end.Path != "/projects/default" || end.RawQuery != "range=1h" || body != "hello Alice (VIEWER) at /projects/default" {
			t.Fatalf("login %d ended at %s with %q", i+1, end, body)
		}
		// The session is a real one: it goes on working.
		if _, body := visit(t, b, s.url+"/again"); body != "hello Alice (VIEWER) at /again" {
			t.Errorf("the next page says %q", body)
		}
		cookies := b.Jar.Cookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(s.url, "http://"), Path: "/"})
		for _, c := range cookies {
			if strings.Contains(c.Name, "oauth2") {
				t.Errorf("the flow's cookie %s outlived the login", c.Name)
			}
		}
	}
	us := s.users(t)
	if len(us) != 1 || us[0].Email != "alice@example.com" || us[0].Username != "Alice" || us[0].Role != "VIEWER" ||
		us[0].PasswordHash != "" || us[0].MustChangePassword {
		t.Errorf("users = %+v, want one viewer Alice without a password", us)
	}
	if got := s.idp.Exchanged(); got != 2 {
		t.Errorf("the provider exchanged %d codes, want 2", got)
	}
}

// TestLoginRefused walks the ways a login must fail: each ends on the
// login page with Phoenix's error code, and no one is logged in.
func TestLoginRefused(t *testing.T) {
	tests := []struct {
		name     string
		settings []string
		setup    func(t *testing.T, s *site)
		start    string // the path that starts the login; /oauth2/mock/login when empty
		want     string
	}{
		{name: "unknown provider", start: "/oauth2/other/login", want: "unknown_idp"},
		{name: "nonce replaced", want: "auth_failed", setup: func(t *testing.T, s *site) {
			s.idp.Tamper(func(c map[string]any) { c["nonce"] = "another" })
		}},
		{name: "token for another client", want: "auth_failed", setup: func(t *testing.T, s *site) {
			s.idp.Tamper(func(c map[string]any) { c["aud"] = "someone-else" })
		}},
		{name: "token from another issuer", want: "auth_failed", setup: func(t *testing.T, s *site) {
			s.idp.Tamper(func(c map[string]any) { c["iss"] = "https://evil.example" })
		}},
		{name: "expired token", want: "auth_failed", setup: func(t *testing.T, s *site) {
			s.idp.Tamper(func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() })
		}},
		{name: "forged signature", want: "auth_failed", setup: func(t *testing.T, s *site) { s.idp.SignWithUnpublishedKey(t) }},
		{name: "unverified email", want: "email_not_verified", setup: func(t *testing.T, s *site) {
			s.idp.SetPerson(map[string]any{"sub": "x", "email": "alice@example.com", "email_verified": false})
		}},
		{name: "no email", want: "missing_email_scope", setup: func(t *testing.T, s *site) {
			s.idp.SetPerson(map[string]any{"sub": "x", "name": "Nobody"})
		}},
		{name: "sign-up not allowed", settings: []string{"ALLOW_SIGN_UP=false"}, want: "sign_in_not_allowed"},
		{name: "a user with a password", want: "email_in_use", setup: func(t *testing.T, s *site) {
			if _, err := s.auth.CreateUser(context.Background(), auth.NewUser{Username: "alice", Email: "Alice@example.com",
				Role: auth.RoleAdmin, Password: "a-good-password"}); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "not in an allowed group", settings: []string{"GROUPS_ATTRIBUTE_PATH=groups", "ALLOWED_GROUPS=eng,ops"},
			want: "auth_failed", setup: func(t *testing.T, s *site) {
				s.idp.SetPerson(map[string]any{"sub": "x", "email": "mallory@example.com", "groups": []any{"sales"}})
			}},
		{name: "unmapped role, strict", settings: []string{"ROLE_ATTRIBUTE_PATH=role", "ROLE_MAPPING=Owner:ADMIN", "ROLE_ATTRIBUTE_STRICT=true"},
			want: "auth_failed", setup: func(t *testing.T, s *site) {
				s.idp.SetPerson(map[string]any{"sub": "x", "email": "bob@example.com", "role": "Intern"})
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, tc.settings...)
			if tc.setup != nil {
				tc.setup(t, s)
			}
			before := len(s.users(t))
			start := tc.start
			if start == "" {
				start = "/oauth2/mock/login"
			}
			b := browser(t)
			end, body := visit(t, b, s.url+start)
			if end.Path != "/login" || end.Query().Get("error") != tc.want {
				t.Errorf("ended at %s (%q), want /login?error=%s", end, body, tc.want)
			}
			if sso.ErrorMessage(tc.want) == "" {
				t.Errorf("the login page has no words for %q", tc.want)
			}
			if _, body := visit(t, b, s.url+"/"); strings.HasPrefix(body, "hello") {
				t.Errorf("logged in after all: %q", body)
			}
			if after := len(s.users(t)); after != before {
				t.Errorf("%d users before, %d after", before, after)
			}
		})
	}
}

// TestCallbackChecksTheBrowser is the provider's answer arriving where it
// should not: in a browser that did not start the login (state), with
// the state of another login, or with a code stolen from another browser,
// which PKCE makes useless.
func TestCallbackChecksTheBrowser(t *testing.T) {
	s := newSite(t)
	// codeFor starts a login in b and returns the callback URL the provider
	// sends it to, without following it.
	codeFor := func(b *http.Client) *url.URL {
		stop := *b
		stop.CheckRedirect = func(r *http.Request, via []*http.Request) error {
			if strings.HasSuffix(r.URL.Path, "/tokens") {
				return http.ErrUseLastResponse
			}
			return nil
		}
		resp, err := stop.Get(s.url + "/oauth2/mock/login")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		u, err := resp.Location()
		if err != nil || u.Query().Get("code") == "" {
			t.Fatalf("the provider answered %s (%v), want a redirect with a code", resp.Status, err)
		}
		return u
	}
	victim, attacker := browser(t), browser(t)

	// The victim's callback, opened by the attacker's browser, which has
	// no flow cookie.
	cb := codeFor(victim)
	if end, _ := visit(t, attacker, cb.String()); end.Query().Get("error") != "invalid_state" {
		t.Errorf("another browser's callback ended at %s, want invalid_state", end)
	}
	// The attacker's own login, answered with the victim's code: the state
	// is the attacker's, but the code's PKCE challenge is the victim's.
	mine := codeFor(attacker)
	q := mine.Query()
	q.Set("code", cb.Query().Get("code"))
	mine.RawQuery = q.Encode()
	if end, _ := visit(t, attacker, mine.String()); end.Query().Get("error") != "oauth_error" {
		t.Errorf("a stolen code ended at %s, want oauth_error (the provider refuses the verifier)", end)
	}
	// A state that is not the browser's.
	cb = codeFor(victim)
	q = cb.Query()
	q.Set("state", "forged")
	cb.RawQuery = q.Encode()
	if end, _ := visit(t, victim, cb.String()); end.Query().Get("error") != "invalid_state" {
		t.Errorf("a forged state ended at %s, want invalid_state", end)
	}
	// The provider's error, whatever it says, shows only Loupe's words.
	if end, _ := visit(t, victim, s.url+"/oauth2/mock/tokens?error=access_denied&error_description=%3Cscript%3E&state=x"); end.Query().Get("error") != "auth_failed" {
		t.Errorf("the provider's refusal ended at %s, want auth_failed", end)
	}
	if _, body := visit(t, victim, s.url+"/"); strings.HasPrefix(body, "hello") {
		t.Errorf("logged in after all: %q", body)
	}
	if len(s.users(t)) != 0 {
		t.Errorf("users were created")
	}
}

// TestLoginLeavesOffsiteTargets is a login link that would send the
// person to another site afterwards: they land on Loupe's home instead.
func TestLoginLeavesOffsiteTargets(t *testing.T) {
	s := newSite(t)
	for _, next := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example"} {
		end, _ := visit(t, browser(t), s.url+"/oauth2/mock/login?returnUrl="+url.QueryEscape(next))
		if end.Host != strings.TrimPrefix(s.url, "http://") || end.Path != "/" {
			t.Errorf("returnUrl %q ended at %s, want this server's /", next, end)
		}
	}
}

// TestRoles gives new users the role the settings say, and keeps an
// existing user's role in step with the provider's unless told not to.
func TestRoles(t *testing.T) {
	tests := []struct {
		name     string
		settings []string
		claims   map[string]any
		want     string // the new user's role
		existing string // an existing user's role after a login, from VIEWER
	}{
		{"viewer by default", nil, nil, "VIEWER", "VIEWER"},
		{"a constant role", []string{"ROLE_ATTRIBUTE_PATH='MEMBER'"}, nil, "MEMBER", "MEMBER"},
		{"a constant role, not resynced", []string{"ROLE_ATTRIBUTE_PATH='MEMBER'", "ROLE_RESYNC=false"}, nil, "MEMBER", "VIEWER"},
		{"mapped", []string{"ROLE_ATTRIBUTE_PATH=org.role", "ROLE_MAPPING=Owner:ADMIN,Dev:MEMBER"},
			map[string]any{"org": map[string]any{"role": "Owner"}}, "ADMIN", "ADMIN"},
		{"a role's own name", []string{`ROLE_ATTRIBUTE_PATH="custom:role"`}, map[string]any{"custom:role": "member"}, "MEMBER", "MEMBER"},
		{"unmapped, not strict", []string{"ROLE_ATTRIBUTE_PATH=role", "ROLE_MAPPING=Owner:ADMIN"},
			map[string]any{"role": "Intern"}, "VIEWER", "VIEWER"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSite(t, tc.settings...)
			person := map[string]any{"sub": "carol", "email": "carol@example.com", "name": "Carol"}
			for k, v := range tc.claims {
				person[k] = v
			}
			s.idp.SetPerson(person)
			if _, body := visit(t, browser(t), s.url+"/oauth2/mock/login"); body != "hello Carol ("+tc.want+") at /" {
				t.Errorf("a new user's login says %q, want role %s", body, tc.want)
			}
			us := s.users(t)
			if len(us) != 1 {
				t.Fatalf("%d users", len(us))
			}
			if err := s.auth.SetRole(context.Background(), us[0].ID, auth.RoleViewer); err != nil {
				t.Fatal(err)
			}
			if _, body := visit(t, browser(t), s.url+"/oauth2/mock/login"); body != "hello Carol ("+tc.existing+") at /" {
				t.Errorf("an existing viewer's login says %q, want role %s", body, tc.existing)
			}
		})
	}
}

// TestUserInfo reads what the ID token leaves out from the userinfo
// endpoint, as providers that keep their tokens small require.
func TestUserInfo(t *testing.T) {
	s := newSite(t, "GROUPS_ATTRIBUTE_PATH=groups", "ALLOWED_GROUPS=eng")
	s.idp.SetPerson(map[string]any{"sub": "dave", "email": "dave@example.com", "groups": []any{"eng"}})
	s.idp.OnlyFromUserInfo("email", "groups")
	if _, body := visit(t, browser(t), s.url+"/oauth2/mock/login"); body != "hello dave (VIEWER) at /" {
		t.Errorf("login says %q", body)
	}
}

// TestInvitedUser is a user an admin created without a password, who
// logs in through the provider although it allows no sign-up, and a
// newcomer whose name another user has.
func TestInvitedUser(t *testing.T) {
	s := newSite(t, "ALLOW_SIGN_UP=false")
	ctx := context.Background()
	if _, err := s.auth.CreateUser(ctx, auth.NewUser{Username: "erin", Email: "erin@example.com", Role: auth.RoleMember}); err != nil {
		t.Fatal(err)
	}
	s.idp.SetPerson(map[string]any{"sub": "erin", "email": "ERIN@example.com", "name": "Erin E."})
	if _, body := visit(t, browser(t), s.url+"/oauth2/mock/login"); body != "hello erin (MEMBER) at /" {
		t.Errorf("the invited user's login says %q", body)
	}

	s = newSite(t)
	if _, err := s.auth.CreateUser(ctx, auth.NewUser{Username: "Alice", Email: "other-alice@example.com", Role: auth.RoleMember, Password: "a-good-password"}); err != nil {
		t.Fatal(err)
	}
	_, body := visit(t, browser(t), s.url+"/oauth2/mock/login")
	if !strings.HasPrefix(body, "hello Alice-") || !strings.HasSuffix(body, " (VIEWER) at /") {
		t.Errorf("a second Alice's login says %q, want a suffixed name", body)
	}
}

func TestFromEnv(t *testing.T) {
	base := []string{"PHOENIX_OAUTH2_MY_IDP_CLIENT_ID=id", "PHOENIX_OAUTH2_MY_IDP_CLIENT_SECRET=s",
		"PHOENIX_OAUTH2_MY_IDP_OIDC_CONFIG_URL=https://idp.example/.well-known/openid-configuration"}
	cfgs, err := sso.FromEnv(append(base, "PATH=/bin", "PHOENIX_OAUTH2_MY_IDP_SCOPES=groups openid", "PHOENIX_OAUTH2_MY_IDP_AUTO_LOGIN=TRUE"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 1 {
		t.Fatalf("%d providers, want 1", len(cfgs))
	}
	c := cfgs[0]
	if c.Name != "my_idp" || c.DisplayName != "My Idp" || !c.AllowSignUp || !c.AutoLogin || c.AuthMethod != "client_secret_basic" ||
		strings.Join(c.Scopes, " ") != "openid email profile groups" {
		t.Errorf("config = %+v", c)
	}
	for _, tc := range []struct {
		env  []string
		want string
	}{
		{[]string{"PHOENIX_OAUTH2_X_CLIENT_ID=id"}, "PHOENIX_OAUTH2_X_OIDC_CONFIG_URL must be set"},
		{[]string{"PHOENIX_OAUTH2_X_DISPLAY_NAME=X"}, "PHOENIX_OAUTH2_X_CLIENT_ID must be set"},
		{append(base, "PHOENIX_OAUTH2_MY_IDP_OIDC_CONFIG_URL=http://idp.example/x"), "must use https"},
		{[]string{"PHOENIX_OAUTH2_X_CLIENT_ID=id", "PHOENIX_OAUTH2_X_OIDC_CONFIG_URL=http://127.0.0.1:9/x"}, "PHOENIX_OAUTH2_X_CLIENT_SECRET must be set"},
		{append(base, "PHOENIX_OAUTH2_MY_IDP_ALLOW_SIGN_UP=yes"), "ALLOW_SIGN_UP must be true or false"},
		{append(base, "PHOENIX_OAUTH2_MY_IDP_TOKEN_ENDPOINT_AUTH_METHOD=client_assertion_jwt"), "not supported"},
		{append(base, "PHOENIX_OAUTH2_MY_IDP_ROLE_MAPPING=Owner:SYSTEM", "PHOENIX_OAUTH2_MY_IDP_ROLE_ATTRIBUTE_PATH=r"), "use ADMIN, MEMBER or VIEWER"},
		{append(base, "PHOENIX_OAUTH2_MY_IDP_ROLE_MAPPING=Owner:ADMIN"), "ROLE_MAPPING needs ROLE_ATTRIBUTE_PATH"},
		{append(base, "PHOENIX_OAUTH2_MY_IDP_ALLOWED_GROUPS=a"), "ALLOWED_GROUPS needs GROUPS_ATTRIBUTE_PATH"},
		{append(base, "PHOENIX_OAUTH2_MY_IDP_ROLE_ATTRIBUTE_PATH=contains(groups[*], 'admin') && 'ADMIN'"), "not other JMESPath expressions"},
		{append(base, "PHOENIX_OAUTH2_MY_IDP_EMAIL_ATTRIBUTE_PATH=a..b"), "not other JMESPath expressions"},
	} {
		if _, err := sso.FromEnv(tc.env); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("FromEnv(%q) = %v, want an error saying %q", tc.env, err, tc.want)
		}
	}
	// A public client needs no secret.
	if _, err := sso.FromEnv([]string{"PHOENIX_OAUTH2_P_CLIENT_ID=id", "PHOENIX_OAUTH2_P_OIDC_CONFIG_URL=https://p.example/c",
		"PHOENIX_OAUTH2_P_TOKEN_ENDPOINT_AUTH_METHOD=none"}); err != nil {
		t.Errorf("a public client: %v", err)
	}
}
