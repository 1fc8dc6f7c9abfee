package server

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func parse(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if err := cfg.ApplyEnv(fs, func(k string) string { return env[k] }); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

func TestConfigPrecedence(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		env      map[string]string
		wantHTTP string
		wantGRPC string
		wantDir  string
		wantQ    int
	}{
		{"defaults", nil, nil, "127.0.0.1:6006", "127.0.0.1:4317", "", 100000},
		{"phoenix variables", nil, map[string]string{"PHOENIX_HOST": "0.0.0.0", "PHOENIX_PORT": "7000", "PHOENIX_GRPC_PORT": "7317",
			"PHOENIX_WORKING_DIR": "/data/phx", "PHOENIX_MAX_SPANS_QUEUE_SIZE": "500"}, "0.0.0.0:7000", "0.0.0.0:7317", "/data/phx", 500},
		{"loupe beats phoenix", nil, map[string]string{"LOUPE_HTTP_ADDR": "127.0.0.1:1", "PHOENIX_PORT": "7000",
			"LOUPE_DATA_DIR": "/data/loupe", "PHOENIX_WORKING_DIR": "/data/phx"}, "127.0.0.1:1", "127.0.0.1:4317", "/data/loupe", 100000},
		{"flag beats environment", []string{"--http-addr", "127.0.0.1:2", "--data-dir", "/flag"}, map[string]string{"LOUPE_HTTP_ADDR": "127.0.0.1:1",
			"PHOENIX_PORT": "7000", "LOUPE_DATA_DIR": "/env"}, "127.0.0.1:2", "127.0.0.1:4317", "/flag", 100000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.HTTPAddr != tc.wantHTTP || cfg.GRPCAddr != tc.wantGRPC || cfg.QueueSpans != tc.wantQ {
				t.Errorf("got http %s grpc %s queue %d", cfg.HTTPAddr, cfg.GRPCAddr, cfg.QueueSpans)
			}
			if tc.wantDir != "" && cfg.DataDir != tc.wantDir {
				t.Errorf("data dir %s, want %s", cfg.DataDir, tc.wantDir)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		args    []string
		env     map[string]string
		wantErr string
	}{
		{[]string{"--http-addr", "6006"}, nil, "--http-addr \"6006\": want host:port"},
		{[]string{"--grpc-addr", "localhost:http"}, nil, "port must be a number"},
		{[]string{"--log-level", "loud"}, nil, "--log-level \"loud\""},
		{[]string{"--max-body-size", "lots"}, nil, "not a size"},
		{nil, map[string]string{"LOUPE_QUEUE_SPANS": "many"}, "LOUPE_QUEUE_SPANS"},
		{[]string{"--query-timeout", "-1s"}, nil, "--query-timeout must be 0 (none) or positive"},
		{nil, map[string]string{"LOUPE_QUERY_TIMEOUT": "soon"}, "LOUPE_QUERY_TIMEOUT"},
	}
	for _, tc := range tests {
		_, err := parse(t, tc.args, tc.env)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%v %v: error %v, want %q", tc.args, tc.env, err, tc.wantErr)
		}
	}
}

func TestQueryTimeout(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want time.Duration
	}{
		{nil, nil, 30 * time.Second},
		{nil, map[string]string{"LOUPE_QUERY_TIMEOUT": "5s"}, 5 * time.Second},
		{[]string{"--query-timeout", "250ms"}, map[string]string{"LOUPE_QUERY_TIMEOUT": "5s"}, 250 * time.Millisecond},
		{[]string{"--query-timeout", "0"}, nil, 0},
	}
	for _, tc := range tests {
		cfg, err := parse(t, tc.args, tc.env)
		if err != nil || cfg.QueryTimeout != tc.want {
			t.Errorf("%v %v: query timeout %v (%v), want %v", tc.args, tc.env, cfg.QueryTimeout, err, tc.want)
		}
	}
}

func TestSize(t *testing.T) {
	for in, want := range map[string]Size{"512": 512, "64KiB": 64 << 10, "64MiB": 64 << 20, "1GiB": 1 << 30, "2MB": 2e6, "10 MiB": 10 << 20} {
		var s Size
		if err := s.Set(in); err != nil || s != want {
			t.Errorf("Set(%q) = %d, %v; want %d", in, s, err, want)
		}
	}
	if got := Size(64 << 20).String(); got != "64MiB" {
		t.Errorf("String = %s", got)
	}
}

func TestAuthConfig(t *testing.T) {
	const good = "a-good-secret-with-digits-0123456789"
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		wantErr string // "" for none
	}{
		{"off by default", nil, nil, ""},
		{"on by flag", []string{"--enable-auth"}, map[string]string{"LOUPE_SECRET": good}, ""},
		{"on by Phoenix's variables", nil, map[string]string{"PHOENIX_ENABLE_AUTH": "true", "PHOENIX_SECRET": good}, ""},
		{"no secret", []string{"--enable-auth"}, nil, "--enable-auth needs a secret: set LOUPE_SECRET"},
		{"short secret", nil, map[string]string{"LOUPE_ENABLE_AUTH": "true", "LOUPE_SECRET": "abc123"},
			"LOUPE_SECRET must be at least 32 characters long (it has 6)"},
		{"secret without a digit", nil, map[string]string{"LOUPE_ENABLE_AUTH": "true", "PHOENIX_SECRET": strings.Repeat("x", 40)},
			"PHOENIX_SECRET must contain a digit"},
		{"bad admin secret", []string{"--enable-auth"}, map[string]string{"LOUPE_SECRET": good, "PHOENIX_ADMIN_SECRET": "admin"},
			"PHOENIX_ADMIN_SECRET must be at least 32 characters long"},
		{"admin secret is the secret", []string{"--enable-auth"}, map[string]string{"LOUPE_SECRET": good, "LOUPE_ADMIN_SECRET": good},
			"LOUPE_ADMIN_SECRET must differ from LOUPE_SECRET"},
		{"metrics auth without auth", []string{"--metrics-auth"}, nil, "--metrics-auth needs --enable-auth"},
		{"not a boolean", nil, map[string]string{"LOUPE_ENABLE_AUTH": "yes please"}, "LOUPE_ENABLE_AUTH"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.args, tc.env)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want %q", err, tc.wantErr)
			}
			if strings.Contains(err.Error(), good) || cfg.Secret.Value != "" && strings.Contains(err.Error(), cfg.Secret.Value) {
				t.Errorf("the error shows the secret: %v", err)
			}
		})
	}
	cfg, _ := parse(t, nil, map[string]string{"LOUPE_SECRET": good, "PHOENIX_SECRET": "other", "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD": "pw"})
	if cfg.Secret.Value != good || cfg.Secret.From != "LOUPE_SECRET" || cfg.InitialAdminPassword.Value != "pw" {
		t.Errorf("secrets = %+v %+v", cfg.Secret, cfg.InitialAdminPassword)
	}
	if s := fmt.Sprint(cfg.Secret); strings.Contains(s, good) {
		t.Errorf("a secret prints as %q", s)
	}
}

func TestExposedAddrs(t *testing.T) {
	for addrs, want := range map[[2]string]string{
		{"127.0.0.1:6006", "127.0.0.1:4317"}: "",
		{"localhost:6006", "[::1]:4317"}:     "",
		{"0.0.0.0:6006", "127.0.0.1:4317"}:   "0.0.0.0:6006",
		{":6006", "10.1.2.3:4317"}:           ":6006 10.1.2.3:4317",
	} {
		cfg := Config{HTTPAddr: addrs[0], GRPCAddr: addrs[1]}
		if got := strings.Join(cfg.exposedAddrs(), " "); got != want {
			t.Errorf("exposedAddrs(%v) = %q, want %q", addrs, got, want)
		}
	}
}

func TestClickHouseReplicatedConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want bool
	}{
		{"default", nil, nil, false},
		{"flag", []string{"--clickhouse-replicated"}, nil, true},
		{"environment", nil, map[string]string{"LOUPE_CLICKHOUSE_REPLICATED": "1"}, true},
		{"flag beats environment", []string{"--clickhouse-replicated=false"}, map[string]string{"LOUPE_CLICKHOUSE_REPLICATED": "true"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := parse(t, tc.args, tc.env)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.ClickHouseReplicated != tc.want {
				t.Errorf("ClickHouseReplicated = %v, want %v", cfg.ClickHouseReplicated, tc.want)
			}
		})
	}
}

// TestClickHouseReplicatedNeedsCluster: the server refuses to start with
// replicated tables but no cluster, before reaching any ClickHouse.
func TestClickHouseReplicatedNeedsCluster(t *testing.T) {
	cfg := Config{Database: "clickhouse://127.0.0.1:1/loupe", ClickHouseReplicated: true}
	_, _, _, err := openStore(context.Background(), cfg, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "--clickhouse-replicated") || !strings.Contains(err.Error(), "--clickhouse-cluster") {
		t.Fatalf("openStore = %v, want the options named", err)
	}
}
