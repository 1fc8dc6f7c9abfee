package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/api"
	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/route"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
	"github.com/loupe-dev/loupe/internal/web"
)

const (
	testSecret      = "a-server-test-secret-of-32-characters-or-more-3"
	testAdminSecret = "a-server-admin-secret-of-32-characters-or-more-4"
)

// newAuthServer is a server with authentication on, on SQLite or, with a
// URL, PostgreSQL.
func newAuthServer(t *testing.T, database string, metricsAuth bool) (*Server, http.Handler) {
	t.Helper()
	return newTestServer(t, func(cfg *Config) {
		cfg.Database = database
		cfg.EnableAuth, cfg.MetricsAuth = true, metricsAuth
		cfg.Secret = Secret{Value: testSecret, From: "LOUPE_SECRET"}
		cfg.AdminSecret = Secret{Value: testAdminSecret, From: "LOUPE_ADMIN_SECRET"}
	})
}

// open are the routes served without credentials: probes, the version
// Phoenix's clients ask first, logging in and out, and the static files
// the login page needs. /metrics is open unless --metrics-auth.
var open = map[string]bool{
	"GET /healthz":                  true,
	"GET /readyz":                   true,
	"GET /metrics":                  true,
	"GET /arize_phoenix_version":    true,
	"POST /auth/login":              true,
	"GET /auth/logout":              true,
	"GET /login":                    true,
	"POST /login":                   true,
	"POST /logout":                  true,
	"GET /static/{version}/{file}":  true,
	"GET /oauth2/{idp_name}/login":  true,
	"POST /oauth2/{idp_name}/login": true,
	"GET /oauth2/{idp_name}/tokens": true,
}

// viewerMayWrite are the routes taking other methods than GET that a
// viewer may use: the span query reads, and viewers manage their own keys
// (as in Phoenix; a key cannot make keys, so with a key this is 403 too).
var viewerMayWrite = map[string]bool{
	"POST /v1/spans":                        true,
	"POST /v1/user/api_keys":                true,
	"DELETE /v1/user/api_keys/{api_key_id}": true,
}

func send(h http.Handler, rt route.Route, cred string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(rt.Method, rt.SamplePath(), strings.NewReader("{}"))
	r.Header.Set("Content-Type", "application/json")
	if cred != "" {
		r.Header.Set("Authorization", "Bearer "+cred)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestEveryRouteWantsCredentials walks every route of every surface, on
// both backends: without credentials each answers 401 but those of the
// allow-list; a viewer's key gets 403 on every route that writes, and a
// member's on every route that manages.
func TestEveryRouteWantsCredentials(t *testing.T) {
	backends := map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	}
	for name, database := range backends {
		t.Run(name, func(t *testing.T) {
			s, h := newAuthServer(t, database(t), false)
			ctx := context.Background()
			listed := map[string]bool{}
			for _, rt := range s.Routes() {
				listed[rt.Pattern()] = true
			}
			for p := range open {
				if !listed[p] {
					t.Errorf("the allow-list names %s, which no surface serves", p)
				}
			}

			for _, rt := range s.Routes() {
				w := send(h, rt, "")
				// The login routes answer a login without a password 401
				// themselves: what tells a refusal is its words.
				refused := w.Code == http.StatusUnauthorized && strings.HasPrefix(w.Body.String(), "Authentication required")
				switch {
				case open[rt.Pattern()] && refused:
					t.Errorf("%s without credentials = 401, want it open", rt.Pattern())
				case !open[rt.Pattern()] && !refused:
					t.Errorf("%s without credentials = %d %q, want 401", rt.Pattern(), w.Code, w.Body)
				case w.Code == http.StatusUnauthorized && w.Header().Get("WWW-Authenticate") != `Bearer realm="Loupe"`:
					t.Errorf("%s: 401 without WWW-Authenticate", rt.Pattern())
				}
				if w := send(h, rt, "lk_not-a-key"); !open[rt.Pattern()] && w.Code != http.StatusUnauthorized {
					t.Errorf("%s with a wrong key = %d, want 401", rt.Pattern(), w.Code)
				}
			}

			keyOf := func(name string, role auth.Role) string {
				u, err := s.auth.CreateUser(ctx, auth.NewUser{Username: name, Email: name + "@example.com", Role: role})
				if err != nil {
					t.Fatal(err)
				}
				_, token, err := s.auth.CreateAPIKey(ctx, auth.NewKey{Name: name, UserID: u.ID})
				if err != nil {
					t.Fatal(err)
				}
				return token
			}
			viewer, member := keyOf("vic", auth.RoleViewer), keyOf("meg", auth.RoleMember)
			manages := 0
			for _, rt := range s.Routes() {
				if open[rt.Pattern()] {
					continue
				}
				r := httptest.NewRequest(rt.Method, rt.SamplePath(), nil)
				r.Pattern = rt.Pattern()
				// Each surface names its own routes that manage.
				need := max(api.Access(r), web.Access(r))
				writes := rt.Method != http.MethodGet && rt.Method != http.MethodHead
				if writes && !viewerMayWrite[rt.Pattern()] {
					if w := send(h, rt, viewer); w.Code != http.StatusForbidden {
						t.Errorf("%s with a viewer's key = %d %q, want 403", rt.Pattern(), w.Code, w.Body)
					}
				}
				if need == auth.Manage {
					manages++
					if w := send(h, rt, member); w.Code != http.StatusForbidden {
						t.Errorf("%s with a member's key = %d %q, want 403", rt.Pattern(), w.Code, w.Body)
					}
					if w := send(h, rt, testAdminSecret); w.Code == http.StatusForbidden || w.Code == http.StatusUnauthorized {
						t.Errorf("%s with the admin secret = %d %q", rt.Pattern(), w.Code, w.Body)
					}
				}
			}
			if manages < 10 {
				t.Errorf("only %d routes need an admin", manages)
			}
			for _, p := range []string{"GET /v1/projects", "POST /v1/spans"} {
				method, path, _ := strings.Cut(p, " ")
				if w := send(h, route.Handle(method+" "+path, nil), viewer); w.Code == http.StatusForbidden || w.Code == http.StatusUnauthorized {
					t.Errorf("%s with a viewer's key = %d %q, want it served", p, w.Code, w.Body)
				}
			}
		})
	}
}

// TestPagesGoToLogin: a browser asking for a page without a session goes
// to the login page, which brings it back; fragments and streams get 401.
func TestPagesGoToLogin(t *testing.T) {
	_, h := newAuthServer(t, "", false)
	for path, want := range map[string]int{
		"/":                           http.StatusSeeOther,
		"/projects/default?range=24h": http.StatusSeeOther,
		"/events":                     http.StatusUnauthorized,
		"/login":                      http.StatusOK,
	} {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		if path == "/events" {
			r.Header.Set("Sec-Fetch-Mode", "cors")
			r.Header.Set("Accept", "text/event-stream")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("GET %s = %d, want %d", path, w.Code, want)
			continue
		}
		if want == http.StatusSeeOther {
			loc, _ := url.Parse(w.Header().Get("Location"))
			if loc.Path != "/login" || loc.Query().Get("next") != path {
				t.Errorf("GET %s goes to %s", path, loc)
			}
		}
	}

	// Logging in through the form sets the cookie; the first admin, whose
	// password is the initial one, chooses a new one before going back.
	form := url.Values{"login": {"admin"}, "password": {"admin"}, "next": {"/projects/default"}}
	r := httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/password?next=%2Fprojects%2Fdefault" || len(w.Result().Cookies()) != 1 {
		t.Fatalf("login = %d, Location %q, cookies %v", w.Code, w.Header().Get("Location"), w.Result().Cookies())
	}
	cookie := w.Result().Cookies()[0]
	get := func(path string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", path, nil)
		r.Header.Set("Sec-Fetch-Mode", "navigate")
		r.AddCookie(cookie)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := get("/"); w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/password?next=%2F" {
		t.Errorf("home page before a new password = %d %q, want the password page", w.Code, w.Header().Get("Location"))
	}
	pw := url.Values{"current": {"admin"}, "new": {"a-new-password"}, "confirm": {"a-new-password"}, "next": {"/projects/default"}}
	r = httptest.NewRequest("POST", "/password", strings.NewReader(pw.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(cookie)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/projects/default" {
		t.Fatalf("new password = %d %q %s", w.Code, w.Header().Get("Location"), w.Body)
	}
	if w := get("/"); w.Code != http.StatusOK {
		t.Errorf("home page with the session = %d", w.Code)
	}

	form.Set("password", "wrong")
	form.Set("password", "wrong")
	r = httptest.NewRequest("POST", "/login", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "Invalid email and/or password") {
		t.Errorf("a wrong password = %d %q", w.Code, w.Body)
	}
}

// TestMetricsAuth puts /metrics behind a key.
func TestMetricsAuth(t *testing.T) {
	s, h := newAuthServer(t, "", true)
	rt := route.Handle("GET /metrics", nil)
	if w := send(h, rt, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("/metrics without a key = %d, want 401", w.Code)
	}
	_, token, err := s.auth.CreateAPIKey(context.Background(), auth.NewKey{Name: "prometheus"})
	if err != nil {
		t.Fatal(err)
	}
	if w := send(h, rt, token); w.Code != http.StatusOK {
		t.Errorf("/metrics with a key = %d", w.Code)
	}
	if w := send(h, route.Handle("GET /healthz", nil), ""); w.Code != http.StatusOK {
		t.Errorf("/healthz = %d", w.Code)
	}
}

// TestWarnsWhenOpen: with auth off, listening beyond loopback is logged as
// a warning that says what to do.
func TestWarnsWhenOpen(t *testing.T) {
	for addr, warns := range map[string]bool{"127.0.0.1:0": false, "0.0.0.0:0": true} {
		var logged strings.Builder
		s := &Server{cfg: Config{HTTPAddr: addr, GRPCAddr: "127.0.0.1:0"}, log: slog.New(slog.NewTextHandler(&logged, nil))}
		s.warnIfOpen()
		if got := strings.Contains(logged.String(), "authentication is off and Loupe listens on 0.0.0.0:0") &&
			strings.Contains(logged.String(), "LOUPE_ENABLE_AUTH=true"); got != warns {
			t.Errorf("listening on %s: warned = %v, want %v: %s", addr, got, warns, logged.String())
		}
	}
}
