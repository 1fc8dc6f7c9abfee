package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/loupe-dev/loupe/internal/store"
)

// transient reports whether err is a failure that may pass without anything
// changing in Loupe: the disk full or failing, the database locked by
// another process for longer than busy_timeout, a file that cannot be
// opened now. Corruption, constraint violations, misuse and anything else
// that would fail again the same way are not.
func transient(err error) bool {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return transientCode(se.Code())
	}
	// The write-ahead log is synced outside SQLite (wal.go), whose failures
	// are the system's.
	var errno syscall.Errno
	if errors.As(err, &errno) {
		switch errno {
		case syscall.ENOSPC, syscall.EDQUOT, syscall.EIO:
			return true
		}
	}
	return false
}

// transientCode reports whether a SQLite result code is a failure that may
// pass. Extended codes (SQLITE_IOERR_FSYNC, SQLITE_BUSY_SNAPSHOT, …) carry
// their primary code in the low byte.
func transientCode(code int) bool {
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_IOERR,
		sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL:
		return true
	}
	return false
}

// classify marks a transient err as store.ErrUnavailable and returns any
// other error unchanged: database/sql compares some driver errors
// (driver.ErrSkip, io.EOF) by identity.
func classify(err error) error {
	if err == nil || !transient(err) {
		return err
	}
	return store.Unavailable(err)
}

// openDB opens a pool of connections to dsn whose errors pass through
// classify, so that every read and write of the store, and of the
// background work beside it, tells a failure that may pass from one that
// will not, wherever it happens.
func openDB(dsn string) (*sql.DB, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(classifyingConnector{c}), nil
}

// The types below wrap the driver's and implement the same optional
// interfaces it does, no more: database/sql chooses its paths by them.
var (
	_ driver.Connector          = classifyingConnector{}
	_ driver.ConnBeginTx        = (*classifiedConn)(nil)
	_ driver.ConnPrepareContext = (*classifiedConn)(nil)
	_ driver.ExecerContext      = (*classifiedConn)(nil)
	_ driver.QueryerContext     = (*classifiedConn)(nil)
	_ driver.Pinger             = (*classifiedConn)(nil)
	_ driver.SessionResetter    = (*classifiedConn)(nil)
	_ driver.Validator          = (*classifiedConn)(nil)
	_ driver.StmtExecContext    = (*classifiedStmt)(nil)
	_ driver.StmtQueryContext   = (*classifiedStmt)(nil)

	_ driver.RowsColumnTypeDatabaseTypeName = (*classifiedRows)(nil)
	_ driver.RowsColumnTypeLength           = (*classifiedRows)(nil)
	_ driver.RowsColumnTypeNullable         = (*classifiedRows)(nil)
	_ driver.RowsColumnTypePrecisionScale   = (*classifiedRows)(nil)
	_ driver.RowsColumnTypeScanType         = (*classifiedRows)(nil)
)

// driverConn is what the driver's connections offer.
type driverConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

type driverStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

type driverRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

type classifyingConnector struct{ driver.Connector }

func (c classifyingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	dc, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, classify(err)
	}
	// The log and its index outlive the connections, the log emptied:
	// a server started again on a full disk reads through the index it
	// could not have created.
	if p, ok := dc.(interface {
		FileControlPersistWAL(string, int) (int, error)
	}); ok {
		if _, err := p.FileControlPersistWAL("main", 1); err != nil {
			dc.Close()
			return nil, classify(err)
		}
	}
	return &classifiedConn{dc.(driverConn)}, nil
}

type classifiedConn struct{ c driverConn }

func (c *classifiedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *classifiedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	st, err := c.c.PrepareContext(ctx, query)
	if err != nil {
		return nil, classify(err)
	}
	return &classifiedStmt{st.(driverStmt)}, nil
}

func (c *classifiedConn) Close() error { return classify(c.c.Close()) }

func (c *classifiedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *classifiedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t, err := c.c.BeginTx(ctx, opts)
	if err != nil {
		return nil, classify(err)
	}
	return classifiedTx{t}, nil
}

func (c *classifiedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	r, err := c.c.ExecContext(ctx, query, args)
	return r, classify(err)
}

func (c *classifiedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	r, err := c.c.QueryContext(ctx, query, args)
	if err != nil {
		return nil, classify(err)
	}
	return &classifiedRows{r.(driverRows)}, nil
}

func (c *classifiedConn) Ping(ctx context.Context) error         { return classify(c.c.Ping(ctx)) }
func (c *classifiedConn) ResetSession(ctx context.Context) error { return c.c.ResetSession(ctx) }
func (c *classifiedConn) IsValid() bool                          { return c.c.IsValid() }
func (t classifiedTx) Commit() error                             { return classify(t.t.Commit()) }
func (t classifiedTx) Rollback() error                           { return classify(t.t.Rollback()) }
func (s *classifiedStmt) Close() error                           { return classify(s.s.Close()) }
func (s *classifiedStmt) NumInput() int                          { return s.s.NumInput() }
func (r *classifiedRows) Columns() []string                      { return r.r.Columns() }
func (r *classifiedRows) Close() error                           { return classify(r.r.Close()) }
func (r *classifiedRows) Next(dest []driver.Value) error         { return classify(r.r.Next(dest)) }
func (r *classifiedRows) ColumnTypeDatabaseTypeName(i int) string {
	return r.r.ColumnTypeDatabaseTypeName(i)
}
func (r *classifiedRows) ColumnTypeLength(i int) (int64, bool)  { return r.r.ColumnTypeLength(i) }
func (r *classifiedRows) ColumnTypeNullable(i int) (bool, bool) { return r.r.ColumnTypeNullable(i) }
func (r *classifiedRows) ColumnTypePrecisionScale(i int) (int64, int64, bool) {
	return r.r.ColumnTypePrecisionScale(i)
}
func (r *classifiedRows) ColumnTypeScanType(i int) reflect.Type { return r.r.ColumnTypeScanType(i) }

type classifiedTx struct{ t driver.Tx }

type classifiedStmt struct{ s driverStmt }

func (s *classifiedStmt) Exec(args []driver.Value) (driver.Result, error) {
	return s.ExecContext(context.Background(), named(args))
}

func (s *classifiedStmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.QueryContext(context.Background(), named(args))
}

func (s *classifiedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	r, err := s.s.ExecContext(ctx, args)
	return r, classify(err)
}

func (s *classifiedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	r, err := s.s.QueryContext(ctx, args)
	if err != nil {
		return nil, classify(err)
	}
	return &classifiedRows{r.(driverRows)}, nil
}

type classifiedRows struct{ r driverRows }

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}
