package store

import "context"

// Retention keeps the database bounded and says what it holds.
type Retention interface {
	// RetentionPolicy returns the policy that applies to a project: its own,
	// else the default (Inherited set). DefaultPolicy asks for the default
	// itself. With no policy stored anywhere it is the zero policy.
	RetentionPolicy(ctx context.Context, projectID int64) (RetentionPolicy, error)
	// SetRetentionPolicy gives a project (or, with DefaultPolicy, every
	// project without one) a policy; Inherited is ignored.
	SetRetentionPolicy(ctx context.Context, projectID int64, p RetentionPolicy) error
	// DeleteRetentionPolicy makes a project follow the default again.
	DeleteRetentionPolicy(ctx context.Context, projectID int64) error
	// RetentionPolicies returns every stored policy by project id, the
	// default under DefaultPolicy.
	RetentionPolicies(ctx context.Context) (map[int64]RetentionPolicy, error)
	// DeleteTraces deletes, in one transaction, at most d.Limit of a
	// project's oldest traces among those d selects, with their spans and
	// annotations. Sessions left without traces are deleted; the others'
	// roll-ups are recomputed from the traces they keep.
	DeleteTraces(ctx context.Context, d TraceDeletion) (Deleted, error)
	// StorageReport says how much the database holds, per project, and how
	// it grew over the days before q.Now.
	StorageReport(ctx context.Context, q StorageQuery) (StorageReport, error)
}

// DefaultPolicy is the project id under which the default policy is stored.
const DefaultPolicy int64 = 0

// RetentionPolicy bounds what is kept of a project's traces. A zero field
// sets no bound; the zero policy keeps everything.
type RetentionPolicy struct {
	MaxDays   float64 // traces that started longer ago are deleted
	MaxTraces int64   // only the newest this many traces (by start time) are kept
	Inherited bool    // the project has no policy of its own: this is the default
}

// Keeps reports whether the policy keeps everything.
func (p RetentionPolicy) Keeps() bool { return p.MaxDays <= 0 && p.MaxTraces <= 0 }

// TraceDeletion selects a project's traces to delete: those that started
// before StartedBefore, and those older than its KeepNewest newest ones
// (ordered by start time, then row id). Zero fields select nothing.
type TraceDeletion struct {
	ProjectID     int64
	StartedBefore int64 // unix ns
	KeepNewest    int64
	// StartedFrom, when not zero, keeps to the selected traces that started
	// at or after it: with StartedBefore, the range [StartedFrom,
	// StartedBefore) that DELETE /v1/projects/{id}/traces names.
	StartedFrom int64
	Limit       int // at most this many traces; must be positive
}

// Deleted counts what a deletion removed.
type Deleted struct {
	Traces, Spans, Sessions int64
}

// StorageQuery asks for a storage report.
type StorageQuery struct {
	Now  int64 // unix ns; growth is counted over the Days before it
	Days int
}

// StorageReport is what the database holds.
type StorageReport struct {
	// DatabaseBytes is the space Loupe's tables and indexes take.
	DatabaseBytes int64
	Traces, Spans int64
	Projects      []ProjectStorage // by project id
}

// ProjectStorage is one project's share of the database.
type ProjectStorage struct {
	ProjectID     int64
	Name          string
	Traces, Spans int64
	// EstimatedBytes is DatabaseBytes shared out by span count: the space
	// the project's data takes if its spans are of average size.
	EstimatedBytes int64
	// Daily counts the spans of the traces that started on each UTC day
	// of the report's range, oldest first, one entry per day (zero too).
	Daily []DayCount
}

// DayCount is the number of spans stored for one UTC day.
type DayCount struct {
	Day   int64 // unix ns of the day's midnight, UTC
	Spans int64
}

// Day is a day's length in unix nanoseconds.
const Day int64 = 86_400_000_000_000

// Days returns the UTC midnights of the days days up to and including
// now's, oldest first.
func Days(now int64, days int) []int64 {
	today := now - now%Day
	out := make([]int64, days)
	for i := range out {
		out[i] = today - int64(days-1-i)*Day
	}
	return out
}

// EstimateBytes shares total out by each project's span count.
func EstimateBytes(r *StorageReport) {
	if r.Spans == 0 {
		return
	}
	for i := range r.Projects {
		p := &r.Projects[i]
		p.EstimatedBytes = int64(float64(r.DatabaseBytes) * float64(p.Spans) / float64(r.Spans))
	}
}
