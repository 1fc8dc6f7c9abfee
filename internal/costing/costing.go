// Package costing keeps the price table Loupe prices spans with: the
// built-in prices, a user file, and user prices set through the API (kept
// in the database), and recomputes stored costs when prices change.
package costing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/loupe-dev/loupe/internal/pricing"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// ErrInvalidPrices marks price entries that do not validate; the message says which and why.
var ErrInvalidPrices = errors.New("invalid price entries")

// settingKey holds the user's price entries set through the API.
const settingKey = "model_prices"

// Store is where the service keeps the prices set through the API, and
// whose spans it prices again when they change.
type Store interface {
	store.Settings
	Models(ctx context.Context) ([]store.ModelUsage, error)
	RecomputeCosts(ctx context.Context, models []string, price func(*span.Span), progress func(store.RecomputeResult)) (store.RecomputeResult, error)
}

// Service prices spans and manages price changes. It is safe for concurrent use.
type Service struct {
	store Store
	file  []pricing.Entry // from --prices, read at start
	log   *slog.Logger

	table atomic.Pointer[pricing.Table]
	api   atomic.Pointer[[]pricing.Entry]

	mu      sync.Mutex
	status  Status
	pending chan []string // models to recompute
}

// Status describes the latest recompute.
type Status struct {
	Running  bool      `json:"running"`
	Models   []string  `json:"models"`
	Scanned  int64     `json:"scanned_spans"`
	Changed  int64     `json:"changed_spans"`
	Started  time.Time `json:"started_at,omitzero"`
	Finished time.Time `json:"finished_at,omitzero"`
	Error    string    `json:"error,omitempty"`
}

// New builds the table from the built-in prices, fileEntries and the
// entries stored in the database.
func New(ctx context.Context, st Store, fileEntries []pricing.Entry, log *slog.Logger) (*Service, error) {
	s := &Service{store: st, file: fileEntries, log: log, pending: make(chan []string, 16)}
	apiEntries, err := s.storedEntries(ctx)
	if err != nil {
		return nil, err
	}
	t, err := pricing.New(append(append([]pricing.Entry{}, fileEntries...), apiEntries...))
	if err != nil {
		return nil, fmt.Errorf("build price table: %w", err)
	}
	s.table.Store(t)
	s.api.Store(&apiEntries)
	return s, nil
}

func (s *Service) storedEntries(ctx context.Context) ([]pricing.Entry, error) {
	raw, ok, err := s.store.Setting(ctx, settingKey)
	if err != nil || !ok {
		return nil, err
	}
	entries, err := pricing.Parse([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("stored model prices: %w", err)
	}
	return entries, nil
}

// PriceSpan sets the span's cost from the current table.
func (s *Service) PriceSpan(sp *span.Span) { s.table.Load().PriceSpan(sp) }

// Table is the current price table.
func (s *Service) Table() *pricing.Table { return s.table.Load() }

// APIEntries are the user entries set through the API.
func (s *Service) APIEntries() []pricing.Entry { return *s.api.Load() }

// SetAPIEntries replaces the user entries set through the API, stores them,
// swaps the table, and queues a recompute of the models whose price changed.
// It returns those models.
func (s *Service) SetAPIEntries(ctx context.Context, entries []pricing.Entry) ([]string, error) {
	for i := range entries {
		entries[i].Origin = ""
	}
	next, err := pricing.New(append(append([]pricing.Entry{}, s.file...), entries...))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidPrices, err)
	}
	doc, err := json.Marshal(map[string]any{"entries": entries})
	if err != nil {
		return nil, err
	}
	if err := s.store.PutSetting(ctx, settingKey, string(doc)); err != nil {
		return nil, err
	}
	prev := s.table.Swap(next)
	s.api.Store(&entries)
	changed, err := s.changedModels(ctx, prev, next)
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		select {
		case s.pending <- changed:
		default:
			return changed, fmt.Errorf("too many recomputes queued; try again shortly")
		}
	}
	return changed, nil
}

// changedModels lists the models seen whose matching price entry differs
// between two tables.
func (s *Service) changedModels(ctx context.Context, prev, next *pricing.Table) ([]string, error) {
	models, err := s.store.Models(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, m := range models {
		a, _ := prev.Lookup(m.ModelName, m.Provider)
		b, _ := next.Lookup(m.ModelName, m.Provider)
		if !sameEntry(a, b) && !seen[m.ModelName] {
			seen[m.ModelName] = true
			out = append(out, m.ModelName)
		}
	}
	return out, nil
}

func sameEntry(a, b *pricing.Entry) bool {
	if a == nil || b == nil {
		return a == b
	}
	x, y := *a, *b
	x.Origin, y.Origin = "", ""
	return reflect.DeepEqual(x, y)
}

// Recompute queues a recompute of the named models with the current table.
func (s *Service) Recompute(models []string) error {
	select {
	case s.pending <- models:
		return nil
	default:
		return fmt.Errorf("too many recomputes queued; try again shortly")
	}
}

// Status reports the latest recompute.
func (s *Service) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.status
	st.Models = append([]string(nil), st.Models...)
	return st
}

// Run performs queued recomputes until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case models := <-s.pending:
			s.recompute(ctx, models)
		}
	}
}

func (s *Service) recompute(ctx context.Context, models []string) {
	s.mu.Lock()
	s.status = Status{Running: true, Models: models, Started: time.Now()}
	s.mu.Unlock()
	res, err := s.store.RecomputeCosts(ctx, models, s.PriceSpan, func(r store.RecomputeResult) {
		s.mu.Lock()
		s.status.Scanned, s.status.Changed = r.Scanned, r.Changed
		s.mu.Unlock()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status.Running = false
	s.status.Finished = time.Now()
	s.status.Scanned, s.status.Changed = res.Scanned, res.Changed
	if err != nil {
		s.status.Error = err.Error()
		s.log.Error("recompute costs", "models", models, "err", err)
		return
	}
	s.log.Info("recomputed costs", "models", models, "spans", res.Scanned, "changed", res.Changed)
}
