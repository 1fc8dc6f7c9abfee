package server

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/retention"
	"github.com/loupe-dev/loupe/internal/sso"
)

// Config is everything `loupe serve` can be told. Each field has a flag, a
// LOUPE_* environment variable, and where Phoenix has an equivalent, a
// PHOENIX_* fallback; the flag wins, then LOUPE_*, then PHOENIX_*.
type Config struct {
	HTTPAddr         string
	GRPCAddr         string
	TLS              TLSConfig
	DataDir          string
	LogLevel         string
	LogFormat        string
	MaxBodyBytes     Size
	GRPCMaxRecvBytes Size
	InflightBytes    Size
	QueueSpans       int
	QueueBytes       Size
	BatchSpans       int
	// MemoryLimit is the Go runtime's soft memory limit; 0 leaves it alone.
	MemoryLimit     Size
	ShutdownTimeout time.Duration
	// QueryTimeout bounds each read query of the REST API and the UI; 0
	// leaves them unbounded.
	QueryTimeout time.Duration
	PricesFile   string
	// Database is empty for SQLite in DataDir, or a URL (see parseDatabase).
	Database string
	// ClickHouseCluster names the cluster a clickhouse:// database shards
	// its tables over; empty for single-node tables.
	ClickHouseCluster string
	// ClickHouseReplicated makes the cluster's local tables Replicated ones.
	ClickHouseReplicated bool
	// RetentionDays and RetentionTraces, when given, set the default
	// retention policy stored in the database.
	RetentionDays     Optional[float64]
	RetentionTraces   Optional[int64]
	RetentionInterval time.Duration

	// EnableAuth turns authentication on: every surface but /healthz and
	// /readyz (and /metrics unless MetricsAuth) wants an API key or a login.
	EnableAuth bool
	// MetricsAuth puts /metrics behind a key too.
	MetricsAuth bool
	// SecureCookies marks the login cookie Secure, for a server behind a
	// proxy that ends TLS.
	SecureCookies bool
	// The secrets come from the environment only, never flags, which
	// other users of the machine can read in the process list.
	Secret               Secret // keys the hashes of stored tokens
	AdminSecret          Secret // a bearer token acting as the system
	InitialAdminPassword Secret // the first admin's, to be changed at first login
	// IdentityProviders log people in to the UI by single sign-on, with
	// auth on: the PHOENIX_OAUTH2_<IDP>_* variables (sso.FromEnv).
	IdentityProviders []sso.Config
}

// Secret is a value read from an environment variable, which it names.
type Secret struct {
	Value string
	From  string // the variable it came from; empty when unset
}

// String and LogValue keep the value out of anything printed or logged.
func (s Secret) String() string {
	if s.From == "" {
		return "unset"
	}
	return "set by " + s.From
}

func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// secretVars name the environment variables of each secret, LOUPE_* first.
var secretVars = []struct {
	field func(*Config) *Secret
	names []string
}{
	{func(c *Config) *Secret { return &c.Secret }, []string{"LOUPE_SECRET", "PHOENIX_SECRET"}},
	{func(c *Config) *Secret { return &c.AdminSecret }, []string{"LOUPE_ADMIN_SECRET", "PHOENIX_ADMIN_SECRET"}},
	{func(c *Config) *Secret { return &c.InitialAdminPassword }, []string{"LOUPE_DEFAULT_ADMIN_INITIAL_PASSWORD", "PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD"}},
}

// DefaultConfig is what `loupe serve` does with no flags.
func DefaultConfig() Config {
	home, err := os.UserHomeDir()
	if err != nil {
		home = "."
	}
	queue := ingest.DefaultConfig()
	return Config{
		HTTPAddr:          "127.0.0.1:6006",
		GRPCAddr:          "127.0.0.1:4317",
		DataDir:           filepath.Join(home, ".loupe"),
		LogLevel:          "info",
		LogFormat:         "text",
		MaxBodyBytes:      64 << 20,
		GRPCMaxRecvBytes:  16 << 20,
		InflightBytes:     64 << 20,
		QueueSpans:        queue.MaxQueueSpans,
		QueueBytes:        Size(queue.MaxQueueBytes),
		BatchSpans:        queue.MaxBatchSpans,
		MemoryLimit:       192 << 20,
		ShutdownTimeout:   30 * time.Second,
		QueryTimeout:      30 * time.Second,
		RetentionInterval: retention.DefaultInterval,
	}
}

// envVar names the environment variables of one flag.
type envVar struct {
	flag    string
	loupe   string
	phoenix []string // fallbacks, read by a custom rule when more than one
}

var envVars = []envVar{
	{"http-addr", "LOUPE_HTTP_ADDR", nil},
	{"grpc-addr", "LOUPE_GRPC_ADDR", nil},
	{"tls-cert", "LOUPE_TLS_CERT_FILE", nil},
	{"tls-key", "LOUPE_TLS_KEY_FILE", nil},
	{"tls-client-ca", "LOUPE_TLS_CLIENT_CA_FILE", nil},
	{"tls-verify-client", "LOUPE_TLS_VERIFY_CLIENT", nil},
	{"data-dir", "LOUPE_DATA_DIR", []string{"PHOENIX_WORKING_DIR"}},
	{"log-level", "LOUPE_LOG_LEVEL", []string{"PHOENIX_LOGGING_LEVEL"}},
	{"log-format", "LOUPE_LOG_FORMAT", nil},
	{"max-body-size", "LOUPE_MAX_BODY_SIZE", nil},
	{"grpc-max-recv-size", "LOUPE_GRPC_MAX_RECV_SIZE", nil},
	{"inflight-size", "LOUPE_INFLIGHT_SIZE", nil},
	{"queue-spans", "LOUPE_QUEUE_SPANS", []string{"PHOENIX_MAX_SPANS_QUEUE_SIZE"}},
	{"queue-size", "LOUPE_QUEUE_SIZE", nil},
	{"batch-spans", "LOUPE_BATCH_SPANS", nil},
	{"memory-limit", "LOUPE_MEMORY_LIMIT", nil},
	{"shutdown-timeout", "LOUPE_SHUTDOWN_TIMEOUT", nil},
	{"query-timeout", "LOUPE_QUERY_TIMEOUT", nil},
	{"prices", "LOUPE_PRICES", nil},
	{"database", "LOUPE_DATABASE_URL", []string{"PHOENIX_SQL_DATABASE_URL"}},
	{"clickhouse-cluster", "LOUPE_CLICKHOUSE_CLUSTER", nil},
	{"clickhouse-replicated", "LOUPE_CLICKHOUSE_REPLICATED", nil},
	{"retention-days", "LOUPE_RETENTION_DAYS", []string{"PHOENIX_DEFAULT_RETENTION_POLICY_DAYS"}},
	{"retention-traces", "LOUPE_RETENTION_TRACES", nil},
	{"retention-interval", "LOUPE_RETENTION_INTERVAL", nil},
	{"enable-auth", "LOUPE_ENABLE_AUTH", []string{"PHOENIX_ENABLE_AUTH"}},
	{"metrics-auth", "LOUPE_METRICS_AUTH", nil},
	{"secure-cookies", "LOUPE_SECURE_COOKIES", []string{"PHOENIX_USE_SECURE_COOKIES"}},
}

// RegisterFlags binds c's fields to flags on fs, with c's values as defaults.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTPAddr, "http-addr", c.HTTPAddr, "`host:port` for the UI, the REST API and OTLP/HTTP (env LOUPE_HTTP_ADDR; PHOENIX_HOST, PHOENIX_PORT)")
	fs.StringVar(&c.GRPCAddr, "grpc-addr", c.GRPCAddr, "`host:port` for OTLP/gRPC (env LOUPE_GRPC_ADDR; PHOENIX_HOST, PHOENIX_GRPC_PORT)")
	c.TLS.registerFlags(fs)
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "`directory` holding the SQLite database (env LOUPE_DATA_DIR; PHOENIX_WORKING_DIR)")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "log `level`: debug, info, warn or error (env LOUPE_LOG_LEVEL; PHOENIX_LOGGING_LEVEL)")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "log `format`: text or json (env LOUPE_LOG_FORMAT)")
	fs.Var(&c.MaxBodyBytes, "max-body-size", "largest OTLP/HTTP request body accepted, before and after decompression, e.g. 64MiB (env LOUPE_MAX_BODY_SIZE)")
	fs.Var(&c.GRPCMaxRecvBytes, "grpc-max-recv-size", "largest OTLP/gRPC message accepted, after decompression, e.g. 16MiB (env LOUPE_GRPC_MAX_RECV_SIZE)")
	fs.Var(&c.InflightBytes, "inflight-size", "memory the export requests being received or waiting to be decoded may hold at once, over both receivers, e.g. 64MiB; beyond it requests are refused with 503 (gRPC RESOURCE_EXHAUSTED) for the client to retry (env LOUPE_INFLIGHT_SIZE)")
	fs.IntVar(&c.QueueSpans, "queue-spans", c.QueueSpans, "spans accepted but not yet stored before new requests are refused with 503 (env LOUPE_QUEUE_SPANS; PHOENIX_MAX_SPANS_QUEUE_SIZE)")
	fs.Var(&c.QueueBytes, "queue-size", "memory the spans accepted but not yet stored may hold before new requests are refused, e.g. 64MiB (env LOUPE_QUEUE_SIZE)")
	fs.Var(&c.MemoryLimit, "memory-limit", "soft limit on the memory the Go runtime holds, which makes garbage collection keep up under load; SQLite's caches come on top; under a limit garbage is collected at GOGC 400 unless GOGC is set; 0 for none; GOMEMLIMIT, when set, wins (env LOUPE_MEMORY_LIMIT)")
	fs.IntVar(&c.BatchSpans, "batch-spans", c.BatchSpans, "most spans written in one transaction (env LOUPE_BATCH_SPANS)")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long to wait for in-flight requests on shutdown (env LOUPE_SHUTDOWN_TIMEOUT)")
	fs.DurationVar(&c.QueryTimeout, "query-timeout", c.QueryTimeout, "longest one read of the REST API or the UI may query the database: the query is cancelled there and the request answered 503; "+
		"30s is far above what a page costs at millions of spans and below the 60s after which common proxies give up; "+
		"a streamed answer (POST /v1/spans, traces with include_spans) gets it for each page it reads, not for the whole answer; 0 for none (env LOUPE_QUERY_TIMEOUT)")
	fs.StringVar(&c.Database, "database", c.Database, "database `URL`: postgres://user:password@host:5432/dbname (or postgresql://) for PostgreSQL, which several servers can share; clickhouse://user:password@host:9000/dbname for ClickHouse; sqlite:////absolute/path.db for a SQLite file; empty for SQLite in --data-dir (env LOUPE_DATABASE_URL; PHOENIX_SQL_DATABASE_URL)")
	fs.StringVar(&c.ClickHouseCluster, "clickhouse-cluster", c.ClickHouseCluster, "with a clickhouse:// --database, the `name` of the cluster (remote_servers) whose nodes hold the tables as local shards behind Distributed tables, sharded by trace id; empty for tables on one node (env LOUPE_CLICKHOUSE_CLUSTER)")
	fs.BoolVar(&c.ClickHouseReplicated, "clickhouse-replicated", c.ClickHouseReplicated, "with --clickhouse-cluster, create the local tables with the Replicated variants of their engines, for shards with replicas: needs ClickHouse Keeper and the shard and replica macros on every node (env LOUPE_CLICKHOUSE_REPLICATED)")
	fs.Var(&c.RetentionDays, "retention-days", "default retention policy: delete traces that started more than this many `days` ago, 0 to keep them; unset keeps the stored policy (env LOUPE_RETENTION_DAYS; PHOENIX_DEFAULT_RETENTION_POLICY_DAYS)")
	fs.Var(&c.RetentionTraces, "retention-traces", "default retention policy: keep only each project's newest `count` traces, 0 for all; unset keeps the stored policy (env LOUPE_RETENTION_TRACES)")
	fs.DurationVar(&c.RetentionInterval, "retention-interval", c.RetentionInterval, "how often retention policies are applied (env LOUPE_RETENTION_INTERVAL)")
	fs.BoolVar(&c.EnableAuth, "enable-auth", c.EnableAuth, "require an API key (Authorization: Bearer) or a login on every surface but /healthz, /readyz and /metrics; "+
		"needs LOUPE_SECRET (or PHOENIX_SECRET), at least 32 characters with a digit and a lower-case letter; LOUPE_ADMIN_SECRET (PHOENIX_ADMIN_SECRET) is a bearer token acting as the system; "+
		"the first start creates the user admin with the password PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD (admin unless set), to be changed at first login (env LOUPE_ENABLE_AUTH; PHOENIX_ENABLE_AUTH)")
	fs.BoolVar(&c.MetricsAuth, "metrics-auth", c.MetricsAuth, "with --enable-auth, /metrics wants an API key too (env LOUPE_METRICS_AUTH)")
	fs.BoolVar(&c.SecureCookies, "secure-cookies", c.SecureCookies, "mark the login cookie Secure even on plain HTTP, for a server behind a proxy that serves HTTPS (env LOUPE_SECURE_COOKIES; PHOENIX_USE_SECURE_COOKIES)")
	fs.StringVar(&c.PricesFile, "prices", c.PricesFile, "JSON `file` of model prices that add to or replace the built-in ones, laid out like internal/pricing/prices.json (env LOUPE_PRICES)")
}

// ApplyEnv sets every flag not given on the command line from its
// environment variable, LOUPE_* first, then the PHOENIX_* fallback.
func (c *Config) ApplyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for _, ev := range envVars {
		if set[ev.flag] {
			continue
		}
		name, val := ev.loupe, getenv(ev.loupe)
		for _, p := range ev.phoenix {
			if val == "" {
				name, val = p, getenv(p)
			}
		}
		if val == "" {
			continue
		}
		if err := fs.Set(ev.flag, val); err != nil {
			return fmt.Errorf("environment %s=%q: %w", name, val, err)
		}
	}
	for _, sv := range secretVars {
		sec := sv.field(c)
		for _, name := range sv.names {
			if v := getenv(name); v != "" && sec.From == "" {
				*sec = Secret{Value: v, From: name}
			}
		}
	}
	// Phoenix splits addresses into a host and ports.
	host := getenv("PHOENIX_HOST")
	if !set["http-addr"] && getenv("LOUPE_HTTP_ADDR") == "" {
		c.HTTPAddr = withHostPort(c.HTTPAddr, host, getenv("PHOENIX_PORT"))
	}
	if !set["grpc-addr"] && getenv("LOUPE_GRPC_ADDR") == "" {
		c.GRPCAddr = withHostPort(c.GRPCAddr, host, getenv("PHOENIX_GRPC_PORT"))
	}
	return c.TLS.applyPhoenixEnv(set, getenv)
}

func withHostPort(addr, host, port string) string {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if host != "" {
		h = host
	}
	if port != "" {
		p = port
	}
	return net.JoinHostPort(h, p)
}

// Validate checks the fields together.
func (c *Config) Validate() error {
	var errs []error
	for name, addr := range map[string]string{"--http-addr": c.HTTPAddr, "--grpc-addr": c.GRPCAddr} {
		if _, port, err := net.SplitHostPort(addr); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: want host:port", name, addr))
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: port must be a number from 0 to 65535", name, addr))
		}
	}
	errs = append(errs, c.TLS.validate()...)
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "warning", "error":
	default:
		errs = append(errs, fmt.Errorf("--log-level %q: use debug, info, warn or error", c.LogLevel))
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		errs = append(errs, fmt.Errorf("--log-format %q: use text or json", c.LogFormat))
	}
	if c.MaxBodyBytes <= 0 || c.GRPCMaxRecvBytes <= 0 || c.QueueBytes <= 0 || c.InflightBytes <= 0 {
		errs = append(errs, errors.New("sizes must be positive"))
	}
	if c.MemoryLimit < 0 {
		errs = append(errs, errors.New("--memory-limit must be 0 or positive"))
	}
	if c.QueueSpans <= 0 || c.BatchSpans <= 0 {
		errs = append(errs, errors.New("--queue-spans and --batch-spans must be positive"))
	}
	if _, err := parseDatabase(c.Database); err != nil {
		errs = append(errs, err)
	}
	if c.RetentionInterval <= 0 {
		errs = append(errs, errors.New("--retention-interval must be positive"))
	}
	if c.QueryTimeout < 0 {
		errs = append(errs, errors.New("--query-timeout must be 0 (none) or positive"))
	}
	errs = append(errs, c.validateAuth()...)
	return errors.Join(errs...)
}

// Size is a byte count written with an optional unit: 512, 64KiB, 64MiB, 1GiB (KB, MB, GB too).
type Size int64

func (s Size) String() string {
	for _, u := range []struct {
		n    Size
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if s >= u.n && s%u.n == 0 {
			return strconv.FormatInt(int64(s/u.n), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(s), 10)
}

// Set parses a size.
func (s *Size) Set(v string) error {
	v = strings.TrimSpace(v)
	units := []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("not a size: use a number of bytes with an optional unit, e.g. 64MiB")
	}
	*s = Size(n * mult)
	return nil
}

// validateAuth checks the secrets auth needs, naming the variable each
// came from.
func (c *Config) validateAuth() []error {
	if !c.EnableAuth {
		if c.MetricsAuth {
			return []error{errors.New("--metrics-auth needs --enable-auth (LOUPE_ENABLE_AUTH=true)")}
		}
		return nil
	}
	var errs []error
	if c.Secret.From == "" {
		errs = append(errs, errors.New("--enable-auth needs a secret: set LOUPE_SECRET (or PHOENIX_SECRET) to at least 32 characters with a digit and a lower-case letter"))
	} else if err := auth.ValidateSecret(c.Secret.Value); err != nil {
		errs = append(errs, fmt.Errorf("%s %w", c.Secret.From, err))
	}
	if a := c.AdminSecret; a.From != "" {
		if err := auth.ValidateSecret(a.Value); err != nil {
			errs = append(errs, fmt.Errorf("%s %w", a.From, err))
		} else if a.Value == c.Secret.Value {
			errs = append(errs, fmt.Errorf("%s must differ from %s", a.From, c.Secret.From))
		}
	}
	return errs
}

// exposedAddrs lists the listening addresses other machines may reach:
// any but loopback ones.
func (c *Config) exposedAddrs() []string {
	var out []string
	for _, addr := range []string{c.HTTPAddr, c.GRPCAddr} {
		host, _, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		if host == "localhost" {
			continue
		}
		if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
			continue
		}
		out = append(out, addr)
	}
	return out
}
