// Package sso_test logs in to the real loupe binary through an OpenID
// Connect provider that runs in the test (internal/sso/ssotest), with an
// http.Client and its cookie jar: the redirects, the cookies and the
// checks are the server's own.
package sso_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/sso/ssotest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// browser is an http.Client with cookies that records where it was sent.
type browser struct {
	*http.Client
	hops []*url.URL
}

func newBrowser(t *testing.T) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{}
	b.Client = &http.Client{Jar: jar, Timeout: 20 * time.Second, Transport: asBrowser{}, CheckRedirect: func(r *http.Request, via []*http.Request) error {
		b.hops = append(b.hops, r.URL)
		return nil
	}}
	return b
}

// asBrowser asks for pages as a browser does, which Loupe answers
// without a session with its login page rather than a 401.
type asBrowser struct{}

func (asBrowser) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
	return http.DefaultTransport.RoundTrip(r)
}

// get follows u's redirects and returns where they ended and the body.
func (b *browser) get(t *testing.T, u string) (*url.URL, string) {
	t.Helper()
	b.hops = nil
	resp, err := b.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s ended at %s with %s", u, resp.Request.URL, resp.Status)
	}
	return resp.Request.URL, string(body)
}

// TestSingleSignOn: a person's first login through the provider makes
// them a user with the configured role and brings them to the page they
// asked for, logged in to the UI and REST alike, after the redirects and
// parameters the protocol wants.
func TestSingleSignOn(t *testing.T) {
	idp := ssotest.New(t)
	srv := e2etest.StartEnv(t, e2etest.Build(t), append(e2etest.AuthEnv(),
		idp.Env("MOCK", "DISPLAY_NAME=Mock IdP", "ROLE_ATTRIBUTE_PATH='MEMBER'", "ROLE_RESYNC=false")...))
	b := newBrowser(t)

	at, body := b.get(t, srv.HTTPURL+"/settings")
	if at.Path != "/login" || !strings.Contains(body, "Sign in with Mock IdP") || !strings.Contains(body, `href="/oauth2/mock/login?returnUrl=%2Fsettings"`) {
		t.Fatalf("the login page at %s offers no provider:\n%s", at, body)
	}

	at, body = b.get(t, srv.HTTPURL+"/oauth2/mock/login?returnUrl=%2Fsettings")
	if at.String() != srv.HTTPURL+"/settings" || !strings.Contains(body, "alice@example.com") {
		t.Fatalf("single sign-on ended at %s:\n%s", at, body)
	}
	if len(b.hops) != 3 || b.hops[0].Path != "/authorize" || b.hops[1].Path != "/oauth2/mock/tokens" || b.hops[2].Path != "/settings" {
		t.Fatalf("redirects = %v, want the provider, the callback, the page", b.hops)
	}
	ask := b.hops[0].Query()
	for k, want := range map[string]string{"client_id": idp.ClientID, "response_type": "code", "code_challenge_method": "S256",
		"redirect_uri": srv.HTTPURL + "/oauth2/mock/tokens", "scope": "openid email profile"} {
		if got := ask.Get(k); got != want {
			t.Errorf("the authorization request's %s = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(ask.Get(k)) < 32 {
			t.Errorf("the authorization request's %s = %q, want a long random value", k, ask.Get(k))
		}
	}
	// The callback, replayed by another browser, is refused: the state is
	// not that browser's (and the code is spent).
	if at, _ := newBrowser(t).get(t, b.hops[1].String()); at.Path != "/login" || at.Query().Get("error") != "invalid_state" {
		t.Errorf("a replayed callback ended at %s, want /login?error=invalid_state", at)
	}

	// The session works for REST as it does for pages.
	resp, err := b.Get(srv.HTTPURL + "/v1/user")
	if err != nil {
		t.Fatal(err)
	}
	var me struct {
		Data struct{ Username, Email, Role string }
	}
	json.NewDecoder(resp.Body).Decode(&me)
	resp.Body.Close()
	if me.Data.Username != "Alice" || me.Data.Email != "alice@example.com" || me.Data.Role != "MEMBER" {
		t.Errorf("GET /v1/user = %+v, want Alice, a member", me.Data)
	}
	if n := idp.Exchanged(); n != 1 {
		t.Errorf("the provider exchanged %d codes, want 1", n)
	}

	// Logging out ends the session; logging in again finds the same user.
	resp, err = b.PostForm(srv.HTTPURL+"/logout", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if at, _ := b.get(t, srv.HTTPURL+"/settings"); at.Path != "/login" {
		t.Errorf("after logging out, /settings ended at %s", at)
	}
	b.get(t, srv.HTTPURL+"/oauth2/mock/login")
	var users struct{ Data []struct{ Username string } }
	code, out := srv.Do(t, "GET", "/v1/users", e2etest.AdminSecret, nil)
	if err := json.Unmarshal(out, &users); code != http.StatusOK || err != nil || len(users.Data) != 2 {
		t.Errorf("users after two logins = %d %s, want admin and Alice", code, out)
	}
}

// TestInvitedOnly: with sign-up off and AUTO_LOGIN on, the login page goes
// straight to the provider; a stranger comes back refused (once: no loop),
// and once an admin has created their user without a password, the same
// person is let in.
func TestInvitedOnly(t *testing.T) {
	idp := ssotest.New(t)
	idp.SetPerson(map[string]any{"sub": "c-1", "email": "carol@example.com", "email_verified": true, "name": "Carol"})
	srv := e2etest.StartEnv(t, e2etest.Build(t), append(e2etest.AuthEnv(), idp.Env("CORP", "ALLOW_SIGN_UP=false", "AUTO_LOGIN=true")...))
	b := newBrowser(t)
	at, body := b.get(t, srv.HTTPURL+"/")
	if at.Path != "/login" || at.Query().Get("error") != "sign_in_not_allowed" || !strings.Contains(body, "Sign in is not allowed") {
		t.Fatalf("a stranger ended at %s:\n%s", at, body)
	}
	if code, out := srv.Do(t, "POST", "/v1/users", e2etest.AdminSecret, map[string]any{"user": map[string]any{
		"auth_method": "OAUTH2", "username": "carol", "email": "Carol@example.com", "role": "VIEWER"}}); code != http.StatusCreated {
		t.Fatalf("invite carol: %d %s", code, out)
	}
	at, body = b.get(t, srv.HTTPURL+"/")
	if at.Path != "/" || !strings.Contains(body, "carol") || !strings.Contains(body, "Viewer") {
		t.Fatalf("the invited user ended at %s", at)
	}
}

// TestBadProviderSettings: a wrong PHOENIX_OAUTH2_* variable stops the
// start, and the error names it.
func TestBadProviderSettings(t *testing.T) {
	cmd := exec.Command(e2etest.Build(t), "serve", "--data-dir", t.TempDir(), "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), append(e2etest.AuthEnv(), "PHOENIX_OAUTH2_OKTA_CLIENT_ID=loupe",
		"PHOENIX_OAUTH2_OKTA_OIDC_CONFIG_URL=http://okta.example/.well-known/openid-configuration")...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("loupe started with a bad provider:\n%s", out)
	}
	for _, want := range []string{"PHOENIX_OAUTH2_OKTA_OIDC_CONFIG_URL must use https", "PHOENIX_OAUTH2_OKTA_CLIENT_SECRET must be set"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the error does not say %q:\n%s", want, out)
		}
	}
}
