// Package clickhouse is Loupe's ClickHouse storage backend, for span volumes
// one PostgreSQL primary cannot take, on one node or sharded over a cluster.
//
// Servers are stateless, as on PostgreSQL. ClickHouse has no transactions
// and no row locks, so the design differs (docs/CLICKHOUSE.md): row ids are
// hashes of the identities they name, computed by the server, so that a
// re-sent span or trace lands on the row it had and ReplacingMergeTree keeps
// one; small mutable state (projects, traces' and sessions' identities,
// settings) is versioned rows read with FINAL; roll-ups are the deltas
// package rollup works out, summed by AggregatingMergeTree tables.
package clickhouse

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// Store is the ClickHouse backend, safe for concurrent use by any number of
// goroutines and processes.
type Store struct {
	conn    driver.Conn
	log     *slog.Logger
	db      string
	cluster string // "" for single-node tables
	// replicated: the cluster's local tables are Replicated*MergeTree.
	replicated bool
	opts       *ch.Options // to reach every node of the cluster (deletes)

	mu       sync.Mutex
	projects map[string]int64 // names known to exist
}

var _ store.Store = (*Store)(nil)

// Config is what Open needs beyond the URL.
type Config struct {
	// Cluster names the cluster (remote_servers) whose nodes hold the
	// tables as local MergeTree shards behind Distributed tables; the URL's
	// cluster parameter sets it too. Empty: single-node tables.
	Cluster string
	// Replicated creates the cluster's local tables with the Replicated
	// variants of their engines, for shards with replicas (Keeper and the
	// {shard} and {replica} macros on every node); the URL's replicated
	// parameter sets it too. It needs a cluster.
	Replicated bool
}

// ParseURL splits a clickhouse://user:pass@host:9000/db?cluster=NAME&replicated=1
// URL into the driver's options and the Config its parameters name.
func ParseURL(raw string) (*ch.Options, Config, error) {
	var cfg Config
	u, err := url.Parse(raw)
	if err != nil {
		return nil, cfg, fmt.Errorf("database URL %s: %w", Redact(raw), err)
	}
	q := u.Query()
	cfg.Cluster = q.Get("cluster")
	if v := q.Get("replicated"); v != "" {
		if cfg.Replicated, err = strconv.ParseBool(v); err != nil {
			return nil, cfg, fmt.Errorf("database URL %s: replicated=%s: want 1 or 0 (true or false)", Redact(raw), v)
		}
	}
	q.Del("cluster")
	q.Del("replicated")
	u.RawQuery = q.Encode()
	opts, err := ch.ParseDSN(u.String())
	if err != nil {
		return nil, cfg, fmt.Errorf("database URL %s: %w", Redact(raw), err)
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = "default"
	}
	return opts, cfg, nil
}

// errReplicatedNeedsCluster refuses replicated tables on one node: a
// Replicated table's replicas are found through the cluster's macros and
// Keeper, which a single node is not configured with.
var errReplicatedNeedsCluster = errors.New("--clickhouse-replicated (the database URL's replicated parameter) needs a cluster: set --clickhouse-cluster (or the URL's cluster parameter) too")

// Redact returns the URL without its password, for logs.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "clickhouse://…"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Open connects to the ClickHouse a URL names, creates or migrates the
// tables (on every node of the cluster in cluster mode) and makes sure the
// default project exists.
func Open(ctx context.Context, rawURL string, cfg Config, log *slog.Logger) (*Store, error) {
	opts, fromURL, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	cluster := fromURL.Cluster
	if cfg.Cluster != "" {
		cluster = cfg.Cluster
	}
	replicated := cfg.Replicated || fromURL.Replicated
	if replicated && cluster == "" {
		return nil, errReplicatedNeedsCluster
	}
	if opts.DialTimeout == 0 || opts.DialTimeout == 30*time.Second {
		opts.DialTimeout = 5 * time.Second
	}
	opts.MaxOpenConns = max(opts.MaxOpenConns, 16)
	if cluster != "" {
		// A trace's row, roll-ups and spans share a shard (sharded by trace
		// id), so subqueries and joins over them run shard by shard.
		if opts.Settings == nil {
			opts.Settings = ch.Settings{}
		}
		opts.Settings["distributed_product_mode"] = "local"
	}
	conn, err := ch.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", Redact(rawURL), err)
	}
	s := &Store{conn: conn, log: log, db: opts.Auth.Database, cluster: cluster, replicated: replicated, opts: opts, projects: map[string]int64{}}
	if err := s.conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(rawURL), classify(ctx, err))
	}
	if err := s.migrate(ctx, opts); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := s.ensureProjects(ctx, []string{span.DefaultProject}, nowNanos()); err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return classify(ctx, s.conn.Ping(ctx)) }

// Close closes the connections.
func (s *Store) Close() error { return s.conn.Close() }

// Cluster is the cluster the tables are sharded over, "" for one node.
func (s *Store) Cluster() string { return s.cluster }

// Replicated reports whether the cluster's tables are Replicated ones.
func (s *Store) Replicated() bool { return s.replicated }

// rowID is the row id of an identity: 63 bits of its SHA-256, never 0, so
// that every server computes the same id for the same trace or span and a
// re-sent one replaces its row instead of adding one.
func rowID(parts ...string) int64 {
	h := sha256.New()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		io.WriteString(h, p)
	}
	var sum [32]byte
	id := int64(binary.BigEndian.Uint64(h.Sum(sum[:0])) >> 1)
	if id == 0 {
		id = 1
	}
	return id
}

func spanRowID(traceID, spanID string) int64 { return rowID("span", traceID, spanID) }
func traceRowID(traceID string) int64        { return rowID("trace", traceID) }
func sessionRowID(sessionID string) int64    { return rowID("session", sessionID) }
func projectRowID(name string) int64         { return rowID("project", name) }

func nowNanos() int64 { return time.Now().UnixNano() }

// transient reports whether err may pass without anything changing in
// Loupe: the server unreachable, restarting or out of resources.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ex *proto.Exception
	if errors.As(err, &ex) {
		switch ex.Code {
		case 159, // TIMEOUT_EXCEEDED
			164, // READONLY
			202, // TOO_MANY_SIMULTANEOUS_QUERIES
			203, // NO_FREE_CONNECTION
			209, // SOCKET_TIMEOUT
			210, // NETWORK_ERROR
			241, // MEMORY_LIMIT_EXCEEDED
			242, // TABLE_IS_READ_ONLY
			243, // NOT_ENOUGH_SPACE
			252, // TOO_MANY_PARTS
			279, // ALL_CONNECTION_TRIES_FAILED
			394, // QUERY_WAS_CANCELLED (server shutting down)
			425, // SYSTEM_ERROR
			999: // KEEPER_EXCEPTION
			return true
		}
		return false
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, ch.ErrAcquireConnTimeout) ||
		strings.Contains(err.Error(), "connection refused")
}

// classify marks a transient err as store.ErrUnavailable; an error that
// comes with ctx done is the caller's deadline, left as it is.
func classify(ctx context.Context, err error) error {
	if err != nil {
		err = deadlineError(ctx, err)
	}
	if err == nil || ctx.Err() != nil || !transient(err) {
		return err
	}
	return store.Unavailable(err)
}
