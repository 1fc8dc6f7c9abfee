package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/tlstest"
)

func TestTLSConfig(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want TLSConfig
	}{
		{"off by default", nil, nil, TLSConfig{}},
		{"flags", []string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, nil, TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}},
		{"loupe variables", nil, map[string]string{"LOUPE_TLS_CERT_FILE": "c.pem", "LOUPE_TLS_KEY_FILE": "k.pem",
			"LOUPE_TLS_CLIENT_CA_FILE": "ca.pem", "LOUPE_TLS_VERIFY_CLIENT": "true"},
			TLSConfig{CertFile: "c.pem", KeyFile: "k.pem", ClientCAFile: "ca.pem", VerifyClient: true}},
		{"flag beats loupe variable", []string{"--tls-cert", "flag.pem"}, map[string]string{"LOUPE_TLS_CERT_FILE": "env.pem", "LOUPE_TLS_KEY_FILE": "k.pem"},
			TLSConfig{CertFile: "flag.pem", KeyFile: "k.pem"}},
		{"phoenix files mean nothing until PHOENIX_TLS_ENABLED", nil, map[string]string{"PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem",
			"PHOENIX_TLS_VERIFY_CLIENT": "true"}, TLSConfig{}},
		{"phoenix enabled", nil, map[string]string{"PHOENIX_TLS_ENABLED": "TRUE", "PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem"},
			TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}},
		{"phoenix for HTTP only", nil, map[string]string{"PHOENIX_TLS_ENABLED_FOR_HTTP": "true", "PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem"},
			TLSConfig{CertFile: "c.pem", KeyFile: "k.pem", PlainGRPC: true}},
		{"phoenix per listener overrides enabled", nil, map[string]string{"PHOENIX_TLS_ENABLED": "true", "PHOENIX_TLS_ENABLED_FOR_HTTP": "false",
			"PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem"},
			TLSConfig{CertFile: "c.pem", KeyFile: "k.pem", PlainHTTP: true}},
		{"phoenix client verification", nil, map[string]string{"PHOENIX_TLS_ENABLED": "true", "PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem",
			"PHOENIX_TLS_VERIFY_CLIENT": "true", "PHOENIX_TLS_CA_FILE": "ca.pem"},
			TLSConfig{CertFile: "c.pem", KeyFile: "k.pem", ClientCAFile: "ca.pem", VerifyClient: true}},
		{"phoenix CA file unused without verification", nil, map[string]string{"PHOENIX_TLS_ENABLED": "true", "PHOENIX_TLS_CERT_FILE": "c.pem",
			"PHOENIX_TLS_KEY_FILE": "k.pem", "PHOENIX_TLS_CA_FILE": "ca.pem"}, TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}},
		{"loupe files beat phoenix files", nil, map[string]string{"LOUPE_TLS_CERT_FILE": "lc.pem", "LOUPE_TLS_KEY_FILE": "lk.pem",
			"PHOENIX_TLS_ENABLED_FOR_GRPC": "true", "PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem"},
			TLSConfig{CertFile: "lc.pem", KeyFile: "lk.pem", PlainHTTP: true}},
		{"loupe verification beats phoenix", []string{"--tls-verify-client=false"}, map[string]string{"PHOENIX_TLS_ENABLED": "true",
			"PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem", "PHOENIX_TLS_VERIFY_CLIENT": "true"},
			TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.TLS != tc.want {
				t.Errorf("got %+v, want %+v", cfg.TLS, tc.want)
			}
		})
	}
}

func TestTLSConfigErrors(t *testing.T) {
	tests := []struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		{[]string{"--tls-cert", "c.pem"}, nil, "--tls-cert is given without --tls-key"},
		{nil, map[string]string{"LOUPE_TLS_KEY_FILE": "k.pem"}, "--tls-key is given without --tls-cert"},
		{[]string{"--tls-verify-client", "--tls-client-ca", "ca.pem"}, nil, "client certificates are verified only over TLS"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-verify-client"}, nil, "--tls-verify-client needs --tls-client-ca"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-client-ca", "ca.pem"}, nil, "--tls-client-ca is given without --tls-verify-client"},
		{nil, map[string]string{"LOUPE_TLS_VERIFY_CLIENT": "yes please"}, "LOUPE_TLS_VERIFY_CLIENT"},
		{nil, map[string]string{"PHOENIX_TLS_ENABLED": "1"}, `PHOENIX_TLS_ENABLED="1": use true or false`},
		{nil, map[string]string{"PHOENIX_TLS_ENABLED": "true"}, "PHOENIX_TLS_CERT_FILE must be set when PHOENIX_TLS_ENABLED"},
		{nil, map[string]string{"PHOENIX_TLS_ENABLED_FOR_GRPC": "true", "PHOENIX_TLS_CERT_FILE": "c.pem"}, "PHOENIX_TLS_KEY_FILE must be set"},
		{nil, map[string]string{"PHOENIX_TLS_ENABLED": "true", "PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem",
			"PHOENIX_TLS_VERIFY_CLIENT": "true"}, "PHOENIX_TLS_CA_FILE must be set when PHOENIX_TLS_VERIFY_CLIENT is true"},
		{nil, map[string]string{"PHOENIX_TLS_ENABLED": "true", "PHOENIX_TLS_CERT_FILE": "c.pem", "PHOENIX_TLS_KEY_FILE": "k.pem",
			"PHOENIX_TLS_KEY_FILE_PASSWORD": "secret"}, "PHOENIX_TLS_KEY_FILE_PASSWORD is set, but Loupe reads only unencrypted private keys"},
		{[]string{"--tls-cert", "c.pem", "--tls-key", "k.pem"}, map[string]string{"PHOENIX_TLS_ENABLED": "false"},
			"PHOENIX_TLS_ENABLED (or _FOR_HTTP and _FOR_GRPC) turn TLS off on both listeners"},
	}
	for _, tc := range tests {
		_, err := parse(t, tc.args, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v %v: error %v, want %q", tc.args, tc.env, err, tc.wantErr)
		}
	}
}

// TestTLSFileErrors checks that the server refuses to start on
// certificate files it cannot use, and says why.
func TestTLSFileErrors(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	cert, key := ca.Server(t)
	otherCert, otherKey := ca.Server(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.pem")
	encryptedKey := writeFile(t, dir, "encrypted.pem", pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte("x")}))
	legacyEncrypted := writeFile(t, dir, "legacy.pem", pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY",
		Headers: map[string]string{"Proc-Type": "4,ENCRYPTED", "DEK-Info": "AES-256-CBC,00"}, Bytes: []byte("x")}))
	notPEM := writeFile(t, dir, "notpem.txt", []byte("hello"))
	tests := []struct {
		name    string
		tls     TLSConfig
		wantErr string
	}{
		{"missing certificate", TLSConfig{CertFile: missing, KeyFile: key}, "TLS certificate (--tls-cert): open " + missing + ": no such file"},
		{"missing key", TLSConfig{CertFile: cert, KeyFile: missing}, "TLS private key (--tls-key): open " + missing + ": no such file"},
		{"key of another certificate", TLSConfig{CertFile: cert, KeyFile: otherKey}, "TLS private key " + otherKey + " does not match the certificate " + cert},
		{"files swapped", TLSConfig{CertFile: key, KeyFile: cert}, "PEM inputs may have been switched"},
		{"encrypted key", TLSConfig{CertFile: cert, KeyFile: encryptedKey}, "TLS private key " + encryptedKey + " is encrypted"},
		{"legacy encrypted key", TLSConfig{CertFile: cert, KeyFile: legacyEncrypted}, "is encrypted"},
		{"certificate not PEM", TLSConfig{CertFile: notPEM, KeyFile: key}, "TLS certificate " + notPEM + " and key " + key + ": tls: failed to find any PEM data"},
		{"missing client CA", TLSConfig{CertFile: otherCert, KeyFile: otherKey, VerifyClient: true, ClientCAFile: missing}, "--tls-client-ca: open " + missing},
		{"client CA not PEM", TLSConfig{CertFile: cert, KeyFile: key, VerifyClient: true, ClientCAFile: notPEM}, "--tls-client-ca " + notPEM + " holds no PEM certificate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DataDir = t.TempDir()
			cfg.HTTPAddr, cfg.GRPCAddr = "127.0.0.1:0", "127.0.0.1:0"
			cfg.TLS = tc.tls
			_, err := New(context.Background(), cfg, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("New: error %v, want %q", err, tc.wantErr)
			}
		})
	}
}

// TestCertificateReload renews the certificate as a tool does, file by
// file: while the key does not match yet, the previous certificate stays
// in service; once both are written, the new one is served.
func TestCertificateReload(t *testing.T) {
	ca := tlstest.NewCA(t, "test CA")
	certFile, keyFile := ca.Server(t)
	_, cert, err := newTLS(TLSConfig{CertFile: certFile, KeyFile: keyFile}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	served := func() *x509.Certificate {
		c, err := cert.get(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return c.Leaf
	}
	first := served()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		cert.watch(ctx, 10*time.Millisecond)
		close(done)
	}()
	defer func() { cancel(); <-done }()

	// A new certificate whose key is not written yet.
	dir := t.TempDir()
	nextCert, nextKey := filepath.Join(dir, "next.pem"), filepath.Join(dir, "next-key.pem")
	renewed := ca.WriteServer(t, "renewed", nextCert, nextKey)
	copyFile(t, nextCert, certFile)
	time.Sleep(100 * time.Millisecond)
	if got := served(); !got.Equal(first) {
		t.Fatalf("serving %q with a key that does not match it", got.Subject)
	}
	copyFile(t, nextKey, keyFile)
	for deadline := time.Now().Add(5 * time.Second); !served().Equal(renewed); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("still serving %q after the renewal", served().Subject)
		}
	}
}

func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	f := filepath.Join(dir, name)
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o600); err != nil {
		t.Fatal(err)
	}
}
