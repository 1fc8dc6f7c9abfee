// Package agentgen generates synthetic traces shaped like the runs of an AI
// agent, deterministically from a seed. The load generator sends them through
// the OpenTelemetry SDK and the benchmarks decode and store them, so every
// measurement of the ingest path works on the same data.
package agentgen

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// Shape selects how big and how rich the generated spans are.
type Shape int

const (
	// Agent spans average about 1.5 KB on the wire: an agent run with LLM
	// calls carrying messages and tool calls, tools, and retrieved documents.
	Agent Shape = iota
	// Small spans are about 200 B: the same trees with a few short attributes.
	Small
)

// ParseShape reads a shape's name, as the --span-size flag gives it.
func ParseShape(s string) (Shape, error) {
	switch s {
	case "agent":
		return Agent, nil
	case "small":
		return Small, nil
	}
	return 0, fmt.Errorf("unknown span size %q: use agent or small", s)
}

func (s Shape) String() string {
	if s == Small {
		return "small"
	}
	return "agent"
}

// Span is one generated span.
type Span struct {
	TraceID  trace.TraceID
	SpanID   trace.SpanID
	ParentID trace.SpanID // zero for the root
	Parent   int          // index of the parent in its Trace's Spans; -1 for the root
	Name     string
	Kind     trace.SpanKind
	Start    time.Time
	End      time.Time
	Attrs    []attribute.KeyValue
	Events   []Event
	Err      string // when not empty, the span's status is ERROR with this message
}

// Event is a span event.
type Event struct {
	Name  string
	Time  time.Time
	Attrs []attribute.KeyValue
}

// Trace is one generated trace: the root first, every parent before its children.
type Trace struct {
	Spans []Span
}

// Shifted returns a copy of t with every timestamp moved by d, so that a
// trace generated once can be sent as if it had just happened.
func (t Trace) Shifted(d time.Duration) Trace {
	out := Trace{Spans: make([]Span, len(t.Spans))}
	for i, s := range t.Spans {
		s.Start, s.End = s.Start.Add(d), s.End.Add(d)
		if len(s.Events) > 0 {
			evs := make([]Event, len(s.Events))
			for j, e := range s.Events {
				e.Time = e.Time.Add(d)
				evs[j] = e
			}
			s.Events = evs
		}
		out.Spans[i] = s
	}
	return out
}

// Generator produces traces. It is not safe for concurrent use: give each
// simulated application its own.
type Generator struct {
	shape   Shape
	rng     *rand.Rand
	clock   time.Time // start of the next trace
	session string
	user    string
	pending []Span // spans of a trace that Spans cut off, sent first next time
}

// New returns a generator whose traces start at start and follow each other;
// the same shape, seed and start give the same traces.
func New(shape Shape, seed uint64, start time.Time) *Generator {
	return &Generator{shape: shape, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), clock: start}
}

// Trace returns the next trace.
func (g *Generator) Trace() Trace {
	// Several traces share a session, as the turns of one conversation do.
	if g.session == "" || g.rng.IntN(5) == 0 {
		g.session = fmt.Sprintf("sess-%016x", g.rng.Uint64())
		g.user = fmt.Sprintf("user-%03d", g.rng.IntN(500))
	}
	b := &builder{g: g}
	binary.LittleEndian.PutUint64(b.traceID[:8], g.rng.Uint64())
	binary.LittleEndian.PutUint64(b.traceID[8:], g.rng.Uint64())
	agentRun(b, g.clock)
	g.clock = g.clock.Add(time.Duration(20+g.rng.IntN(200)) * time.Millisecond)
	return Trace{Spans: b.spans}
}

// Spans returns the next n spans, taken from consecutive traces. A trace
// that does not fit is cut, and the rest of it comes first in the next call,
// as a batch span processor splits traces across export requests.
func (g *Generator) Spans(n int) []Span {
	out := make([]Span, 0, n)
	for len(out) < n {
		if len(g.pending) == 0 {
			g.pending = g.Trace().Spans
		}
		k := min(n-len(out), len(g.pending))
		out = append(out, g.pending[:k]...)
		g.pending = g.pending[k:]
	}
	return out
}
