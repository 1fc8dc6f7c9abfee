package postgres_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

// TestOutage cuts the store off from PostgreSQL, through a proxy the test
// controls, then lets it reach the server again: meanwhile writes, reads
// and pings fail as store.ErrUnavailable; after, the pool reconnects by
// itself and the failed batch is stored once.
func TestOutage(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr
	s := open(t, u.String())
	ctx := context.Background()
	spans := func(trace int) []span.Span {
		return []span.Span{testSpan(trace, 0), testSpan(trace, 1), testSpan(trace, 2)}
	}
	if _, err := s.WriteSpans(ctx, spans(1)); err != nil {
		t.Fatal(err)
	}

	proxy.cut()
	for _, op := range []struct {
		name string
		run  func() error
	}{
		{"write", func() error { _, err := s.WriteSpans(ctx, spans(2)); return err }},
		{"read", func() error { _, err := s.Projects(ctx, store.ProjectQuery{Limit: 10}); return err }},
		{"read one", func() error { _, err := s.Trace(ctx, testSpan(1, 0).TraceID); return err }},
		{"manage", func() error { _, err := s.CreateProject(ctx, "new", ""); return err }},
		{"ping", func() error { return s.Ping(ctx) }},
		{"check writable", func() error { return s.CheckWritable(ctx) }},
	} {
		err := op.run()
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("%s while PostgreSQL is unreachable = %v, want ErrUnavailable", op.name, err)
		}
	}

	proxy.restore()
	if err := s.CheckWritable(ctx); err != nil {
		t.Errorf("CheckWritable once PostgreSQL is back: %v", err)
	}
	res, err := s.WriteSpans(ctx, spans(2))
	if err != nil {
		t.Fatalf("write once PostgreSQL is back: %v", err)
	}
	if res.Inserted != 3 || res.Duplicates != 0 {
		t.Errorf("write once PostgreSQL is back: %+v, want 3 inserted", res)
	}
	tr, err := s.Trace(ctx, testSpan(2, 0).TraceID)
	if err != nil || tr.SpanCount != 3 {
		t.Errorf("trace written after the outage: %d spans, %v; want 3", tr.SpanCount, err)
	}
}

// TestRestart stops and starts a PostgreSQL of the test's own under the
// store: while it is down, writes and reads fail as ErrUnavailable; once
// it is up, the pool's new connections serve them, the batch that failed
// is stored once, and no statement cached on the old connections is
// tried again.
func TestRestart(t *testing.T) {
	c := pgtest.NewCluster(t)
	s := open(t, c.URL)
	ctx := context.Background()
	batch := func(trace int) []span.Span {
		return []span.Span{testSpan(trace, 0), testSpan(trace, 1), testSpan(trace, 2)}
	}
	// Enough to have the pool's statements prepared on several connections.
	for i := range 20 {
		if _, err := s.WriteSpans(ctx, batch(i)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Trace(ctx, testSpan(i, 0).TraceID); err != nil {
			t.Fatal(err)
		}
	}
	c.Stop(t)
	if _, err := s.WriteSpans(ctx, batch(100)); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("write while PostgreSQL is stopped = %v, want ErrUnavailable", err)
	}
	if _, err := s.Trace(ctx, testSpan(1, 0).TraceID); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("read while PostgreSQL is stopped = %v, want ErrUnavailable", err)
	}
	if err := s.CheckWritable(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("CheckWritable while PostgreSQL is stopped = %v, want ErrUnavailable", err)
	}
	c.Start(t)
	res, err := s.WriteSpans(ctx, batch(100))
	if err != nil || res.Inserted != 3 {
		t.Fatalf("write once PostgreSQL is back: %+v, %v", res, err)
	}
	for i := range 20 {
		if tr, err := s.Trace(ctx, testSpan(i, 0).TraceID); err != nil || tr.SpanCount != 3 {
			t.Errorf("trace %d once PostgreSQL is back: %d spans, %v", i, tr.SpanCount, err)
		}
	}
	if _, err := s.WriteSpans(ctx, batch(101)); err != nil {
		t.Errorf("next write: %v", err)
	}
}

// TestConnectionTerminated ends the store's only connection from the
// server's side, as a restart does: the next statement on it fails as
// ErrUnavailable, and the one after runs on a new connection.
func TestConnectionTerminated(t *testing.T) {
	name := fmt.Sprintf("loupe_terminated_%d", time.Now().UnixNano())
	s := open(t, pgtest.URL(t)+"&pool_max_conns=1&application_name="+name)
	ctx := context.Background()
	if _, err := s.WriteSpans(ctx, []span.Span{testSpan(1, 0)}); err != nil {
		t.Fatal(err)
	}
	admin, err := pgx.Connect(ctx, pgtest.BaseURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	tag, err := admin.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, name)
	if err != nil {
		t.Fatal(err)
	}
	if tag.RowsAffected() != 1 {
		t.Fatalf("ended %d connections of the store, want its one", tag.RowsAffected())
	}
	_, err = s.Projects(ctx, store.ProjectQuery{Limit: 10})
	if !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("read on the ended connection = %v, want ErrUnavailable", err)
	}
	if _, err := s.Projects(ctx, store.ProjectQuery{Limit: 10}); err != nil {
		t.Errorf("read after the connection ended: %v", err)
	}
	if _, err := s.WriteSpans(ctx, []span.Span{testSpan(1, 1)}); err != nil {
		t.Errorf("write after the connection ended: %v", err)
	}
}

// proxy forwards TCP connections to PostgreSQL until cut.
type proxy struct {
	t      *testing.T
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *proxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every connection: new ones are refused.
func (p *proxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// restore listens again on the same address.
func (p *proxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}
