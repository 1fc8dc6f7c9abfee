package postgres

import (
	"context"
	"errors"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/loupe-dev/loupe/internal/store"
)

// transient reports whether err is a failure that may pass without anything
// changing in Loupe: the server unreachable, restarting or shutting down,
// out of disk, memory or connections, a connection lost, or a transaction
// aborted by a concurrent one. Errors in what was asked (a bad statement,
// a violated constraint) and refused credentials are not.
func transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	// The server's own answer first: a refused login arrives inside a
	// connect error, and is not a failure that passes.
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return transientState(pgErr.Code)
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return true
	}
	var netErr net.Error
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err) || errors.As(err, &netErr) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

// transientState reports whether a SQLSTATE names a failure that may pass.
func transientState(code string) bool {
	if len(code) != 5 {
		return false
	}
	switch code[:2] {
	case "08": // connection exception
		return true
	case "53": // insufficient resources: disk full, out of memory, too many connections
		return true
	}
	switch code {
	case "57P01", // admin_shutdown: the server is stopping or restarting
		"57P02", // crash_shutdown: another backend crashed
		"57P03", // cannot_connect_now: starting up or in recovery
		"57P05", // idle_session_timeout: the connection was closed
		"40001", // serialization_failure
		"40P01": // deadlock_detected
		return true
	}
	return false
}

// classify marks a transient err as store.ErrUnavailable. An error that
// comes with ctx done is the caller's deadline or cancellation, which is
// theirs to answer, and is left as it is.
func classify(ctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || !transient(err) {
		return err
	}
	return store.Unavailable(err)
}

// dbPool is the store's pgxpool, through which every statement's error passes
// classify: the rows, rows of a batch and transactions it hands out do the
// same.
type dbPool struct{ *pgxpool.Pool }

func (p dbPool) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := p.Pool.Exec(ctx, sql, args...)
	return tag, classify(ctx, err)
}

func (p dbPool) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := p.Pool.Query(ctx, sql, args...)
	if err != nil {
		return r, classify(ctx, err)
	}
	return dbRows{r, ctx}, nil
}

func (p dbPool) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return dbRow{p.Pool.QueryRow(ctx, sql, args...), ctx}
}

func (p dbPool) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return dbBatch{p.Pool.SendBatch(ctx, b), ctx}
}

func (p dbPool) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := p.Pool.CopyFrom(ctx, table, columns, src)
	return n, classify(ctx, err)
}

func (p dbPool) Begin(ctx context.Context) (pgx.Tx, error) {
	t, err := p.Pool.Begin(ctx)
	if err != nil {
		return nil, classify(ctx, err)
	}
	return dbTx{t}, nil
}

func (p dbPool) BeginTx(ctx context.Context, opts pgx.TxOptions) (pgx.Tx, error) {
	t, err := p.Pool.BeginTx(ctx, opts)
	if err != nil {
		return nil, classify(ctx, err)
	}
	return dbTx{t}, nil
}

func (p dbPool) Ping(ctx context.Context) error { return classify(ctx, p.Pool.Ping(ctx)) }

// Acquire hands out a connection of the pool as it is, for the migrations.
func (p dbPool) Acquire(ctx context.Context) (*pgxpool.Conn, error) {
	c, err := p.Pool.Acquire(ctx)
	return c, classify(ctx, err)
}

type dbRows struct {
	pgx.Rows
	ctx context.Context
}

func (r dbRows) Err() error { return classify(r.ctx, r.Rows.Err()) }

type dbRow struct {
	pgx.Row
	ctx context.Context
}

func (r dbRow) Scan(dest ...any) error { return classify(r.ctx, r.Row.Scan(dest...)) }

type dbBatch struct {
	pgx.BatchResults
	ctx context.Context
}

func (b dbBatch) Exec() (pgconn.CommandTag, error) {
	tag, err := b.BatchResults.Exec()
	return tag, classify(b.ctx, err)
}

func (b dbBatch) Query() (pgx.Rows, error) {
	r, err := b.BatchResults.Query()
	if err != nil {
		return r, classify(b.ctx, err)
	}
	return dbRows{r, b.ctx}, nil
}

func (b dbBatch) QueryRow() pgx.Row { return dbRow{b.BatchResults.QueryRow(), b.ctx} }

func (b dbBatch) Close() error { return classify(b.ctx, b.BatchResults.Close()) }

// dbTx is a transaction of the pool; its Conn is the connection as it is.
type dbTx struct{ pgx.Tx }

func (t dbTx) Begin(ctx context.Context) (pgx.Tx, error) {
	inner, err := t.Tx.Begin(ctx)
	if err != nil {
		return nil, classify(ctx, err)
	}
	return dbTx{inner}, nil
}

func (t dbTx) Commit(ctx context.Context) error   { return classify(ctx, t.Tx.Commit(ctx)) }
func (t dbTx) Rollback(ctx context.Context) error { return classify(ctx, t.Tx.Rollback(ctx)) }

func (t dbTx) CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error) {
	n, err := t.Tx.CopyFrom(ctx, table, columns, src)
	return n, classify(ctx, err)
}

func (t dbTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return dbBatch{t.Tx.SendBatch(ctx, b), ctx}
}

func (t dbTx) Prepare(ctx context.Context, name, sql string) (*pgconn.StatementDescription, error) {
	d, err := t.Tx.Prepare(ctx, name, sql)
	return d, classify(ctx, err)
}

func (t dbTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := t.Tx.Exec(ctx, sql, args...)
	return tag, classify(ctx, err)
}

func (t dbTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	r, err := t.Tx.Query(ctx, sql, args...)
	if err != nil {
		return r, classify(ctx, err)
	}
	return dbRows{r, ctx}, nil
}

func (t dbTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return dbRow{t.Tx.QueryRow(ctx, sql, args...), ctx}
}
