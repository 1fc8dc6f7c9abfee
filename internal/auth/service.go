package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loupe-dev/loupe/internal/ratelimited"
	"github.com/loupe-dev/loupe/internal/store"
)

// Config configures a Service.
type Config struct {
	// Secret keys the HMAC of every stored token; ValidateSecret checks it.
	Secret string
	// AdminSecret, when set, is a bearer token that acts as the system.
	AdminSecret string
	// InitialAdminPassword is the first admin's ("admin" when empty), to be
	// changed at first login.
	InitialAdminPassword string
	// Limits bound failed logins; DefaultLoginLimits when zero.
	Limits LoginLimits
	// PollInterval is how often Run reads the auth generation; a second
	// when 0. It bounds how long another server's revocation takes here.
	PollInterval time.Duration
	// LoginPath is the UI's login page, where page requests without a
	// session are sent; "/login" when empty.
	LoginPath string
	// SecureCookies marks the session cookie Secure even on requests that
	// did not arrive over TLS here, as behind a proxy that ends TLS.
	SecureCookies bool
	Log           *slog.Logger
	Now           func() time.Time // time.Now when nil; for tests
}

// Session lifetimes: a session ends after a day unused, and a week after
// login whatever its use.
const (
	SessionIdle     = 24 * time.Hour
	SessionLifetime = 7 * 24 * time.Hour
)

const (
	// touchEvery is how stale a session's last-seen time may get, and
	// flushEvery how often keys' last-used times are written: each key and
	// session costs at most one write a minute.
	touchEvery = time.Minute
	flushEvery = time.Minute
	// sweepEvery is how often expired sessions are deleted.
	sweepEvery = 10 * time.Minute
	// staleAfter polls missed, the key cache is not trusted: a revocation
	// elsewhere might not have been seen.
	staleAfter = 5
	// maxCached keys are held at most; beyond, the cache starts again.
	maxCached = 100_000
)

// DefaultAdmin is the user the first start creates, as Phoenix names it.
const (
	DefaultAdminUsername = "admin"
	DefaultAdminEmail    = "admin@localhost"
)

// Service authenticates and manages users, keys and sessions. It is safe
// for concurrent use.
type Service struct {
	st       store.AuthStore
	cfg      Config
	h        hasher
	adminSum []byte // the admin secret's HMAC, nil when none
	limiter  *loginLimiter
	log      *slog.Logger
	errs     ratelimited.Logger
	now      func() time.Time

	cache      keyCache
	generation atomic.Int64
	polledAt   atomic.Int64 // unix ns of the last successful poll, 0 before

	usedMu sync.Mutex
	used   map[int64]int64 // key id → last use (unix ns), not yet written
}

// New makes a Service over st. The secret must pass ValidateSecret.
func New(st store.AuthStore, cfg Config) (*Service, error) {
	if err := ValidateSecret(cfg.Secret); err != nil {
		return nil, fmt.Errorf("secret %w", err)
	}
	if cfg.AdminSecret != "" {
		if err := ValidateSecret(cfg.AdminSecret); err != nil {
			return nil, fmt.Errorf("admin secret %w", err)
		}
		if cfg.AdminSecret == cfg.Secret {
			return nil, errors.New("the admin secret must differ from the secret")
		}
	}
	if cfg.InitialAdminPassword == "" {
		cfg.InitialAdminPassword = "admin"
	}
	if cfg.Limits == (LoginLimits{}) {
		cfg.Limits = DefaultLoginLimits
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.LoginPath == "" {
		cfg.LoginPath = "/login"
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Service{st: st, cfg: cfg, h: newHasher(cfg.Secret), limiter: newLoginLimiter(cfg.Limits),
		log: cfg.Log, now: cfg.Now, used: map[int64]int64{}}
	s.errs.Log = cfg.Log
	if cfg.AdminSecret != "" {
		s.adminSum = s.h.sum(cfg.AdminSecret)
	}
	s.cache.entries = map[[32]byte]*Principal{}
	return s, nil
}

// Bootstrap creates the first admin when there is no user at all, with
// the initial password, to be changed at first login. Servers starting
// together on one database create it once.
func (s *Service) Bootstrap(ctx context.Context) error {
	n, err := s.st.CountUsers(ctx)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	if n > 0 {
		return nil
	}
	hash, err := hashPassword(s.cfg.InitialAdminPassword)
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	_, err = s.st.CreateUser(ctx, store.User{Username: DefaultAdminUsername, Email: DefaultAdminEmail, Role: string(RoleAdmin),
		PasswordHash: hash, MustChangePassword: true})
	if errors.Is(err, store.ErrConflict) {
		return nil // another server made it
	}
	if err != nil {
		return fmt.Errorf("create the first admin: %w", err)
	}
	s.log.Info(fmt.Sprintf("created the first admin: log in as %q with the initial password (PHOENIX_DEFAULT_ADMIN_INITIAL_PASSWORD, \"admin\" unless set) and choose a new one", DefaultAdminUsername))
	return nil
}

// Run keeps the key cache in step with the database, writes when keys were
// last used and deletes expired sessions, until ctx is done.
func (s *Service) Run(ctx context.Context) error {
	s.poll(ctx)
	tick := time.NewTicker(s.cfg.PollInterval)
	defer tick.Stop()
	lastFlush, lastSweep := s.now(), time.Time{}
	for {
		select {
		case <-ctx.Done():
			// What was used since the last flush is written on the way out.
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			s.flushUsed(fctx)
			cancel()
			return nil
		case <-tick.C:
		}
		s.poll(ctx)
		now := s.now()
		if now.Sub(lastFlush) >= flushEvery {
			s.flushUsed(ctx)
			lastFlush = now
		}
		if now.Sub(lastSweep) >= sweepEvery {
			s.sweepSessions(ctx, now)
			lastSweep = now
		}
	}
}

// poll reads the auth generation, and drops the key cache when it moved.
func (s *Service) poll(ctx context.Context) {
	g, err := s.st.AuthGeneration(ctx)
	if err != nil {
		if ctx.Err() == nil {
			s.errs.Warn("auth: read the auth generation; keys are verified against the database until it answers", "err", err)
		}
		return
	}
	if g != s.generation.Load() {
		s.cache.clear()
		s.generation.Store(g)
	}
	s.polledAt.Store(s.now().UnixNano())
}

// fresh reports whether the cache has been checked against the database
// recently enough to be trusted.
func (s *Service) fresh(now time.Time) bool {
	at := s.polledAt.Load()
	return at != 0 && now.UnixNano()-at < int64(staleAfter*s.cfg.PollInterval)
}

func (s *Service) flushUsed(ctx context.Context) {
	s.usedMu.Lock()
	used := s.used
	s.used = map[int64]int64{}
	s.usedMu.Unlock()
	if len(used) == 0 {
		return
	}
	if err := s.st.TouchAPIKeys(ctx, used); err != nil && ctx.Err() == nil {
		s.errs.Warn("auth: record when API keys were last used", "err", err)
	}
}

func (s *Service) noteUse(p *Principal, now time.Time) {
	if p.Kind != KindAPIKey {
		return
	}
	s.usedMu.Lock()
	s.used[p.KeyID] = now.UnixNano()
	s.usedMu.Unlock()
}

func (s *Service) sweepSessions(ctx context.Context, now time.Time) {
	n, err := s.st.DeleteExpiredLoginSessions(ctx, now.Add(-SessionIdle).UnixNano(), now.Add(-SessionLifetime).UnixNano())
	if err != nil {
		if ctx.Err() == nil {
			s.errs.Warn("auth: delete expired login sessions", "err", err)
		}
		return
	}
	if n > 0 {
		s.log.Debug("deleted expired login sessions", "count", n)
	}
}

// keyCache maps verified keys' hashes to their principals. epoch counts
// the clears, so that a lookup begun before a clear does not put back
// what the clear removed.
type keyCache struct {
	mu      sync.RWMutex
	epoch   uint64
	entries map[[32]byte]*Principal
}

func (c *keyCache) get(k [32]byte) (*Principal, bool) {
	c.mu.RLock()
	p, ok := c.entries[k]
	c.mu.RUnlock()
	return p, ok
}

func (c *keyCache) currentEpoch() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.epoch
}

func (c *keyCache) put(k [32]byte, p *Principal, epoch uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return
	}
	if len(c.entries) >= maxCached {
		c.entries = map[[32]byte]*Principal{}
	}
	c.entries[k] = p
}

func (c *keyCache) clear() {
	c.mu.Lock()
	c.epoch++
	c.entries = map[[32]byte]*Principal{}
	c.mu.Unlock()
}

var systemPrincipal = &Principal{Kind: KindSystem, Role: RoleSystem}

// VerifyToken returns the principal of a bearer token: an API key, or the
// admin secret. A refused token gets an error wrapping
// ErrUnauthenticated; any other error (the database is unavailable, say)
// is not the client's fault and should be answered as retryable.
func (s *Service) VerifyToken(ctx context.Context, token string) (*Principal, error) {
	if token == "" {
		return nil, errNoCredentials
	}
	sum := s.h.sum(token)
	if s.adminSum != nil && subtle.ConstantTimeCompare(sum, s.adminSum) == 1 {
		return systemPrincipal, nil
	}
	if !strings.HasPrefix(token, KeyPrefix) {
		return nil, errInvalidToken
	}
	now := s.now()
	k := [32]byte(sum)
	if s.fresh(now) {
		if p, ok := s.cache.get(k); ok {
			return s.accept(p, now)
		}
	}
	epoch := s.cache.currentEpoch()
	key, err := s.st.APIKeyByHash(ctx, sum)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("verify API key: %w", err)
	}
	p := keyPrincipal(key)
	s.cache.put(k, p, epoch)
	return s.accept(p, now)
}

func (s *Service) accept(p *Principal, now time.Time) (*Principal, error) {
	if p.expiresAt != 0 && now.UnixNano() >= p.expiresAt {
		return nil, errExpiredToken
	}
	s.noteUse(p, now)
	return p, nil
}

func keyPrincipal(k store.APIKey) *Principal {
	p := &Principal{Kind: KindAPIKey, Role: RoleSystem, KeyID: k.ID, KeyName: k.Name, expiresAt: k.ExpiresAt}
	if !k.System() {
		p.Role, p.UserID, p.Username = Role(k.UserRole), k.UserID, k.Username
	}
	return p
}

// forget drops every cached key after a change here that may take one's
// power away; the other servers see the change through the generation.
func (s *Service) forget() { s.cache.clear() }
