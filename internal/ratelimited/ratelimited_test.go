package ratelimited

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a time the test moves.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLogger() (*Logger, *clock, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	return &Logger{Log: slog.New(h), Now: c.now}, c, &buf
}

// lines returns what was logged since the last call.
func lines(buf *bytes.Buffer) []string {
	out := strings.Split(strings.TrimSpace(buf.String()), "\n")
	buf.Reset()
	if len(out) == 1 && out[0] == "" {
		return nil
	}
	return out
}

func TestOutage(t *testing.T) {
	l, c, buf := newLogger()
	// A 12.3 s outage, a failure every millisecond.
	for i := range 12_300 {
		l.Error("write spans", "spans", 10, "err", fmt.Errorf("failure %d", i+1))
		c.advance(time.Millisecond)
	}
	l.Recovered("write spans")
	want := []string{
		`level=ERROR msg="write spans" spans=10 err="failure 1"`,
		`level=ERROR msg="write spans" spans=10 err="failure 10001" suppressed=9999 over=10s`,
		`level=INFO msg="write spans: recovered after 12.3s; 12300 failed meanwhile"`,
	}
	got := lines(buf)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// After recovering, the next failure is logged in full again.
	l.Error("write spans", "err", errors.New("again"))
	if got := lines(buf); len(got) != 1 || got[0] != `level=ERROR msg="write spans" err=again` {
		t.Errorf("first failure after recovery logged as %q", got)
	}
}

func TestLongOutageLogsOncePerInterval(t *testing.T) {
	l, c, buf := newLogger()
	l.Interval = 5 * time.Second
	for range 60 {
		l.Warn("index spans for search", "err", "disk full")
		c.advance(time.Second)
	}
	got := lines(buf)
	if len(got) != 12 {
		t.Fatalf("a minute of failures every second with a 5 s interval logged %d lines, want 12:\n%s", len(got), strings.Join(got, "\n"))
	}
	if want := `level=WARN msg="index spans for search" err="disk full" suppressed=4 over=5s`; got[1] != want {
		t.Errorf("second line = %s, want %s", got[1], want)
	}
}

func TestMessagesAreLimitedApart(t *testing.T) {
	l, c, buf := newLogger()
	for range 3 {
		l.Error("api request failed", "err", "a")
		l.Error("ui request failed", "err", "b")
		c.advance(time.Second)
	}
	if got := lines(buf); len(got) != 2 {
		t.Errorf("two messages failing three times each logged %d lines, want 2: %q", len(got), got)
	}
	l.Recovered("api request failed")
	if !l.Failing("ui request failed") || l.Failing("api request failed") {
		t.Error("one message's recovery ended the other's failures")
	}
	if got := lines(buf); len(got) != 1 || !strings.Contains(got[0], "api request failed: recovered after 3s; 3 failed meanwhile") {
		t.Errorf("recovery logged %q", got)
	}
}

func TestQuietWithoutFailures(t *testing.T) {
	l, _, buf := newLogger()
	l.Recovered("write spans")
	if got := lines(buf); got != nil {
		t.Errorf("recovery without failures logged %q", got)
	}
	var zero Logger
	zero.Error("nothing", "err", "x") // no Log: nothing, no panic
	zero.Recovered("nothing")
}

func TestConcurrent(t *testing.T) {
	l, c, buf := newLogger()
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 1000 {
				l.Error("write spans", "err", "x")
			}
		}()
	}
	wg.Wait()
	c.advance(time.Minute)
	l.Recovered("write spans")
	got := lines(buf)
	if len(got) != 2 || !strings.Contains(got[1], "8000 failed meanwhile") {
		t.Errorf("8000 concurrent failures logged:\n%s", strings.Join(got, "\n"))
	}
}
