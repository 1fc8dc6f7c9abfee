package auth

import (
	"errors"
	"math"
	"sync"
	"time"
)

// LoginLimits bound password guessing. Failed logins count against the
// name tried and against the client's address; successful ones cost
// nothing, so a person who types their password right is never held up.
type LoginLimits struct {
	// PerLogin failures of one username or email within Window block it
	// until Window has passed since the last of them (Phoenix: 5 in 5 min).
	PerLogin int
	Window   time.Duration
	// An address may fail PerAddress times at once, and then once every
	// AddressInterval: a guesser trying many names from one place.
	PerAddress      int
	AddressInterval time.Duration
}

// DefaultLoginLimits are Phoenix's for one login name, and for one address
// its rate of 0.2 attempts a second after a burst.
var DefaultLoginLimits = LoginLimits{PerLogin: 5, Window: 5 * time.Minute, PerAddress: 20, AddressInterval: 5 * time.Second}

// ErrTooManyAttempts is wrapped by a *LimitError.
var ErrTooManyAttempts = errors.New("too many failed login attempts")

// LimitError refuses a login attempt; RetryAfter says when to try again.
type LimitError struct{ RetryAfter time.Duration }

func (e *LimitError) Error() string {
	return "Too many failed login attempts. Please try again later."
}

func (e *LimitError) Unwrap() error { return ErrTooManyAttempts }

// RetryAfterSeconds is RetryAfter rounded up, for a Retry-After header.
func (e *LimitError) RetryAfterSeconds() int {
	return int(math.Ceil(e.RetryAfter.Seconds()))
}

// maxTracked bounds the memory of each limiter's map: beyond it, entries
// that no longer limit anything are dropped, and if the map is still full,
// about half of it is forgotten: an attacker with that many addresses is
// not stopped by a per-address limit anyway, and the per-login limit
// still holds for the entries kept.
const maxTracked = 100_000

// loginLimiter tracks failed logins.
type loginLimiter struct {
	limits LoginLimits
	mu     sync.Mutex
	logins map[string]*loginFailures
	addrs  map[string]*bucket
}

type loginFailures struct {
	count int
	last  time.Time
}

// bucket is a token bucket: tokens at time at, refilled one per interval.
type bucket struct {
	tokens float64
	at     time.Time
}

func newLoginLimiter(l LoginLimits) *loginLimiter {
	return &loginLimiter{limits: l, logins: map[string]*loginFailures{}, addrs: map[string]*bucket{}}
}

// check returns a *LimitError when login or addr may not try now.
func (l *loginLimiter) check(login, addr string, now time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if f := l.logins[login]; f != nil && f.count >= l.limits.PerLogin {
		if wait := f.last.Add(l.limits.Window).Sub(now); wait > 0 {
			return &LimitError{RetryAfter: wait}
		}
		delete(l.logins, login)
	}
	if b := l.addrs[addr]; b != nil && l.fill(b, now) < 1 {
		return &LimitError{RetryAfter: time.Duration((1 - b.tokens) * float64(l.limits.AddressInterval))}
	}
	return nil
}

// fill brings b's tokens up to now.
func (l *loginLimiter) fill(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.at); d > 0 {
		b.tokens = math.Min(float64(l.limits.PerAddress), b.tokens+float64(d)/float64(l.limits.AddressInterval))
		b.at = now
	}
	return b.tokens
}

// failed counts a failed attempt.
func (l *loginLimiter) failed(login, addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.logins[login]
	if f == nil || now.Sub(f.last) > l.limits.Window {
		if len(l.logins) >= maxTracked {
			l.pruneLogins(now)
		}
		f = &loginFailures{}
		l.logins[login] = f
	}
	f.count++
	f.last = now
	b := l.addrs[addr]
	if b == nil {
		if len(l.addrs) >= maxTracked {
			l.pruneAddrs(now)
		}
		b = &bucket{tokens: float64(l.limits.PerAddress), at: now}
		l.addrs[addr] = b
	}
	l.fill(b, now)
	b.tokens--
}

// succeeded forgets login's failures.
func (l *loginLimiter) succeeded(login string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.logins, login)
}

func (l *loginLimiter) pruneLogins(now time.Time) {
	for k, f := range l.logins {
		if now.Sub(f.last) > l.limits.Window {
			delete(l.logins, k)
		}
	}
	dropHalf(l.logins)
}

func (l *loginLimiter) pruneAddrs(now time.Time) {
	for k, b := range l.addrs {
		if l.fill(b, now) >= float64(l.limits.PerAddress) {
			delete(l.addrs, k)
		}
	}
	dropHalf(l.addrs)
}

// dropHalf forgets about half of a map still full after pruning.
func dropHalf[V any](m map[string]V) {
	if len(m) < maxTracked {
		return
	}
	n := 0
	for k := range m {
		if n%2 == 0 {
			delete(m, k)
		}
		n++
	}
}
