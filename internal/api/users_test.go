package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/span"
)

// authAPI serves the API behind the authentication the server mounts.
type authAPI struct {
	t   *testing.T
	h   http.Handler
	svc *auth.Service
}

func newAuthAPI(t *testing.T, spans ...span.Span) *authAPI {
	t.Helper()
	st := newTestStore(t)
	if len(spans) > 0 {
		if _, err := st.WriteSpans(context.Background(), spans); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := auth.New(st, auth.Config{Secret: "an-api-test-secret-of-32-characters-or-more-5", InitialAdminPassword: "first-admin-pw"})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Bootstrap(context.Background()); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	a := &API{Store: st, Ingest: directSubmitter{st}, Auth: svc, Log: log}
	return &authAPI{t: t, svc: svc, h: a.Handler(svc.Middleware(auth.HTTPOptions{Need: Access, Open: Open}))}
}

// do sends a request with a credential: "cookie:<token>", a bearer token,
// or "" for none.
func (a *authAPI) do(cred, method, path, body string) *httptest.ResponseRecorder {
	a.t.Helper()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	if token, ok := strings.CutPrefix(cred, "cookie:"); ok {
		r.AddCookie(&http.Cookie{Name: "loupe_session", Value: token})
	} else if cred != "" {
		r.Header.Set("Authorization", "Bearer "+cred)
	}
	w := httptest.NewRecorder()
	a.h.ServeHTTP(w, r)
	return w
}

func (a *authAPI) want(w *httptest.ResponseRecorder, status int, what string) {
	a.t.Helper()
	if w.Code != status {
		a.t.Fatalf("%s: %d %s, want %d", what, w.Code, strings.TrimSpace(w.Body.String()), status)
	}
}

// login logs in through POST /auth/login and returns the cookie credential.
func (a *authAPI) login(name, password string) string {
	a.t.Helper()
	w := a.do("", "POST", "/auth/login", `{"email":"`+name+`","password":"`+password+`"}`)
	a.want(w, http.StatusNoContent, "login as "+name)
	for _, c := range w.Result().Cookies() {
		if c.Name == "loupe_session" && c.HttpOnly && c.SameSite == http.SameSiteLaxMode {
			return "cookie:" + c.Value
		}
	}
	a.t.Fatalf("login as %s set no session cookie: %v", name, w.Header()["Set-Cookie"])
	return ""
}

func decode[T any](t *testing.T, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %s: %v", w.Body, err)
	}
	return v
}

type userPage struct {
	Data       []userJSON `json:"data"`
	NextCursor *string    `json:"next_cursor"`
}

func TestUsersAndKeys(t *testing.T) {
	a := newAuthAPI(t)
	admin := a.login("admin@localhost", "first-admin-pw")

	me := decode[struct{ Data userJSON }](t, a.do(admin, "GET", "/v1/user", ""))
	if me.Data.Username != "admin" || me.Data.Role != "ADMIN" || !me.Data.PasswordNeedsReset || me.Data.AuthMethod != "LOCAL" {
		t.Errorf("GET /v1/user = %+v", me.Data)
	}

	create := func(name, role string) userJSON {
		w := a.do(admin, "POST", "/v1/users", `{"user":{"auth_method":"LOCAL","username":"`+name+`","email":"`+name+`@example.com","role":"`+role+`","password":"pw-`+name+`-123"}}`)
		a.want(w, http.StatusCreated, "create "+name)
		return decode[struct{ Data userJSON }](t, w).Data
	}
	viewer := create("vera", "VIEWER")
	create("max", "MEMBER")
	for _, tc := range []struct {
		body   string
		status int
		msg    string // how the answer starts
	}{
		{`{"user":{"auth_method":"LOCAL","username":"Vera","email":"x@example.com","role":"VIEWER"}}`, 409, "Username already exists"},
		{`{"user":{"auth_method":"LOCAL","username":"y","email":"VERA@example.com","role":"VIEWER"}}`, 409, "Email already exists"},
		{`{"user":{"auth_method":"LOCAL","username":"y","email":"y@example.com","role":"SYSTEM"}}`, 400, "Cannot create users with SYSTEM role"},
		{`{"user":{"auth_method":"LOCAL","username":"y","email":"y@example.com","role":"OWNER"}}`, 400, "Role 'OWNER' not found"},
		{`{"user":{"auth_method":"LOCAL","username":"y","email":"nope","role":"VIEWER"}}`, 422, `email "nope" is not an email address`},
		{`{"user":{"auth_method":"LOCAL","username":"y","email":"y@example.com","role":"VIEWER","password":"short"}}`, 422, "password must be at least 8"},
	} {
		w := a.do(admin, "POST", "/v1/users", tc.body)
		if w.Code != tc.status || !strings.HasPrefix(w.Body.String(), tc.msg) {
			t.Errorf("POST /v1/users %s = %d %q, want %d %q", tc.body, w.Code, w.Body, tc.status, tc.msg)
		}
	}

	users := decode[userPage](t, a.do(admin, "GET", "/v1/users?limit=2", ""))
	if len(users.Data) != 2 || users.Data[0].Username != "max" || users.NextCursor == nil {
		t.Fatalf("first page of users = %+v", users)
	}
	users = decode[userPage](t, a.do(admin, "GET", "/v1/users?limit=2&cursor="+*users.NextCursor, ""))
	if len(users.Data) != 1 || users.Data[0].Username != "admin" || users.NextCursor != nil {
		t.Errorf("second page of users = %+v", users)
	}

	// A system key, made by the admin logged in; keys cannot make keys.
	w := a.do(admin, "POST", "/v1/system/api_keys", `{"data":{"name":"ingest","description":"the app","expires_at":"2099-01-01T00:00:00"}}`)
	a.want(w, http.StatusCreated, "create a system key")
	sys := decode[struct{ Data apiKeyJSON }](t, w).Data
	if !strings.HasPrefix(sys.Key, "lk_") || sys.Name != "ingest" || sys.Description != "the app" || sys.ExpiresAt == nil || !strings.HasPrefix(*sys.ExpiresAt, "2099-01-01T00:00:00") {
		t.Errorf("created system key = %+v", sys)
	}
	a.want(a.do(sys.Key, "POST", "/v1/system/api_keys", `{"data":{"name":"again"}}`), http.StatusForbidden, "a system key making a system key")
	a.want(a.do(sys.Key, "POST", "/v1/user/api_keys", `{"data":{"name":"again"}}`), http.StatusForbidden, "a system key making a user key")
	a.want(a.do(sys.Key, "POST", "/v1/projects", `{"name":"from-the-app"}`), http.StatusOK, "a system key writes")
	a.want(a.do(sys.Key, "GET", "/v1/users", ""), http.StatusForbidden, "a system key lists users")
	keys := decode[struct{ Data []apiKeyJSON }](t, a.do(admin, "GET", "/v1/system/api_keys", ""))
	if len(keys.Data) != 1 || keys.Data[0].Key != "" || keys.Data[0].ID != sys.ID {
		t.Errorf("system keys = %+v", keys.Data)
	}

	// A viewer makes a key of their own, which reads and no more.
	veraCookie := a.login("vera", "pw-vera-123")
	w = a.do(veraCookie, "POST", "/v1/user/api_keys", `{"data":{"name":"notebook"}}`)
	a.want(w, http.StatusCreated, "a viewer makes a key")
	veraKey := decode[struct{ Data apiKeyJSON }](t, w).Data
	a.want(a.do(veraKey.Key, "GET", "/v1/projects", ""), http.StatusOK, "a viewer's key reads")
	w = a.do(veraKey.Key, "POST", "/v1/projects", `{"name":"nope"}`)
	a.want(w, http.StatusForbidden, "a viewer's key writes")
	if !strings.Contains(w.Body.String(), "Viewers cannot perform this action.") {
		t.Errorf("viewer refused with %q", w.Body)
	}
	a.want(a.do(veraKey.Key, "POST", "/v1/user/api_keys", `{"data":{"name":"more"}}`), http.StatusForbidden, "a key making a key")
	mine := decode[struct{ Data []apiKeyJSON }](t, a.do(veraKey.Key, "GET", "/v1/user/api_keys", ""))
	if len(mine.Data) != 1 || mine.Data[0].Name != "notebook" {
		t.Errorf("vera's keys = %+v", mine.Data)
	}
	who := decode[struct{ Data userJSON }](t, a.do(veraKey.Key, "GET", "/v1/user", ""))
	if who.Data.ID != viewer.ID {
		t.Errorf("GET /v1/user with vera's key = %+v", who.Data)
	}

	all := decode[struct{ Data []apiKeyJSON }](t, a.do(admin, "GET", "/v1/users/api_keys", ""))
	if len(all.Data) != 1 || all.Data[0].User == nil || all.Data[0].User.Username != "vera" || all.Data[0].User.ID != viewer.ID {
		t.Errorf("every user's keys = %+v", all.Data)
	}

	// Another member cannot see vera's key to revoke it; the system keys
	// route knows no personal key; an admin revokes it.
	maxCookie := a.login("max", "pw-max-123")
	a.want(a.do(maxCookie, "DELETE", "/v1/user/api_keys/"+veraKey.ID, ""), http.StatusNotFound, "max revokes vera's key")
	a.want(a.do(admin, "DELETE", "/v1/system/api_keys/"+GlobalID(systemKeyNode, mustID(t, veraKey.ID, userKeyNode)), ""), http.StatusNotFound, "a personal key through the system keys route")
	a.want(a.do(admin, "DELETE", "/v1/user/api_keys/"+veraKey.ID, ""), http.StatusNoContent, "the admin revokes vera's key")
	a.want(a.do(veraKey.Key, "GET", "/v1/projects", ""), http.StatusUnauthorized, "a revoked key")
	a.want(a.do(admin, "DELETE", "/v1/system/api_keys/"+sys.ID, ""), http.StatusNoContent, "revoke the system key")
	a.want(a.do(admin, "DELETE", "/v1/system/api_keys/"+sys.ID, ""), http.StatusNotFound, "revoke it again")
	a.want(a.do(admin, "DELETE", "/v1/system/api_keys/nope", ""), http.StatusUnprocessableEntity, "a bad id")

	// Users: the default admin stays; others go, with their sessions.
	a.want(a.do(maxCookie, "DELETE", "/v1/users/"+viewer.ID, ""), http.StatusForbidden, "a member deletes a user")
	a.want(a.do(admin, "DELETE", "/v1/users/"+me.Data.ID, ""), http.StatusForbidden, "delete the default admin")
	a.want(a.do(admin, "DELETE", "/v1/users/"+viewer.ID, ""), http.StatusNoContent, "delete vera")
	a.want(a.do(admin, "DELETE", "/v1/users/"+viewer.ID, ""), http.StatusNotFound, "delete vera again")
	a.want(a.do(veraCookie, "GET", "/v1/projects", ""), http.StatusUnauthorized, "a deleted user's session")

	// Logging out ends the session.
	w = a.do(maxCookie, "GET", "/auth/logout", "")
	a.want(w, http.StatusFound, "log out")
	if loc := w.Header().Get("Location"); loc != "/login" {
		t.Errorf("logout goes to %q", loc)
	}
	a.want(a.do(maxCookie, "GET", "/v1/projects", ""), http.StatusUnauthorized, "a session after logout")
}

func mustID(t *testing.T, gid, typ string) int64 {
	t.Helper()
	id, err := ParseGlobalID(gid, typ)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestLoginRoute(t *testing.T) {
	a := newAuthAPI(t)
	for _, tc := range []struct {
		body   string
		status int
		msg    string
	}{
		{`{"email":"admin@localhost"}`, 401, "Email and password required"},
		{`{"email":"admin@localhost","password":"wrong"}`, 401, "Invalid email and/or password"},
		{`{"email":"nobody@localhost","password":"first-admin-pw"}`, 401, "Invalid email and/or password"},
		{`{"username":"admin","password":"first-admin-pw"}`, 204, ""},
	} {
		w := a.do("", "POST", "/auth/login", tc.body)
		if w.Code != tc.status || strings.TrimSpace(w.Body.String()) != tc.msg {
			t.Errorf("login %s = %d %q, want %d %q", tc.body, w.Code, w.Body, tc.status, tc.msg)
		}
		if tc.status == 401 && w.Header().Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate")
		}
	}
	for range 5 {
		a.do("", "POST", "/auth/login", `{"email":"admin","password":"wrong"}`)
	}
	w := a.do("", "POST", "/auth/login", `{"email":"admin","password":"first-admin-pw"}`)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("login after 5 failures = %d %q, Retry-After %q", w.Code, w.Body, w.Header().Get("Retry-After"))
	}
}

func TestUsersRoutesWithAuthOff(t *testing.T) {
	h := newTestAPI(t)
	if code, body := get(t, h, "/v1/user"); code != 200 || !strings.Contains(body, `"auth_method":"ANONYMOUS"`) {
		t.Errorf("GET /v1/user with auth off = %d %s", code, body)
	}
	for _, path := range []string{"/v1/user/api_keys", "/v1/system/api_keys", "/v1/users"} {
		code, body := get(t, h, path)
		if code != 403 || !strings.Contains(body, "PHOENIX_ENABLE_AUTH") {
			t.Errorf("GET %s with auth off = %d %s", path, code, body)
		}
	}
}

// TestAnnotationsRecordTheirAuthor: an annotation made with a user's key
// carries the user's id, as Phoenix's user_id.
func TestAnnotationsRecordTheirAuthor(t *testing.T) {
	a := newAuthAPI(t, testSpan("default", 1, 1, 0, span.KindLLM))
	ctx := context.Background()
	u, err := a.svc.CreateUser(ctx, auth.NewUser{Username: "ann", Email: "ann@example.com", Role: auth.RoleMember})
	if err != nil {
		t.Fatal(err)
	}
	_, key, err := a.svc.CreateAPIKey(ctx, auth.NewKey{Name: "evals", UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	a.want(a.do(key, "POST", "/v1/span_annotations?sync=true",
		`{"data":[{"span_id":"`+hexID(1, 16)+`","name":"correctness","annotator_kind":"LLM","result":{"label":"correct"}}]}`), 200, "annotate")
	a.want(a.do(key, "POST", "/v1/span_notes", `{"data":{"span_id":"`+hexID(1, 16)+`","note":"checked"}}`), 200, "note")
	w := a.do(key, "GET", "/v1/projects/default/span_annotations?span_ids="+hexID(1, 16), "")
	a.want(w, 200, "list")
	got := decode[struct{ Data []annotationJSON }](t, w)
	if len(got.Data) != 2 {
		t.Fatalf("annotations = %+v", got.Data)
	}
	for _, ann := range got.Data {
		if ann.UserID == nil || *ann.UserID != GlobalID(userNode, u.ID) {
			t.Errorf("%s: user_id %v, want %s", ann.Name, ann.UserID, GlobalID(userNode, u.ID))
		}
	}
}
