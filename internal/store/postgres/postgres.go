// Package postgres is Loupe's PostgreSQL storage backend, for production and
// for several servers sharing one database.
//
// Servers are stateless: everything they share lives in the database. Each
// write transaction locks the rows it changes in one global order: new
// projects by name, traces by trace id, sessions by session id, usage
// roll-ups and models by key, then projects by id. Servers ingesting spans
// of the same traces at once therefore wait for each other instead of
// losing updates, and roll-ups are moved by deltas computed under those
// locks. A transaction PostgreSQL aborts anyway (a deadlock, a serialization
// failure) is run again.
package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"runtime"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// Store is the PostgreSQL backend. It is safe for concurrent use, by any
// number of goroutines and of processes.
type Store struct {
	pool dbPool
	log  *slog.Logger

	// Only ids of committed rows enter these caches: an id from a rolled
	// back transaction names nothing.
	projects idCache
	origins  idCache
}

var _ store.Store = (*Store)(nil)

// defaultConnectTimeout bounds a connection attempt when the URL does not.
const defaultConnectTimeout = 5 * time.Second

// Open connects to the database at url (postgres:// or postgresql://, with
// libpq's parameters), applies the migrations it lacks and makes sure the
// default project exists.
func Open(ctx context.Context, url string, log *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database URL %s: %w", Redact(url), err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		// One writer and the readers of the UI and the API; pgx's default
		// (the number of CPUs, at least 4) starves reads on small machines.
		cfg.MaxConns = int32(max(8, 2*runtime.GOMAXPROCS(0)))
	}
	if !strings.Contains(url, "connect_timeout") {
		// Without it, a server that drops packets holds the writer for the
		// system's TCP timeout, minutes, before its batch is failed.
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", Redact(url), err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to %s: %w", Redact(url), err)
	}
	s := &Store{pool: dbPool{pool}, log: log}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.fillErrorGroups(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO projects (name, created_at, updated_at) VALUES ($1, $2, $2)
		ON CONFLICT (name) DO NOTHING`, span.DefaultProject, nowNanos()); err != nil {
		pool.Close()
		return nil, fmt.Errorf("create the default project: %w", err)
	}
	return s, nil
}

// Redact returns url without its password, for logs and errors.
func Redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a database URL that does not parse)"
	}
	return u.Redacted()
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	return s.pool.Ping(ctx)
}

// Close closes the connections.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}
