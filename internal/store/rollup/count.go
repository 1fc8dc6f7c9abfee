package rollup

import (
	"slices"

	"github.com/loupe-dev/loupe/internal/span"
)

// State is what a stored span is to the counting of model calls (see the
// package documentation). Backends store it with the span, Unknown as NULL.
type State int8

const (
	// Unknown: not a model call, and no model call is known below it.
	Unknown State = 0
	// Counted: a model call whose usage is in the roll-ups.
	Counted State = 1
	// Wrapper: a model call with a model call below it, whose usage is
	// counted there rather than here.
	Wrapper State = 2
	// Above: not a model call, with a model call below it.
	Above State = 3
)

// Valid reports whether s is one of the states.
func (s State) Valid() bool { return s >= Unknown && s <= Above }

// Key names a span: its id is unique within its trace.
type Key struct{ TraceID, SpanID string }

// KeyOf is the key of sp.
func KeyOf(sp *span.Span) Key { return Key{sp.TraceID, sp.SpanID} }

// Unique returns the first of each span of a batch, in order, and how many
// repeats it left out.
func Unique(spans []span.Span) (unique []*span.Span, repeats int) {
	seen := make(map[Key]struct{}, len(spans))
	unique = make([]*span.Span, 0, len(spans))
	for i := range spans {
		sp := &spans[i]
		if _, dup := seen[KeyOf(sp)]; dup {
			repeats++
			continue
		}
		seen[KeyOf(sp)] = struct{}{}
		unique = append(unique, sp)
	}
	return unique, repeats
}

// Node is what the rule reads of a stored span.
type Node struct {
	ParentID string
	State    State
}

// Tree reads the spans stored before a batch, in the batch's transaction.
type Tree interface {
	// Below returns those of keys that have a stored child whose state is
	// not Unknown: a model call is stored below them.
	Below(keys []Key) (map[Key]bool, error)
	// Stored returns the stored spans among keys.
	Stored(keys []Key) (map[Key]Node, error)
}

// maxWalk bounds a walk up a trace, level by level: a chain of spans this
// deep is not one an instrumentation makes, and each level may cost a
// query. Above it, calls go on being counted, as if the chain broke there.
const maxWalk = 10_000

// Counting is what the rule decides for a batch.
type Counting struct {
	// New holds the state of each new span that is not Unknown.
	New map[*span.Span]State
	// Wrapped are stored calls, counted until now, that are wrappers: their
	// usage leaves the sums.
	Wrapped []Key
	// Marked are stored spans now known to have a model call below them,
	// Unknown until now.
	Marked []Key
	// Replacing are new counted calls whose arrival made a counted call
	// above them a wrapper: the same request, counted until now there.
	// Counters that cannot go down (Prometheus') count the request once by
	// leaving these out.
	Replacing map[*span.Span]bool
}

// Count applies the rule to a batch of new spans, each once and none stored
// before. fresh reports the traces the batch creates, of which nothing is
// stored: the tree is not read for them.
func Count(spans []*span.Span, fresh func(traceID string) bool, tree Tree) (*Counting, error) {
	c := &Counting{New: map[*span.Span]State{}, Replacing: map[*span.Span]bool{}}
	batch := make(map[Key]*span.Span, len(spans))
	var probe []Key
	for _, sp := range spans {
		k := KeyOf(sp)
		batch[k] = sp
		if !fresh(sp.TraceID) {
			probe = append(probe, k)
		}
	}
	below := map[Key]bool{}
	if len(probe) > 0 {
		var err error
		if below, err = tree.Below(probe); err != nil {
			return nil, err
		}
	}

	// A step of a walk: the span it reaches next, and the new span it
	// started from.
	type step struct {
		at   Key
		from *span.Span
	}
	up := func(sp *span.Span, parentID string, from *span.Span, next []step) []step {
		if parentID == "" || parentID == sp.SpanID {
			return next
		}
		return append(next, step{Key{sp.TraceID, parentID}, from})
	}
	var walks []step
	for _, sp := range spans {
		k := KeyOf(sp)
		switch {
		case IsCall(sp) && below[k]:
			c.New[sp] = Wrapper
		case IsCall(sp):
			c.New[sp] = Counted
		case below[k]:
			c.New[sp] = Above
		default:
			continue
		}
		walks = up(sp, sp.ParentID, sp, walks)
	}

	visited := map[Key]bool{}
	// reachedBy is the walk that first reached each new span, to find the
	// counted call below a new wrapper.
	reachedBy := map[*span.Span]*span.Span{}
	// flippedBy are the walks that made stored calls wrappers.
	var flippedBy []*span.Span
	for level := 0; len(walks) > 0 && level < maxWalk; level++ {
		var need []Key
		for _, s := range walks {
			if _, ok := batch[s.at]; !ok && !visited[s.at] && !fresh(s.at.TraceID) {
				need = append(need, s.at)
			}
		}
		stored := map[Key]Node{}
		if len(need) > 0 {
			slices.SortFunc(need, compareKeys)
			var err error
			if stored, err = tree.Stored(slices.Compact(need)); err != nil {
				return nil, err
			}
		}
		var next []step
		for _, s := range walks {
			// A walk back to where it started is a parent cycle a client
			// sent; a span is not below itself.
			if visited[s.at] || s.at == KeyOf(s.from) {
				continue
			}
			visited[s.at] = true
			if sp, ok := batch[s.at]; ok {
				reachedBy[sp] = s.from
				switch c.New[sp] {
				case Counted:
					c.New[sp] = Wrapper
				case Unknown:
					c.New[sp] = Above
					next = up(sp, sp.ParentID, s.from, next)
				}
				// A new call or span with a call stored below walks on
				// from itself.
				continue
			}
			n, ok := stored[s.at]
			if !ok {
				// Not stored yet: it learns of the call from its children.
				continue
			}
			switch n.State {
			case Unknown:
				c.Marked = append(c.Marked, s.at)
				if p := n.ParentID; p != "" && p != s.at.SpanID {
					next = append(next, step{Key{s.at.TraceID, p}, s.from})
				}
			case Counted:
				c.Wrapped = append(c.Wrapped, s.at)
				flippedBy = append(flippedBy, s.from)
			}
			// A wrapper or a span above a call: what is above it is known.
		}
		walks = next
	}

	// The request a wrapped call stood for is counted now at the first
	// counted call below where the walk that wrapped it began.
	for _, from := range flippedBy {
		for sp, hops := from, 0; sp != nil && hops <= len(spans); sp, hops = reachedBy[sp], hops+1 {
			if c.New[sp] == Counted {
				c.Replacing[sp] = true
				break
			}
		}
	}
	return c, nil
}

func compareKeys(x, y Key) int {
	if x.TraceID != y.TraceID {
		if x.TraceID < y.TraceID {
			return -1
		}
		return 1
	}
	switch {
	case x.SpanID < y.SpanID:
		return -1
	case x.SpanID > y.SpanID:
		return 1
	}
	return 0
}
