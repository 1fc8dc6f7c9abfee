// Package tls_test runs the real binary with a certificate made in the
// test and checks both listeners over TLS: the OpenTelemetry exporters
// send through it, clients that speak plain text or bring no client
// certificate are refused without harm to the server, and a renewed
// certificate is served without a restart.
package tls_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"google.golang.org/grpc/credentials"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/tlstest"
)

func TestMain(m *testing.M) { e2etest.Main(m) }

// startTLS starts loupe with a certificate signed by ca and extra flags;
// client is the TLS configuration its readiness is checked with.
func startTLS(t *testing.T, ca *tlstest.CA, client *tls.Config, extra ...string) (srv *e2etest.Server, certFile, keyFile string) {
	t.Helper()
	certFile, keyFile = ca.Server(t)
	args := append([]string{"--tls-cert", certFile, "--tls-key", keyFile}, extra...)
	return e2etest.StartWith(t, e2etest.Build(t), e2etest.Options{TLS: client}, args...), certFile, keyFile
}

// exporters are the Go SDK's two OTLP exporters, over TLS with tc.
func exporters(srv *e2etest.Server, tc *tls.Config) map[string]func(context.Context) (sdktrace.SpanExporter, error) {
	return map[string]func(context.Context) (sdktrace.SpanExporter, error){
		"http": func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.HTTPURL+"/v1/traces"), otlptracehttp.WithTLSClientConfig(tc),
				otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
		},
		"grpc": func(ctx context.Context) (sdktrace.SpanExporter, error) {
			return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.GRPCAddr), otlptracegrpc.WithTLSCredentials(credentials.NewTLS(tc)),
				otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}))
		},
	}
}

// export sends one span to project through exp and returns the export's
// error.
func export(t *testing.T, newExporter func(context.Context) (sdktrace.SpanExporter, error), project string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	exp, err := newExporter(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer exp.Shutdown(ctx)
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(resource.NewSchemaless(attribute.String("openinference.project.name", project))))
	_, s := tp.Tracer("loupe-e2e").Start(ctx, "over tls")
	s.End()
	return exp.ExportSpans(ctx, []sdktrace.ReadOnlySpan{s.(sdktrace.ReadOnlySpan)})
}

// exportEach sends one span through each exporter, over TLS with tc, to
// a project of its own named after prefix, and checks it is stored.
func exportEach(t *testing.T, srv *e2etest.Server, tc *tls.Config, prefix string) {
	t.Helper()
	for name, exp := range exporters(srv, tc) {
		if err := export(t, exp, prefix+name); err != nil {
			t.Fatalf("OTLP/%s: %v", name, err)
		}
		if n := spans(t, srv, prefix+name); n != 1 {
			t.Errorf("OTLP/%s: %d spans stored, want 1", name, n)
		}
	}
}

// spans counts the spans stored in project.
func spans(t *testing.T, srv *e2etest.Server, project string) int {
	t.Helper()
	var page struct{ Data []struct{ Name string } }
	srv.GetJSON(t, "/v1/projects/"+project+"/spans", &page)
	return len(page.Data)
}

func TestExportersOverTLS(t *testing.T) {
	ca := tlstest.NewCA(t, "loupe e2e CA")
	srv, _, _ := startTLS(t, ca, ca.ClientConfig())
	for _, want := range []string{"listening on " + srv.HTTPURL + " (UI, REST, OTLP/HTTP)", srv.GRPCAddr + " (OTLP/gRPC over TLS)"} {
		if !strings.Contains(srv.Output(), want) {
			t.Errorf("the start-up log does not say %q:\n%s", want, srv.Output())
		}
	}
	if !strings.HasPrefix(srv.HTTPURL, "https://") {
		t.Fatalf("HTTPURL %s", srv.HTTPURL)
	}
	exportEach(t, srv, ca.ClientConfig(), "tls-")
	srv.Stop(t)
}

// TestPlainTextClients sends plain HTTP and plain gRPC to the TLS ports:
// both are refused, and the server serves on.
func TestPlainTextClients(t *testing.T) {
	ca := tlstest.NewCA(t, "loupe e2e CA")
	srv, _, _ := startTLS(t, ca, ca.ClientConfig())
	httpAddr := strings.TrimPrefix(srv.HTTPURL, "https://")

	resp, err := http.Get("http://" + httpAddr + "/v1/projects")
	if err != nil {
		t.Fatalf("plain HTTP: %v, want a 400 answer", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), "HTTPS") {
		t.Errorf("plain HTTP to the TLS port: %s %q, want 400 saying to use HTTPS", resp.Status, body)
	}

	plainHTTP := func(ctx context.Context) (sdktrace.SpanExporter, error) {
		return otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL("http://"+httpAddr+"/v1/traces"),
			otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	}
	if err := export(t, plainHTTP, "plain"); err == nil {
		t.Error("OTLP/HTTP in plain text to the TLS port succeeded")
	}
	plainGRPC := func(ctx context.Context) (sdktrace.SpanExporter, error) {
		return otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(srv.GRPCAddr), otlptracegrpc.WithInsecure(),
			otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: false}), otlptracegrpc.WithTimeout(5*time.Second))
	}
	if err := export(t, plainGRPC, "plain"); err == nil {
		t.Error("OTLP/gRPC in plain text to the TLS port succeeded")
	}

	for name, exp := range exporters(srv, ca.ClientConfig()) {
		if err := export(t, exp, "after-plain"); err != nil {
			t.Errorf("OTLP/%s over TLS after the plain-text clients: %v", name, err)
		}
	}
	if n := spans(t, srv, "after-plain"); n != 2 {
		t.Errorf("%d spans stored after the plain-text clients, want 2", n)
	}
	var projects struct{ Data []struct{ Name string } }
	srv.GetJSON(t, "/v1/projects", &projects)
	for _, p := range projects.Data {
		if p.Name == "plain" {
			t.Error("spans sent in plain text were stored")
		}
	}
	srv.Stop(t)
}

// TestClientCertificates requires client certificates: clients without
// one, or with one another CA signed, are refused on both listeners; a
// client with one the CA signed gets through.
func TestClientCertificates(t *testing.T) {
	ca := tlstest.NewCA(t, "loupe e2e CA")
	good := ca.ClientConfig(ca.Client(t, "ingest"))
	srv, _, _ := startTLS(t, ca, good, "--tls-verify-client", "--tls-client-ca", ca.CertFile)
	if !strings.Contains(srv.Output(), "client certificates required") {
		t.Errorf("the start-up log does not say client certificates are required:\n%s", srv.Output())
	}
	stranger := tlstest.NewCA(t, "another CA")
	refused := map[string]*tls.Config{
		"no certificate":            ca.ClientConfig(),
		"certificate of another CA": ca.ClientConfig(stranger.Client(t, "stranger")),
	}
	for why, tc := range refused {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: tc}, Timeout: 10 * time.Second}
		if resp, err := client.Get(srv.HTTPURL + "/v1/projects"); err == nil {
			resp.Body.Close()
			t.Errorf("HTTPS with %s: %s, want the connection refused", why, resp.Status)
		}
		for name, exp := range exporters(srv, tc) {
			if err := export(t, exp, "refused"); err == nil {
				t.Errorf("OTLP/%s with %s succeeded", name, why)
			}
		}
	}
	exportEach(t, srv, good, "mtls-")
	srv.Stop(t)
}

// TestCertificateRenewal renews the certificate on disk: the server serves
// the new one on both listeners without a restart, within seconds, and at
// once on SIGHUP.
func TestCertificateRenewal(t *testing.T) {
	ca := tlstest.NewCA(t, "loupe e2e CA")
	srv, certFile, keyFile := startTLS(t, ca, ca.ClientConfig())
	addrs := []string{strings.TrimPrefix(srv.HTTPURL, "https://"), srv.GRPCAddr}
	served := func(addr string) *x509.Certificate {
		t.Helper()
		// gRPC wants the client to offer HTTP/2.
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool, NextProtos: []string{"h2"}})
		if err != nil {
			t.Fatalf("TLS to %s: %v", addr, err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0]
	}
	waitServed := func(want *x509.Certificate, within time.Duration) {
		t.Helper()
		for _, addr := range addrs {
			for deadline := time.Now().Add(within); !served(addr).Equal(want); time.Sleep(50 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("%s still serves %q %v after the renewal", addr, served(addr).Subject.CommonName, within)
				}
			}
		}
	}

	renewed := ca.WriteServer(t, "renewed", certFile, keyFile)
	waitServed(renewed, 15*time.Second)
	if !strings.Contains(srv.Output(), "reloaded the TLS certificate") {
		t.Errorf("the log does not tell of the reload:\n%s", srv.Output())
	}

	// Written with the old times, the files look unchanged: SIGHUP reloads
	// them all the same.
	info, err := os.Stat(certFile)
	if err != nil {
		t.Fatal(err)
	}
	again := ca.WriteServer(t, "renewed again", certFile, keyFile)
	for _, f := range []string{certFile, keyFile} {
		if err := os.Chtimes(f, info.ModTime(), info.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
	if err := srv.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitServed(again, 2*time.Second)
	if !strings.Contains(srv.Output(), "reason=SIGHUP") {
		t.Errorf("the log does not tell of the reload on SIGHUP:\n%s", srv.Output())
	}
	if err := export(t, exporters(srv, ca.ClientConfig())["grpc"], "renewed"); err != nil {
		t.Errorf("OTLP/gRPC after the renewals: %v", err)
	}
	srv.Stop(t)
}

// TestPhoenixRegister sends spans with arize-phoenix-otel's register() to
// https endpoints, the server's certificate trusted through
// OTEL_EXPORTER_OTLP_CERTIFICATE, over gRPC and over HTTP.
func TestPhoenixRegister(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	python := e2etest.Python(t, "arize-phoenix-otel", "opentelemetry-exporter-otlp-proto-grpc", "opentelemetry-exporter-otlp-proto-http")
	ca := tlstest.NewCA(t, "loupe e2e CA")
	srv, _, _ := startTLS(t, ca, ca.ClientConfig())
	script, err := filepath.Abs("register_app.py")
	if err != nil {
		t.Fatal(err)
	}
	for protocol, endpoint := range map[string]string{"grpc": "https://" + srv.GRPCAddr, "http/protobuf": srv.HTTPURL + "/v1/traces"} {
		project := "register-" + strings.ReplaceAll(protocol, "/", "-")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		cmd := exec.CommandContext(ctx, python, script, endpoint, protocol, project)
		// requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE, which some
		// machines set, win over the exporter's certificate.
		cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
			return strings.HasPrefix(kv, "PHOENIX_") || strings.HasPrefix(kv, "OTEL_") ||
				strings.HasPrefix(kv, "REQUESTS_CA_BUNDLE=") || strings.HasPrefix(kv, "CURL_CA_BUNDLE=")
		}), "OTEL_EXPORTER_OTLP_CERTIFICATE="+ca.CertFile)
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("register_app.py %s: %v\n%s", protocol, err, out)
		}
		if !strings.Contains(string(out), "Project: "+project) || strings.Contains(strings.ToLower(string(out)), "error") {
			t.Errorf("register_app.py %s said:\n%s", protocol, out)
		}
		if n := spans(t, srv, project); n != 1 {
			t.Errorf("register(endpoint=%q, protocol=%q): %d spans stored, want 1", endpoint, protocol, n)
		}
	}
	srv.Stop(t)
}
