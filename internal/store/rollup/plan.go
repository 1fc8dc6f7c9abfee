package rollup

import (
	"slices"

	"github.com/loupe-dev/loupe/internal/span"
)

// Reader reads the stored spans a batch's roll-ups depend on, in the
// batch's transaction.
type Reader interface {
	Tree
	// Calls reads stored model calls with what the sums need of them: the
	// trace and span ids, the start time, and the view's kind, model,
	// provider, user.id, prompt template version, tokens and cost.
	Calls(keys []Key) ([]*span.Span, error)
	// UserlessCalls reads, as Calls does, a trace's counted calls stored
	// without a user.id of their own.
	UserlessCalls(traceID string) ([]*span.Span, error)
}

// TraceInfo is what the roll-ups need to know of a trace of the batch.
type TraceInfo struct {
	Project int64
	// Fresh is set when the batch creates the trace: nothing of it is stored.
	Fresh bool
	// UserBefore and User are the trace's user (the first user.id stored on
	// it) before and after the batch, "" for none.
	UserBefore, User string
}

// Plan is what a batch changes in the roll-ups. Backends store each new
// span's state (Counting.New, Unknown when absent), set the stored spans of
// Counting.Wrapped to Wrapper and of Counting.Marked to Above, add Traces to
// the sums of traces and their sessions, and Sums to the usage roll-ups and
// the models seen.
type Plan struct {
	*Counting
	Traces map[string]*Delta // by trace id; traces the batch leaves as they were are absent
	Sums   *Sums
}

// NewPlan works out the plan of a batch of new spans, each once and none
// stored before. traces describes each trace of the batch; clean, when set,
// adjusts the text of usage keys to what the backend can store.
func NewPlan(spans []*span.Span, traces func(traceID string) TraceInfo, r Reader, clean func(string) string) (*Plan, error) {
	c, err := Count(spans, func(id string) bool { return traces(id).Fresh }, r)
	if err != nil {
		return nil, err
	}
	p := &Plan{Counting: c, Traces: map[string]*Delta{}, Sums: NewSums(clean)}
	delta := func(traceID string) *Delta {
		d := p.Traces[traceID]
		if d == nil {
			d = &Delta{}
			p.Traces[traceID] = d
		}
		return d
	}
	userOf := func(sp *span.Span, t TraceInfo) string {
		if sp.View.UserID != "" {
			return sp.View.UserID
		}
		return t.User
	}
	var gainUser []string
	seen := map[string]bool{}
	for _, sp := range spans {
		t := traces(sp.TraceID)
		switch c.New[sp] {
		case Counted:
			delta(sp.TraceID).Add(sp, 1)
			p.Sums.Add(sp, t.Project, userOf(sp, t), 1)
		case Wrapper:
			p.Sums.Seen(sp)
		}
		if !seen[sp.TraceID] {
			seen[sp.TraceID] = true
			if !t.Fresh && t.UserBefore == "" && t.User != "" {
				gainUser = append(gainUser, sp.TraceID)
			}
		}
	}
	// Read before the wrapped calls are: a call wrapped now was counted
	// under the trace's user when it gains one, and leaves it again below.
	slices.Sort(gainUser)
	for _, id := range gainUser {
		calls, err := r.UserlessCalls(id)
		if err != nil {
			return nil, err
		}
		t := traces(id)
		for _, call := range calls {
			p.Sums.AddUser(call, t.Project, t.User)
		}
	}
	if len(c.Wrapped) > 0 {
		calls, err := r.Calls(c.Wrapped)
		if err != nil {
			return nil, err
		}
		for _, call := range calls {
			t := traces(call.TraceID)
			delta(call.TraceID).Add(call, -1)
			p.Sums.Add(call, t.Project, userOf(call, t), -1)
		}
	}
	return p, nil
}

// Uncounted are the new spans that a count of calls kept as they arrive,
// and never taken back (Prometheus' counters), leaves out: wrappers, and
// calls that take the place of a wrapper counted before them.
func (p *Plan) Uncounted() map[*span.Span]bool {
	out := map[*span.Span]bool{}
	for sp, st := range p.New {
		if st == Wrapper || p.Replacing[sp] {
			out[sp] = true
		}
	}
	return out
}
