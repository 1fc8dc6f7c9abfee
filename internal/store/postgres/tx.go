package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// maxAttempts bounds the tries of a transaction PostgreSQL keeps aborting.
const maxAttempts = 8

// inTx runs fn in a transaction and commits it. A transaction aborted by a
// deadlock or a serialization failure, or that lost a race with another
// server (a trace or project deleted under it), is run again after a
// randomised, growing pause; fn must therefore start from scratch each time
// it is called.
func (s *Store) inTx(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err == nil {
			return nil
		}
		// SafeToRetry: the statement never reached the server, as on a
		// pooled connection found closed since a restart.
		retry := retryable(err) || errors.Is(err, errTraceVanished) || pgconn.SafeToRetry(err)
		if errors.Is(err, errStaleProject) {
			// Another server deleted a project this one had cached.
			s.projects.forget()
			retry = true
		}
		if !retry || attempt == maxAttempts {
			return fmt.Errorf("%s: %w", what, err)
		}
		pause := time.Duration(rand.Int64N(int64(5*time.Millisecond) << attempt))
		s.log.Debug("transaction aborted by a concurrent one; retrying", "what", what, "attempt", attempt, "pause", pause, "err", err)
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what, err)
		case <-time.After(pause):
		}
	}
}

// retryable reports whether err aborted a transaction that may succeed when
// run again: a serialization failure or a deadlock.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40001" || pgErr.Code == "40P01"
}

// isForeignKeyViolation reports whether err is a foreign key violation,
// optionally on the named constraint.
func isForeignKeyViolation(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23503" && (constraint == "" || pgErr.ConstraintName == constraint)
}

// errStaleProject marks a write that named a project id no longer stored.
var errStaleProject = errors.New("project was deleted")

// idCache maps names to row ids so the hot path skips a query.
type idCache struct {
	mu   sync.Mutex
	byID map[string]int64
}

func (c *idCache) get(key string) (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.byID[key]
	return id, ok
}

func (c *idCache) putAll(m map[string]int64) {
	if len(m) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byID == nil {
		c.byID = make(map[string]int64, len(m))
	}
	for k, v := range m {
		c.byID[k] = v
	}
}

func (c *idCache) forget() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.byID = nil
}
