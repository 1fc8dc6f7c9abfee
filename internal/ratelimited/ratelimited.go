// Package ratelimited logs failures that repeat many times a second while
// something is down, such as every write during a database outage, without
// flooding the log: the first failure in full, then at most one line an
// interval saying how many more there were and what the last one said, and
// one line when it recovers.
package ratelimited

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is the least time between two lines about one failure.
const DefaultInterval = 10 * time.Second

// A Logger rate-limits each of its messages on its own: a message names a
// kind of failure, and its arguments (the error among them) say what this
// one was. The zero Logger logs nothing; set Log. It is safe for
// concurrent use.
type Logger struct {
	Log      *slog.Logger
	Interval time.Duration    // DefaultInterval when 0
	Now      func() time.Time // time.Now when nil

	mu   sync.Mutex
	runs map[string]*run
}

// run is a message's failures since the first one, which was logged in full.
type run struct {
	since    time.Time // the first failure
	logged   time.Time // the last line
	failures int64     // since the first, counting it
	unlogged int64     // since the last line
}

// Error logs msg at level Error, unless a line about msg was logged less
// than an interval ago: then it only counts it, for the next line.
func (l *Logger) Error(msg string, args ...any) { l.log(slog.LevelError, msg, args) }

// Warn is Error at level Warn.
func (l *Logger) Warn(msg string, args ...any) { l.log(slog.LevelWarn, msg, args) }

func (l *Logger) log(level slog.Level, msg string, args []any) {
	if l.Log == nil {
		return
	}
	now := l.now()
	l.mu.Lock()
	r := l.runs[msg]
	if r == nil {
		if l.runs == nil {
			l.runs = make(map[string]*run)
		}
		l.runs[msg] = &run{since: now, logged: now, failures: 1}
		l.mu.Unlock()
		l.Log.Log(context.Background(), level, msg, args...)
		return
	}
	r.failures++
	since := now.Sub(r.logged)
	if since < l.interval() {
		r.unlogged++
		l.mu.Unlock()
		return
	}
	suppressed := r.unlogged
	r.logged, r.unlogged = now, 0
	l.mu.Unlock()
	if suppressed > 0 {
		args = append(args[:len(args):len(args)], "suppressed", suppressed, "over", round(since))
	}
	l.Log.Log(context.Background(), level, msg, args...)
}

// Recovered ends msg's failures, if it has any, with one line at level
// Info saying how long they went on and how many there were; the next
// failure is logged in full again.
func (l *Logger) Recovered(msg string) {
	if l.Log == nil {
		return
	}
	now := l.now()
	l.mu.Lock()
	r := l.runs[msg]
	delete(l.runs, msg)
	l.mu.Unlock()
	if r == nil {
		return
	}
	l.Log.Info(fmt.Sprintf("%s: recovered after %s; %d failed meanwhile", msg, round(now.Sub(r.since)), r.failures))
}

// Failing reports whether msg has failed since it last recovered.
func (l *Logger) Failing(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.runs[msg] != nil
}

func (l *Logger) interval() time.Duration {
	if l.Interval > 0 {
		return l.Interval
	}
	return DefaultInterval
}

func (l *Logger) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// round keeps a tenth of a second: "12.3s".
func round(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}
