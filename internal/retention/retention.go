// Package retention deletes what retention policies no longer keep: a
// background sweeper that works in small transactions with pauses between
// them, so that ingest and reads go on while it runs.
package retention

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// Store is what the sweeper needs of a store.
type Store interface {
	Projects(ctx context.Context, q store.ProjectQuery) ([]store.Project, error)
	store.Retention
}

// Defaults for a Sweeper's zero fields.
const (
	DefaultInterval = time.Hour
	DefaultBatch    = 1000
	DefaultPause    = 100 * time.Millisecond
)

// Sweeper applies the stored retention policies every Interval.
type Sweeper struct {
	Store    Store
	Log      *slog.Logger
	Interval time.Duration // between sweeps
	Batch    int           // traces deleted per transaction
	Pause    time.Duration // between transactions
	Now      func() time.Time
}

// Run sweeps at once, then every Interval, until ctx is done. A failed
// sweep is logged and tried again at the next one.
func (s *Sweeper) Run(ctx context.Context) error {
	interval := cmp.Or(s.Interval, DefaultInterval)
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		}
		if _, err := s.Sweep(ctx); err != nil && ctx.Err() == nil {
			s.Log.Error("retention sweep failed; trying again at the next one", "err", err, "next", interval)
		}
		timer.Reset(interval)
	}
}

// Sweep applies every project's policy once and reports what it deleted.
func (s *Sweeper) Sweep(ctx context.Context) (store.Deleted, error) {
	var total store.Deleted
	policies, err := s.Store.RetentionPolicies(ctx)
	if err != nil {
		return total, err
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	var after int64
	for {
		projects, err := s.Store.Projects(ctx, store.ProjectQuery{AfterID: after, Limit: 500})
		if err != nil {
			return total, fmt.Errorf("list projects: %w", err)
		}
		for _, p := range projects {
			policy, own := policies[p.ID]
			if !own {
				policy = policies[store.DefaultPolicy]
			}
			del, err := s.apply(ctx, p, policy, now)
			add(&total, del)
			if err != nil {
				return total, fmt.Errorf("apply the retention policy of project %q: %w", p.Name, err)
			}
		}
		if len(projects) < 500 {
			return total, nil
		}
		// Projects come highest id first; the next page starts below.
		after = projects[len(projects)-1].ID - 1
		if after <= 0 {
			return total, nil
		}
	}
}

// apply deletes a project's expired traces, batch after batch.
func (s *Sweeper) apply(ctx context.Context, p store.Project, policy store.RetentionPolicy, now time.Time) (store.Deleted, error) {
	var total store.Deleted
	if policy.Keeps() {
		return total, nil
	}
	d := store.TraceDeletion{ProjectID: p.ID, KeepNewest: policy.MaxTraces, Limit: cmp.Or(s.Batch, DefaultBatch)}
	if policy.MaxDays > 0 {
		d.StartedBefore = now.UnixNano() - int64(policy.MaxDays*float64(store.Day))
	}
	for {
		del, err := s.Store.DeleteTraces(ctx, d)
		if err != nil {
			return total, err
		}
		add(&total, del)
		if del.Traces < int64(d.Limit) {
			break
		}
		select {
		case <-ctx.Done():
			return total, ctx.Err()
		case <-time.After(cmp.Or(s.Pause, DefaultPause)):
		}
	}
	if total.Traces > 0 {
		s.Log.Info("retention deleted expired traces", "project", p.Name, "traces", total.Traces,
			"spans", total.Spans, "sessions", total.Sessions, "max_days", policy.MaxDays, "max_traces", policy.MaxTraces)
	}
	return total, nil
}

func add(total *store.Deleted, d store.Deleted) {
	total.Traces += d.Traces
	total.Spans += d.Spans
	total.Sessions += d.Sessions
}
