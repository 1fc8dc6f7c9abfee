package browser_test

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/sso/ssotest"
)

// A trace for the logged-in pages to show and the annotation forms to
// write to.
const (
	authTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	authSpanID  = "00f067aa0ba902b7"
)

// startWithAuth runs loupe with authentication on, holding one trace sent
// with a system key.
func startWithAuth(t *testing.T, env ...string) *e2etest.Server {
	t.Helper()
	srv := e2etest.StartEnv(t, e2etest.Build(t), append(e2etest.AuthEnv(), env...))
	_, key := srv.SystemKey(t, "ingest")
	now := time.Now().Add(-time.Minute).UnixNano()
	body := fmt.Sprintf(`{"resourceSpans":[{"resource":{"attributes":[{"key":"openinference.project.name","value":{"stringValue":"support"}}]},
		"scopeSpans":[{"spans":[{"traceId":%q,"spanId":%q,"name":"ChatCompletion","startTimeUnixNano":"%d","endTimeUnixNano":"%d",
		"attributes":[{"key":"openinference.span.kind","value":{"stringValue":"LLM"}},{"key":"input.value","value":{"stringValue":"Where is my refund?"}},
		{"key":"output.value","value":{"stringValue":"It is on its way."}}]}]}]}]}`, authTraceID, authSpanID, now, now+int64(1200*time.Millisecond))
	if code, out := srv.Do(t, "POST", "/v1/traces", key, jsonRaw(body)); code != http.StatusOK {
		t.Fatalf("store a trace: %d %s", code, out)
	}
	return srv
}

// getJSON reads a REST answer with token as the bearer.
func getJSON(t *testing.T, srv *e2etest.Server, path, token string, v any) {
	t.Helper()
	code, out := srv.Do(t, "GET", path, token, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, code, out)
	}
	if err := json.Unmarshal(out, v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

// jsonRaw is a JSON body sent as it is.
type jsonRaw string

func (j jsonRaw) MarshalJSON() ([]byte, error) { return []byte(j), nil }

// fill sets form fields (selector, value pairs) and submits with submit.
func (p *page) fill(what, submit string, fields ...string) {
	p.t.Helper()
	var steps []chromedp.Action[chromedp.Void]
	for i := 0; i+1 < len(fields); i += 2 {
		steps = append(steps, chromedp.WaitVisible(chromedp.CSS(fields[i])), chromedp.SetValue(chromedp.CSS(fields[i]), fields[i+1]))
	}
	steps = append(steps, chromedp.Click(chromedp.CSS(submit)))
	p.do(what, steps...)
}

// logIn logs in on the login page the browser is at.
func (p *page) logIn(login, password string) {
	p.t.Helper()
	p.waitFor("the login page", `location.pathname === "/login"`, 10*time.Second)
	p.fill("log in as "+login, `.authform button[type="submit"]`, `#login`, login, `#password`, password)
}

// logOut logs out through the user menu.
func (p *page) logOut() {
	p.t.Helper()
	p.click(".usermenu summary")
	p.click(`.usermenu button.menuitem`)
	p.waitFor("the login page after logging out", `location.pathname === "/login"`, 10*time.Second)
	p.see(".authcard .flash", "You have logged out.")
}

// choosePassword answers the password page a new user is sent to.
func (p *page) choosePassword(current, fresh string) {
	p.t.Helper()
	p.waitFor("the password page", `location.pathname === "/password"`, 10*time.Second)
	p.fill("choose a password", `.authform button[type="submit"]`, `#current`, current, `#new`, fresh, `#confirm`, fresh)
	p.waitFor("the page asked for", `location.pathname !== "/password"`, 10*time.Second)
}

// TestLogInManageAndLogOut is a team's first day: the admin logs in with
// the initial password, must choose another, creates a user and an API
// key (read off the page, once), and logs out; the new user logs in,
// chooses their password, and finds the annotation forms a member has; a
// viewer finds none.
func TestLogInManageAndLogOut(t *testing.T) {
	srv := startWithAuth(t)
	p := newPage(t, srv.HTTPURL)

	p.open("/projects/support")
	p.waitFor("the login page", `location.pathname === "/login"`, 10*time.Second)
	if next := eval[string](p, `new URLSearchParams(location.search).get("next")`); next != "/projects/support" {
		t.Errorf("the login page's next = %q", next)
	}
	p.see(".authcard", "Log in to Loupe", "Username or email", "Password")
	if n := eval[int](p, `document.querySelectorAll(".switcher:not(.usermenu), .sitenav, #goto").length`); n != 0 {
		t.Errorf("the login page shows %d parts of the navigation", n)
	}
	p.shot("50-login")
	p.logIn("admin", "not-the-password")
	p.waitFor("the error", `!!document.querySelector(".formerr")`, 10*time.Second)
	p.see(".formerr", "Invalid email and/or password")
	if v := eval[string](p, `document.querySelector("#login").value`); v != "admin" {
		t.Errorf("the login field holds %q after a failure, want what was typed", v)
	}
	p.shot("51-login-error")

	p.logIn("admin", "admin")
	p.waitFor("the password page", `location.pathname === "/password"`, 10*time.Second)
	p.see(".authcard", "Choose a new password", "chosen by someone else")
	p.see(".usermenu summary", "admin", "Admin")
	p.shot("52-choose-password")
	p.open("/storage")
	p.waitFor("the password page again", `location.pathname === "/password"`, 10*time.Second)
	p.choosePassword("admin", "correct-horse-battery")
	p.waitFor("the page last asked for", `location.pathname === "/storage"`, 10*time.Second)
	p.open("/projects/support")
	p.see(".usermenu summary", "admin", "Admin")
	p.shot("53-project-logged-in")

	// The user menu: who, as what, and the way to settings and out.
	p.click(".usermenu summary")
	p.see(".usermenu .menu", "Logged in as admin", "Admin", "Settings and API keys", "Log out")
	p.shot("54-user-menu")
	p.click(`.usermenu a[href="/settings"]`)
	p.waitFor("the settings page", `location.pathname === "/settings"`, 10*time.Second)
	p.see("#account", "admin", "admin@localhost", "Admin")
	p.see("#users", "admin", "admin@localhost")
	p.shot("55-settings")

	// A user, with a role and an initial password.
	p.fill("create a user", `#users .setform button[type="submit"]`,
		`#users input[name="username"]`, "bob", `#users input[name="email"]`, "bob@example.com",
		`#users select[name="role"]`, "MEMBER", `#users input[name="password"]`, "bobs-first-pass")
	p.waitFor("the new user", `!!document.querySelector('#users tr[data-id="bob"]')`, 10*time.Second)
	p.see(".flash", "User created")
	p.see(`#users tr[data-id="bob"]`, "bob@example.com", "initial")
	if role := eval[string](p, `document.querySelector('#users tr[data-id="bob"] select').value`); role != "MEMBER" {
		t.Errorf("bob's role = %q", role)
	}

	// A personal key with an expiry: the token is on the page once.
	expires := time.Now().AddDate(0, 0, 30).UTC().Format("2006-01-02")
	p.fill("create a key", `#keys .keyform button[type="submit"]`, `#keys input[name="name"]`, "laptop", `#keys input[name="expires"]`, expires)
	p.waitFor("the new key", `!!document.querySelector("#new-key-token")`, 10*time.Second)
	token := strings.TrimSpace(p.text("#new-key-token"))
	p.see(".newkey", "shown only this once", "laptop")
	p.click(`.newkey button[data-copy-from]`)
	p.waitFor("the copy button to say so", `document.querySelector(".newkey button[data-copy-from]").textContent === "Copied"`, 5*time.Second)
	p.see(`#keys tr[data-id="laptop"]`, "laptop", expires, "never")
	p.shot("56-new-key")
	if code, out := srv.Do(t, "GET", "/v1/projects", token, nil); code != http.StatusOK {
		t.Errorf("the key shown does not work: %d %s", code, out)
	}
	p.open("/settings")
	if strings.Contains(eval[string](p, `document.body.innerHTML`), token) {
		t.Errorf("the key is shown a second time")
	}
	p.see(`#keys tr[data-id="laptop"]`, "laptop")
	p.logOut()
	p.shot("57-logged-out")
	if code, _ := srv.Do(t, "GET", "/v1/projects", token, nil); code != http.StatusOK {
		t.Errorf("the key stopped working when its owner logged out: %d", code)
	}

	// Bob logs in, chooses his password, and may annotate.
	p.open("/projects/support/traces/" + authTraceID)
	p.logIn("bob@example.com", "bobs-first-pass")
	p.choosePassword("bobs-first-pass", "bobs-own-password")
	p.waitFor("the trace", `location.pathname.endsWith("`+authTraceID+`")`, 10*time.Second)
	p.see(".usermenu summary", "bob", "Member")
	p.click(".thead details.annot-pop summary")
	p.see(".annot-menu", "Save annotation", "Add note")
	p.do("write a note", chromedp.SendKeys(chromedp.CSS(`.annot-menu textarea[name="note"]`), "Refund policy answer checked."),
		chromedp.Click(chromedp.CSS(`.annot-menu form:has(textarea[name="note"]) button[type="submit"]`)))
	p.waitFor("the note in the list", `document.querySelector(".thead .annot-list")?.textContent.includes("Refund policy answer checked.")`, 10*time.Second)
	p.see(".thead .annot-list .an-by", "bob")
	p.shot("58-member-trace")
	p.logOut()

	// A viewer reads the same trace, and nothing offers to change it.
	code, out := srv.Do(t, "POST", "/v1/users", e2etest.AdminSecret, map[string]any{"user": map[string]any{
		"auth_method": "LOCAL", "username": "vera", "email": "vera@example.com", "role": "VIEWER", "password": "veras-first-pass"}})
	if code != http.StatusCreated {
		t.Fatalf("create a viewer: %d %s", code, out)
	}
	var vera struct {
		Data struct{ ID string } `json:"data"`
	}
	if err := json.Unmarshal(out, &vera); err != nil || vera.Data.ID == "" {
		t.Fatalf("the created viewer: %v %s", err, out)
	}
	p.open("/projects/support/traces/" + authTraceID)
	p.logIn("vera", "veras-first-pass")
	p.choosePassword("veras-first-pass", "veras-own-password")
	p.see(".usermenu summary", "vera", "Viewer")
	p.click(".thead details.annot-pop summary")
	p.see(".annot-menu", "Your role reads annotations")
	if n := eval[int](p, `document.querySelectorAll("form[data-annotate], .priceform, .policyform").length`); n != 0 {
		t.Errorf("a viewer sees %d forms that write", n)
	}
	p.shot("59-viewer-trace")
	p.open("/settings")
	p.see("#keys", "Create personal key")
	if n := eval[int](p, `document.querySelectorAll("#users, #system-keys").length`); n != 0 {
		t.Errorf("a viewer sees the admin's sections")
	}
	p.darkMode(true)
	p.shot("60-viewer-settings-dark")
	p.darkMode(false)

	// Her login ends while a live page is open (the admin deletes her):
	// when its event stream is next refused, the page goes to the login
	// form instead of silently no longer updating.
	p.open("/projects/support")
	p.waitFor("the live stream", `document.body.dataset.streaming === "true"`, 10*time.Second)
	if code, out := srv.Do(t, "DELETE", "/v1/users/"+vera.Data.ID, e2etest.AdminSecret, nil); code != http.StatusNoContent {
		t.Fatalf("delete the viewer: %d %s", code, out)
	}
	p.waitFor("the login page after the stream's next connection", `location.pathname === "/login"`, 40*time.Second)
}

// TestOtherSitesCannotWriteWhenLoggedIn: an admin logged in to Loupe
// visits a hostile page, which makes the browser post Loupe's own forms
// (create a user, a key, an annotation; log out) and send REST writes.
// Nothing changes: the session cookie stays home (SameSite) and the
// server refuses cross-origin writes.
func TestOtherSitesCannotWriteWhenLoggedIn(t *testing.T) {
	srv := startWithAuth(t)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, hostileFormsPage(srv.HTTPURL))
	}))
	defer evil.Close()
	_, port, _ := net.SplitHostPort(evil.Listener.Addr().String())

	p := newPage(t, srv.HTTPURL)
	p.open("/settings")
	p.logIn("admin", "admin")
	p.choosePassword("admin", "correct-horse-battery")
	p.waitFor("settings", `location.pathname === "/settings"`, 10*time.Second)

	// localhost and 127.0.0.1 are different sites to the browser.
	p.do("open the hostile page", chromedp.Navigate("http://localhost:"+port+"/"))
	p.waitFor("the hostile page to send everything", `document.title === "sent"`, 30*time.Second)
	p.shot("61-hostile-page-logged-in")

	var users struct{ Data []struct{ Username string } }
	getJSON(t, srv, "/v1/users", e2etest.AdminSecret, &users)
	for _, u := range users.Data {
		if strings.Contains(u.Username, "evil") {
			t.Errorf("a page on another site created user %q", u.Username)
		}
	}
	for _, path := range []string{"/v1/system/api_keys", "/v1/users/api_keys"} {
		var keys struct{ Data []struct{ Name string } }
		getJSON(t, srv, path, e2etest.AdminSecret, &keys)
		for _, k := range keys.Data {
			if strings.Contains(k.Name, "evil") {
				t.Errorf("a page on another site created key %q", k.Name)
			}
		}
	}
	var anns struct{ Data []map[string]any }
	getJSON(t, srv, "/v1/projects/support/span_annotations?span_ids="+authSpanID, e2etest.AdminSecret, &anns)
	if len(anns.Data) != 0 {
		t.Errorf("a page on another site annotated a span: %v", anns.Data)
	}
	// Still logged in: the hostile logout did not count either.
	p.open("/settings")
	p.see(".usermenu summary", "admin")
}

// hostileFormsPage posts Loupe's forms from another site, each into its
// own hidden frame, and sends REST writes with fetch as any page can.
func hostileFormsPage(target string) string {
	forms := []struct{ action, fields string }{
		{"/settings/users", `<input name="username" value="evil"><input name="email" value="evil@example.com"><input name="role" value="ADMIN"><input name="password" value="evil-password">`},
		{"/settings/keys", `<input name="name" value="evil-key">`},
		{"/settings/system-keys", `<input name="name" value="evil-system-key">`},
		{"/projects/support/spans/" + authSpanID + "/annotations", `<input name="note" value="evil note">`},
		{"/logout", ``},
	}
	var b strings.Builder
	b.WriteString(`<!doctype html><title>loading</title>`)
	for i, f := range forms {
		fmt.Fprintf(&b, `<iframe name="sink%d" style="display:none"></iframe><form id="f%d" method="POST" target="sink%d" action="%s%s">%s</form>`,
			i, i, i, target, f.action, f.fields)
	}
	fmt.Fprintf(&b, `<script>
const target = %s;
(async () => {
  for (const [path, body] of [["/v1/users", '{"user":{"username":"evil-rest","email":"evil-rest@example.com","role":"ADMIN","password":"evil-password"}}'],
                              ["/v1/user/api_keys", '{"data":{"name":"evil-rest-key"}}']]) {
    try { await fetch(target + path, {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "text/plain"}, body}); } catch (e) {}
  }
  const loads = [...document.querySelectorAll("iframe")].map(f => new Promise(r => f.addEventListener("load", r, {once: true})));
  for (const f of document.querySelectorAll("form")) f.submit();
  await Promise.race([Promise.all(loads), new Promise(r => setTimeout(r, 8000))]);
  document.title = "sent";
})();
</script>`, jsString(target))
	return b.String()
}

// TestSingleSignOnInTheBrowser logs in through an OpenID Connect provider
// running in the test: the login page's button, the provider, and back,
// a new user made on the way.
func TestSingleSignOnInTheBrowser(t *testing.T) {
	idp := ssotest.New(t)
	srv := startWithAuth(t, idp.Env("MOCK", "DISPLAY_NAME=Mock IdP", "ROLE_ATTRIBUTE_PATH='MEMBER'")...)
	p := newPage(t, srv.HTTPURL)
	p.open("/projects/support")
	p.waitFor("the login page", `location.pathname === "/login"`, 10*time.Second)
	p.see(".providers", "Sign in with Mock IdP")
	p.shot("62-login-sso")
	p.darkMode(true)
	p.shot("63-login-sso-dark")
	p.darkMode(false)
	p.click(`.providers a[data-idp="mock"]`)
	p.waitFor("the page asked for", `location.pathname === "/projects/support"`, 15*time.Second)
	p.see(".usermenu summary", "Alice", "Member")
	p.shot("64-after-sso")
	p.open("/settings")
	p.see("#account", "Alice", "alice@example.com", "identity provider")
}
