package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/loupe-dev/loupe/internal/store"
)

// TestTransient lists the failures that may pass, as PostgreSQL and pgx
// report them, and failures that would happen again.
func TestTransient(t *testing.T) {
	ctx := context.Background()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().String()
	ln.Close()
	_, refused := pgconn.Connect(ctx, fmt.Sprintf("postgres://loupe@%s/loupe?connect_timeout=5", closedPort))
	if refused == nil {
		t.Fatal("connected to a closed port")
	}
	pg := func(code string) error { return &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"} }
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"08006 connection failure", pg("08006"), true},
		{"08001 cannot connect", pg("08001"), true},
		{"53100 disk full", pg("53100"), true},
		{"53200 out of memory", pg("53200"), true},
		{"53300 too many connections", pg("53300"), true},
		{"57P01 admin shutdown", pg("57P01"), true},
		{"57P02 crash shutdown", pg("57P02"), true},
		{"57P03 cannot connect now", pg("57P03"), true},
		{"57P05 idle session timeout", pg("57P05"), true},
		{"40001 serialization failure", pg("40001"), true},
		{"40P01 deadlock", pg("40P01"), true},
		{"wrapped 53100", fmt.Errorf("insert spans: %w", pg("53100")), true},
		{"42601 syntax error", pg("42601"), false},
		{"23505 unique violation", pg("23505"), false},
		{"23503 foreign key violation", pg("23503"), false},
		{"22P02 invalid text", pg("22P02"), false},
		{"28P01 password refused", pg("28P01"), false},
		{"3D000 no such database", pg("3D000"), false},
		{"57014 statement timeout", pg("57014"), false},
		{"25006 read-only transaction", pg("25006"), false},
		{"connection refused", refused, true},
		{"dial error", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, true},
		{"connection lost mid-answer", fmt.Errorf("receive message: %w", io.ErrUnexpectedEOF), true},
		{"closed connection", fmt.Errorf("query: %w", pgconn.ErrConnClosed), true},
		{"no rows", pgx.ErrNoRows, false},
		{"cancelled", context.Canceled, false},
		{"other", errors.New("something else"), false},
		{"nil", nil, false},
	}
	for _, tc := range tests {
		if got := transient(tc.err); got != tc.want {
			t.Errorf("%s: transient(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
		if got := errors.Is(classify(ctx, tc.err), store.ErrUnavailable); got != tc.want {
			t.Errorf("%s: classify(%v) is ErrUnavailable: %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
	// A request whose own deadline passed gets its error as it is: the
	// caller answers a timeout, not an outage.
	done, cancel := context.WithTimeout(ctx, time.Nanosecond)
	defer cancel()
	<-done.Done()
	if err := classify(done, refused); errors.Is(err, store.ErrUnavailable) {
		t.Errorf("classify with the caller's deadline passed = %v, want the error as it is", err)
	}
}
