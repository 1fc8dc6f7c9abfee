// Package auth_test runs Phoenix's own Python clients against the real
// loupe binary with authentication on: phoenix.otel.register() sending
// spans over gRPC and HTTP with nothing but PHOENIX_API_KEY, and
// arize-phoenix-client reading spans and writing annotations with api_key=.
// A missing key is refused (401, UNAUTHENTICATED) and a viewer's key may
// not write (403, PERMISSION_DENIED); neither stores anything. Over TLS the
// login cookie is Secure, and keys work on both listeners.
//
// The scripts run from the virtual environment scripts/test.sh creates
// ($LOUPE_PY_VENV, or ~/.cache/loupe-test/venv).
package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/tlstest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// python runs a script of this directory with args, in an environment with
// no PHOENIX_* or OTEL_* variable but env, and returns its stdout and
// stderr; failed reports whether it exited non-zero.
func python(t *testing.T, py, script string, env []string, args ...string) (stdout, stderr string, failed bool) {
	t.Helper()
	path, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, append([]string{path}, args...)...)
	cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "PHOENIX_") || strings.HasPrefix(kv, "OTEL_")
	}), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	if err != nil && ctx.Err() != nil {
		t.Fatalf("%s did not finish: %v\n%s", script, err, errOut.String())
	}
	return out.String(), errOut.String(), err != nil
}

// spansIn lists the span ids project holds, reading with token.
func spansIn(t *testing.T, srv *e2etest.Server, token, project string) []string {
	t.Helper()
	code, body := srv.Do(t, "GET", "/v1/projects/"+project+"/spans", token, nil)
	if code == http.StatusNotFound {
		return nil // no span ever reached the project
	}
	if code != http.StatusOK {
		t.Fatalf("GET spans of %s: %d %s", project, code, body)
	}
	var page struct {
		Data []struct {
			Context struct {
				SpanID string `json:"span_id"`
			} `json:"context"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range page.Data {
		ids = append(ids, s.Context.SpanID)
	}
	return ids
}

func TestRegisterWithAPIKey(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	py := e2etest.Python(t, "arize-phoenix-otel", "opentelemetry-exporter-otlp-proto-grpc", "opentelemetry-exporter-otlp-proto-http")
	srv := e2etest.StartEnv(t, e2etest.Build(t), e2etest.AuthEnv())
	_, system := srv.SystemKey(t, "checkout-service")
	_, member := srv.UserKey(t, "mia", "MEMBER")
	_, viewer := srv.UserKey(t, "vic", "VIEWER")

	transports := []struct {
		name, protocol, endpoint string
		unauthenticated, denied  string // what the exporter logs when refused
	}{
		{"grpc", "grpc", "http://" + srv.GRPCAddr, "StatusCode.UNAUTHENTICATED", "StatusCode.PERMISSION_DENIED"},
		{"http", "http/protobuf", srv.HTTPURL + "/v1/traces", "code: 401", "code: 403"},
	}
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			for _, c := range []struct {
				name, key string
				stored    bool
				logged    string
			}{
				{"system key", system, true, ""},
				{"member's key", member, true, ""},
				{"no key", "", false, tr.unauthenticated},
				{"viewer's key", viewer, false, tr.denied},
				{"wrong key", "lk_not-a-key", false, tr.unauthenticated},
			} {
				t.Run(c.name, func(t *testing.T) {
					project := "reg-" + tr.name + "-" + strings.ReplaceAll(c.name, " ", "-")
					project = strings.ReplaceAll(project, "'", "")
					var env []string
					if c.key != "" {
						env = append(env, "PHOENIX_API_KEY="+c.key)
					}
					stdout, stderr, failed := python(t, py, "register_app.py", env, tr.protocol, tr.endpoint, project)
					if failed {
						t.Fatalf("register_app.py failed:\n%s", stderr)
					}
					spans := spansIn(t, srv, member, project)
					if c.stored {
						if len(spans) != 1 || !strings.Contains(stdout, `"trace_id"`) {
							t.Errorf("%d spans stored, want 1; the app said %s\n%s", len(spans), stdout, stderr)
						}
						if strings.Contains(stderr, "Failed to export") {
							t.Errorf("the exporter logged a failure:\n%s", stderr)
						}
						return
					}
					if len(spans) != 0 {
						t.Errorf("%d spans stored, want none", len(spans))
					}
					if !strings.Contains(stderr, c.logged) {
						t.Errorf("the exporter did not log %q:\n%s", c.logged, stderr)
					}
				})
			}
		})
	}
	srv.Stop(t)
}

func TestPhoenixClientWithAPIKey(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	py := e2etest.Python(t, "arize-phoenix-otel", "arize-phoenix-client")
	srv := e2etest.StartEnv(t, e2etest.Build(t), e2etest.AuthEnv())
	_, system := srv.SystemKey(t, "ingest")
	_, member := srv.UserKey(t, "ann", "MEMBER")
	const project = "client-with-key"
	for range 2 {
		if _, stderr, failed := python(t, py, "register_app.py", []string{"PHOENIX_API_KEY=" + system}, "http/protobuf", srv.HTTPURL+"/v1/traces", project); failed {
			t.Fatalf("register_app.py:\n%s", stderr)
		}
	}

	stdout, stderr, failed := python(t, py, "client_app.py", nil, srv.HTTPURL, member, project)
	if failed {
		t.Fatalf("client_app.py with a member's key:\n%s\n%s", stdout, stderr)
	}
	var got struct {
		Spans        []string `json:"spans"`
		AnnotationID string   `json:"annotation_id"`
		NoteID       string   `json:"note_id"`
	}
	if err := json.Unmarshal([]byte(stdout), &got); err != nil {
		t.Fatalf("client_app.py printed %q: %v", stdout, err)
	}
	if len(got.Spans) != 2 || got.AnnotationID == "" || got.NoteID == "" {
		t.Fatalf("client_app.py read and wrote %+v", got)
	}

	// The annotations name who made them.
	var me struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	srv.Token = member
	srv.GetJSON(t, "/v1/user", &me)
	var anns struct {
		Data []struct {
			Name   string  `json:"name"`
			UserID *string `json:"user_id"`
		} `json:"data"`
	}
	srv.GetJSON(t, "/v1/projects/"+project+"/span_annotations?span_ids="+got.Spans[0], &anns)
	if len(anns.Data) != 2 {
		t.Fatalf("annotations on the span: %+v", anns.Data)
	}
	for _, a := range anns.Data {
		if a.UserID == nil || *a.UserID != me.Data.ID {
			t.Errorf("%s annotation has user_id %v, want %s", a.Name, a.UserID, me.Data.ID)
		}
	}

	// Without a key the client is refused, and says so.
	_, stderr, failed = python(t, py, "client_app.py", nil, srv.HTTPURL, "", project)
	if !failed || !strings.Contains(stderr, "401") {
		t.Errorf("client_app.py without a key: failed=%v\n%s", failed, stderr)
	}
	srv.Stop(t)
}

// TestOverTLS: with a certificate, the login cookie is Secure with the
// __Host- prefix, and keys work on both listeners over TLS.
func TestOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "loupe-e2e-auth")
	certFile, keyFile := ca.Server(t)
	srv := e2etest.StartWith(t, e2etest.Build(t), e2etest.Options{TLS: ca.ClientConfig(), Env: e2etest.AuthEnv()},
		"--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(srv.HTTPURL, "https://") {
		t.Fatalf("HTTPURL %s", srv.HTTPURL)
	}
	req, _ := http.NewRequest("POST", srv.HTTPURL+"/auth/login", strings.NewReader(`{"email":"admin","password":"admin"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := srv.HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if len(cookies) != 1 || cookies[0].Name != "__Host-loupe_session" || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].Path != "/" {
		t.Errorf("cookies over TLS: %+v", cookies)
	}

	_, key := srv.SystemKey(t, "tls-app")
	srv.Token = key
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	for name, opts := range map[string][]otlptracegrpc.Option{
		"with a key": {otlptracegrpc.WithHeaders(map[string]string{"authorization": "Bearer " + key})},
		"without":    nil,
	} {
		exp, err := otlptracegrpc.New(ctx, append(opts, otlptracegrpc.WithEndpoint(srv.GRPCAddr),
			otlptracegrpc.WithTLSCredentials(credentials.NewTLS(ca.ClientConfig())),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))...)
		if err != nil {
			t.Fatal(err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(resource.NewSchemaless(attribute.String("openinference.project.name", "tls"))))
		_, s := tp.Tracer("loupe-e2e").Start(ctx, name)
		s.End()
		err = exp.ExportSpans(ctx, []sdktrace.ReadOnlySpan{s.(sdktrace.ReadOnlySpan)})
		exp.Shutdown(ctx)
		if got := status.Code(err); (name == "with a key") != (got == codes.OK) || name == "without" && got != codes.Unauthenticated {
			t.Errorf("gRPC over TLS %s: %v", name, err)
		}
	}
	var page struct{ Data []json.RawMessage }
	srv.GetJSON(t, "/v1/projects/tls/spans", &page)
	if len(page.Data) != 1 {
		t.Errorf("%d spans stored over gRPC and TLS, want 1", len(page.Data))
	}
	srv.Stop(t)
}
