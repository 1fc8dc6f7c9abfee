package rollup

import "github.com/loupe-dev/loupe/internal/span"

// Trace is what a batch of new spans adds to one trace's roll-ups. Spans
// are added in the order they were sent, each once and none stored before.
//
// A trace's root is the first span without a parent to be stored: of a
// batch, the one that starts first, the first sent among those that start
// together. A root stored is kept, whatever starts before it later.
type Trace struct {
	Start, End          int64
	Spans, Errors, LLMs int64
	// Calls sums the counted calls: the batch's entry in Plan.Traces.
	Calls Delta
	// UserID is the first user.id of the spans.
	UserID string
	// SessionID is the session.id of the last span without a parent that
	// has one, else of the first span that has one.
	SessionID string
	root      *span.Span
}

// Add adds a span of the trace.
func (t *Trace) Add(sp *span.Span) {
	if t.Spans == 0 {
		t.Start, t.End = sp.StartTime, sp.EndTime
	}
	t.Start, t.End = min(t.Start, sp.StartTime), max(t.End, sp.EndTime)
	t.Spans++
	if sp.StatusCode == span.StatusError {
		t.Errors++
	}
	if sp.View.Kind == span.KindLLM {
		t.LLMs++
	}
	if sp.IsRoot() && (t.root == nil || sp.StartTime < t.root.StartTime) {
		t.root = sp
	}
	if t.UserID == "" {
		t.UserID = sp.View.UserID
	}
	if sp.View.SessionID != "" && (t.SessionID == "" || sp.IsRoot()) {
		t.SessionID = sp.View.SessionID
	}
}

// Root is the root the trace takes from the batch, nil when the batch has
// none or the trace keeps the one it had stored (hadRoot).
func (t *Trace) Root(hadRoot bool) *span.Span {
	if hadRoot {
		return nil
	}
	return t.root
}

// Stored is what a trace's row held before the batch, as its session needs
// it.
type Stored struct {
	// InSession is set when the trace belongs to a session, Session's.
	InSession  bool
	Session    string
	Start, End int64
	Sums       Delta // its tokens and cost
	// HasRoot is set when a root is stored, Input and Output its previews.
	// They are offered to a session the trace joins, or whose trace starts
	// earlier than it did: a backend may leave them out otherwise.
	HasRoot       bool
	Input, Output string
}

// Offer is a trace's root input or output offered to its session, as of
// the trace's start: a session's first input is the root input of its
// earliest trace, and its last output the root output of its latest.
type Offer struct {
	Made bool
	Text string
	At   int64
}

// Earliest keeps the earlier of o and n, o when they are at the same time.
func (o *Offer) Earliest(n Offer) {
	if n.Made && (!o.Made || n.At < o.At) {
		*o = n
	}
}

// Latest keeps the later of o and n, n when they are at the same time.
func (o *Offer) Latest(n Offer) {
	if n.Made && (!o.Made || n.At >= o.At) {
		*o = n
	}
}

// SessionChange is what a batch changes in a session through one of its
// traces.
type SessionChange struct {
	SessionID string
	// Joins is set when the trace joins the session with the batch: the
	// session counts it, with what was stored of it before, and Delta is
	// the whole trace's. Otherwise Delta is the batch's.
	Joins      bool
	Start, End int64 // the trace's, with the batch
	Delta      Delta
	UserID     string // the batch's first user.id
	// Input and Output offer the trace's root input and output when the
	// root arrives, when the trace joins the session with its root, and
	// when the trace starts earlier than it did.
	Input, Output Offer
}

// Session is what the batch changes in the trace's session; ok is false
// when the trace has none. stored is nil when the batch creates the trace.
func (t *Trace) Session(stored *Stored) (c SessionChange, ok bool) {
	was := Stored{Start: t.Start, End: t.End}
	if stored != nil {
		was = *stored
	}
	c = SessionChange{Start: min(was.Start, t.Start), End: max(was.End, t.End), UserID: t.UserID}
	switch {
	case was.InSession:
		c.SessionID, c.Delta = was.Session, t.Calls
	case t.SessionID != "":
		c.SessionID, c.Joins, c.Delta = t.SessionID, true, was.Sums
		c.Delta.Tokens.Add(t.Calls.Tokens)
		c.Delta.Cost.Merge(t.Calls.Cost)
	default:
		return c, false
	}
	var input, output string
	if r := t.Root(was.HasRoot); r != nil {
		input, output = r.View.InputPreview, r.View.OutputPreview
	} else if was.HasRoot && (c.Joins || c.Start < was.Start) {
		input, output = was.Input, was.Output
	} else {
		return c, true
	}
	c.Input = Offer{Made: true, Text: input, At: c.Start}
	c.Output = Offer{Made: true, Text: output, At: c.Start}
	return c, true
}

// Merge adds o, what the batch changes in the same session through another
// trace, as the session's row takes one after the other.
func (c *SessionChange) Merge(o *SessionChange) {
	c.Start, c.End = min(c.Start, o.Start), max(c.End, o.End)
	c.Delta.Tokens.Add(o.Delta.Tokens)
	c.Delta.Cost.Merge(o.Delta.Cost)
	if c.UserID == "" {
		c.UserID = o.UserID
	}
	c.Input.Earliest(o.Input)
	c.Output.Latest(o.Output)
}
