package rollup

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
)

// memStore keeps spans and roll-ups as a backend would, applying plans the
// way the package documents, so that the rule can be checked against every
// arrival order without a database.
type memStore struct {
	spans  map[Key]*memSpan
	traces map[string]*memTrace
	rows   map[UsageKey]Usage
	models map[ModelKey]Usage
}

type memSpan struct {
	sp    *span.Span
	state State
}

type memTrace struct {
	user  string
	sums  Delta
	spans int
}

func newMemStore() *memStore {
	return &memStore{spans: map[Key]*memSpan{}, traces: map[string]*memTrace{},
		rows: map[UsageKey]Usage{}, models: map[ModelKey]Usage{}}
}

func (m *memStore) Below(keys []Key) (map[Key]bool, error) {
	out := map[Key]bool{}
	for _, s := range m.spans {
		k := Key{s.sp.TraceID, s.sp.ParentID}
		if s.state != Unknown && slices.Contains(keys, k) {
			out[k] = true
		}
	}
	return out, nil
}

func (m *memStore) Stored(keys []Key) (map[Key]Node, error) {
	out := map[Key]Node{}
	for _, k := range keys {
		if s := m.spans[k]; s != nil {
			out[k] = Node{s.sp.ParentID, s.state}
		}
	}
	return out, nil
}

func (m *memStore) Calls(keys []Key) ([]*span.Span, error) {
	var out []*span.Span
	for _, k := range keys {
		out = append(out, m.spans[k].sp)
	}
	return out, nil
}

func (m *memStore) UserlessCalls(traceID string) ([]*span.Span, error) {
	var out []*span.Span
	for _, s := range m.spans {
		if s.sp.TraceID == traceID && s.state == Counted && s.sp.View.UserID == "" {
			out = append(out, s.sp)
		}
	}
	return out, nil
}

// write stores a batch: spans already stored, or repeated, are skipped.
func (m *memStore) write(t *testing.T, batch []span.Span) *Plan {
	t.Helper()
	var spans []*span.Span
	seen := map[Key]bool{}
	for i := range batch {
		sp := &batch[i]
		if k := KeyOf(sp); !seen[k] && m.spans[k] == nil {
			seen[k] = true
			spans = append(spans, sp)
		}
	}
	info := map[string]TraceInfo{}
	for _, sp := range spans {
		ti, ok := info[sp.TraceID]
		if !ok {
			tr := m.traces[sp.TraceID]
			ti = TraceInfo{Project: 1, Fresh: tr == nil}
			if tr != nil {
				ti.UserBefore, ti.User = tr.user, tr.user
			}
		}
		if ti.User == "" {
			ti.User = sp.View.UserID
		}
		info[sp.TraceID] = ti
	}
	p, err := NewPlan(spans, func(id string) TraceInfo { return info[id] }, m, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range spans {
		m.spans[KeyOf(sp)] = &memSpan{sp, p.New[sp]}
		tr := m.traces[sp.TraceID]
		if tr == nil {
			tr = &memTrace{}
			m.traces[sp.TraceID] = tr
		}
		tr.user = info[sp.TraceID].User
		tr.spans++
	}
	for _, k := range p.Wrapped {
		if s := m.spans[k]; s.state != Counted {
			t.Fatalf("%v wrapped while %d", k, s.state)
		}
		m.spans[k].state = Wrapper
	}
	for _, k := range p.Marked {
		if s := m.spans[k]; s.state != Unknown {
			t.Fatalf("%v marked while %d", k, s.state)
		}
		m.spans[k].state = Above
	}
	for id, d := range p.Traces {
		tr := m.traces[id]
		addTokens(&tr.sums.Tokens, d.Tokens)
		tr.sums.Cost.Merge(d.Cost)
	}
	for k, u := range p.Sums.Rows {
		r := m.rows[k]
		if _, ok := m.rows[k]; !ok {
			r = *newUsage()
		}
		r.merge(u)
		if r.Spans == 0 {
			delete(m.rows, k)
			continue
		}
		m.rows[k] = r
	}
	for k, u := range p.Sums.Models {
		r, ok := m.models[k]
		if !ok {
			r = *newUsage()
		}
		r.merge(u)
		m.models[k] = r
	}
	return p
}

func addTokens(t *span.TokenCounts, o span.TokenCounts) {
	t.Prompt += o.Prompt
	t.Completion += o.Completion
	t.Total += o.Total
	t.CacheRead += o.CacheRead
	t.CacheWrite += o.CacheWrite
	t.Reasoning += o.Reasoning
	t.AudioPrompt += o.AudioPrompt
	t.AudioCompletion += o.AudioCompletion
}

func (u *Usage) merge(o *Usage) {
	u.Spans += o.Spans
	u.Prompt += o.Prompt
	u.Completion += o.Completion
	u.Total += o.Total
	u.CacheRead += o.CacheRead
	u.Reasoning += o.Reasoning
	u.Cost.Merge(o.Cost)
	u.First, u.Last = min(u.First, o.First), max(u.Last, o.Last)
}

// spec describes a span of a test trace.
type spec struct {
	id, parent string
	kind       span.Kind
	model      string
	tokens     int64   // prompt tokens; completion is a fifth of them
	cost       float64 // 0: no price
	user       string
}

func (s spec) span(trace string, start int64) span.Span {
	sp := span.Span{TraceID: trace, SpanID: s.id, ParentID: s.parent, Name: s.id, StartTime: start}
	v := &sp.View
	v.Kind, v.ModelName, v.UserID = s.kind, s.model, s.user
	if s.tokens > 0 {
		v.Tokens = span.TokenCounts{Prompt: s.tokens, Completion: s.tokens / 5, Total: s.tokens + s.tokens/5}
		v.Cost = span.Cost{Status: span.CostNoPrice}
		if s.cost > 0 {
			v.Cost = span.Cost{Status: span.CostPriced, Total: s.cost, Prompt: s.cost / 2, Completion: s.cost / 2}
		}
	}
	return sp
}

func build(trace string, specs ...spec) []span.Span {
	out := make([]span.Span, len(specs))
	for i, s := range specs {
		out[i] = s.span(trace, int64(i+1)*1e9)
	}
	return out
}

// litellm is one litellm.completion as the instrumentations record it:
// litellm's span with its own cost, and the OpenAI SDK's inside it.
var litellm = []spec{
	{id: "root", kind: span.KindChain},
	{id: "completion", parent: "root", kind: span.KindLLM, model: "openai/gpt-4o-mini", tokens: 40, cost: 0.00002},
	{id: "ChatCompletion", parent: "completion", kind: span.KindLLM, model: "gpt-4o-mini-2024-07-18", tokens: 40, cost: 0.0000195},
}

func TestLitellmCountedOnce(t *testing.T) {
	for _, order := range [][][]int{
		{{0, 1, 2}},         // one batch
		{{2}, {1}, {0}},     // children first, as exporters send them
		{{0}, {1}, {2}},     // parents first
		{{0, 1}, {2}},       // the call inside arrives last
		{{1}, {0, 2}},       // the wrapper first, alone
		{{2, 0}, {1}},       // the wrapper last, between
		{{1, 2}, {0, 1, 2}}, // sent twice
		{{0}, {2}, {1}},     // the root, then inside out
		{{2}, {2, 1}, {0}},  // re-sent with its parent
	} {
		t.Run(fmt.Sprint(order), func(t *testing.T) {
			spans := build("t1", litellm...)
			m := newMemStore()
			for _, batch := range order {
				var b []span.Span
				for _, i := range batch {
					b = append(b, spans[i])
				}
				m.write(t, b)
			}
			tr := m.traces["t1"]
			if tr.sums.Tokens.Total != 48 || math.Abs(tr.sums.Cost.Total-0.0000195) > 1e-15 || tr.sums.Cost.Unpriced != 0 {
				t.Errorf("trace sums %+v, want one call's 48 tokens and $0.0000195", tr.sums)
			}
			if s := m.spans[Key{"t1", "completion"}].state; s != Wrapper {
				t.Errorf("completion is %d, want a wrapper", s)
			}
			if s := m.spans[Key{"t1", "ChatCompletion"}].state; s != Counted {
				t.Errorf("ChatCompletion is %d, want counted", s)
			}
			if s := m.spans[Key{"t1", "root"}].state; s != Above {
				t.Errorf("root is %d, want above a call", s)
			}
			var models []string
			for k := range m.rows {
				if k.Dimension == ByModel {
					models = append(models, k.Key)
				}
			}
			if !slices.Equal(models, []string{"gpt-4o-mini-2024-07-18"}) {
				t.Errorf("usage by model lists %v, want the call under gpt-4o-mini-2024-07-18 alone", models)
			}
			if u := m.models[ModelKey{"openai/gpt-4o-mini", ""}]; u.Spans != 0 || u.First != 2e9 || u.Last != 2e9 {
				t.Errorf("the wrapper's model is %+v, want seen at 2 s with no calls", u)
			}
		})
	}
}

// A walk's Replacing names the new call that takes over from a wrapper
// counted before it, and only when there was one.
func TestReplacing(t *testing.T) {
	spans := build("t1", litellm...)
	m := newMemStore()
	if p := m.write(t, spans[:2]); len(p.Replacing) != 0 {
		t.Errorf("first batch replaces %v", p.Replacing)
	}
	if p := m.write(t, spans[2:]); !p.Replacing[&spans[2]] || len(p.Replacing) != 1 {
		t.Errorf("the call inside the counted wrapper replaces %v, want it", p.Replacing)
	}
	// Three levels, the two lower ones together after the top one.
	deep := build("t2", spec{id: "a", kind: span.KindLLM, tokens: 10, cost: 1},
		spec{id: "b", parent: "a", kind: span.KindLLM, tokens: 10, cost: 1},
		spec{id: "c", parent: "b", kind: span.KindChain},
		spec{id: "d", parent: "c", kind: span.KindLLM, tokens: 10, cost: 1})
	m.write(t, deep[:1])
	if p := m.write(t, deep[1:]); !p.Replacing[&deep[3]] || len(p.Replacing) != 1 {
		t.Errorf("three levels: replacing %v, want the innermost call", p.Replacing)
	}
}

// The edge cases the package documentation names.
func TestEdgeCases(t *testing.T) {
	for _, tc := range []struct {
		name     string
		specs    []spec
		counted  []string
		tokens   int64
		cost     float64
		unpriced int64
	}{
		{"a wrapper with tokens over a call without them", []spec{
			{id: "w", kind: span.KindLLM, tokens: 40, cost: 0.5},
			{id: "c", parent: "w", kind: span.KindLLM}},
			[]string{"w"}, 48, 0.5, 0},
		{"a call with tokens but no price under a priced wrapper", []spec{
			{id: "w", kind: span.KindLLM, tokens: 40, cost: 0.5},
			{id: "c", parent: "w", kind: span.KindLLM, tokens: 40}},
			[]string{"c"}, 48, 0, 1},
		{"three levels, each with tokens", []spec{
			{id: "a", kind: span.KindLLM, tokens: 40, cost: 0.3},
			{id: "b", parent: "a", kind: span.KindLLM, tokens: 40, cost: 0.2},
			{id: "c", parent: "b", kind: span.KindLLM, tokens: 40, cost: 0.1}},
			[]string{"c"}, 48, 0.1, 0},
		{"a tokenless LLM span between a wrapper and its call", []spec{
			{id: "a", kind: span.KindLLM, tokens: 40, cost: 0.3},
			{id: "b", parent: "a", kind: span.KindLLM},
			{id: "c", parent: "b", kind: span.KindLLM, tokens: 40, cost: 0.1}},
			[]string{"c"}, 48, 0.1, 0},
		{"a retry: a wrapper of two calls", []spec{
			{id: "w", kind: span.KindLLM, tokens: 40, cost: 0.3},
			{id: "retry", parent: "w", kind: span.KindChain},
			{id: "c1", parent: "retry", kind: span.KindLLM, tokens: 10, cost: 0.1},
			{id: "c2", parent: "retry", kind: span.KindLLM, tokens: 40, cost: 0.2}},
			[]string{"c1", "c2"}, 12 + 48, 0.3, 0},
		{"an embedding call wrapped by litellm's", []spec{
			{id: "embedding", kind: span.KindEmbedding, tokens: 10, cost: 0.2},
			{id: "CreateEmbeddings", parent: "embedding", kind: span.KindEmbedding, tokens: 10, cost: 0.1}},
			[]string{"CreateEmbeddings"}, 12, 0.1, 0},
		{"sibling calls are both counted", []spec{
			{id: "agent", kind: span.KindAgent},
			{id: "c1", parent: "agent", kind: span.KindLLM, tokens: 10, cost: 0.1},
			{id: "e1", parent: "agent", kind: span.KindEmbedding, tokens: 10, cost: 0.1}},
			[]string{"c1", "e1"}, 24, 0.2, 0},
		{"its own parent", []spec{
			{id: "a", parent: "a", kind: span.KindLLM, tokens: 10, cost: 0.1}},
			[]string{"a"}, 12, 0.1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spans := build("t", tc.specs...)
			for _, order := range orders(len(spans)) {
				m := newMemStore()
				for _, batch := range order {
					var b []span.Span
					for _, i := range batch {
						b = append(b, spans[i])
					}
					m.write(t, b)
				}
				var counted []string
				for k, s := range m.spans {
					if s.state == Counted {
						counted = append(counted, k.SpanID)
					}
				}
				slices.Sort(counted)
				tr := m.traces["t"]
				if !slices.Equal(counted, tc.counted) || tr.sums.Tokens.Total != tc.tokens ||
					math.Abs(tr.sums.Cost.Total-tc.cost) > 1e-12 || tr.sums.Cost.Unpriced != tc.unpriced {
					t.Errorf("order %v: counted %v, trace %+v; want %v, %d tokens, $%g, %d unpriced",
						order, counted, tr.sums, tc.counted, tc.tokens, tc.cost, tc.unpriced)
				}
			}
		})
	}
}

// A parent cycle, which no instrumentation sends, ends the walks, and its
// call is counted at most once: in a cycle a call is below itself, and
// whether the rule sees so depends on the order.
func TestParentCycle(t *testing.T) {
	spans := build("t", spec{id: "a", parent: "c", kind: span.KindChain},
		spec{id: "b", parent: "a", kind: span.KindLLM, tokens: 10, cost: 0.1},
		spec{id: "c", parent: "b", kind: span.KindChain})
	for _, order := range orders(len(spans)) {
		m := newMemStore()
		for _, batch := range order {
			var b []span.Span
			for _, i := range batch {
				b = append(b, spans[i])
			}
			m.write(t, b)
		}
		if tr := m.traces["t"]; tr.sums.Tokens.Total != 0 && tr.sums.Tokens.Total != 12 {
			t.Errorf("order %v: %d tokens, want the call's 12 or none", order, tr.sums.Tokens.Total)
		}
	}
}

// orders lists ways n spans can arrive: together, one by one in order and
// in reverse, and each span alone after the others.
func orders(n int) [][][]int {
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	out := [][][]int{{all}}
	var fwd, rev [][]int
	for i := range n {
		fwd = append(fwd, []int{i})
		rev = append(rev, []int{n - 1 - i})
	}
	out = append(out, fwd, rev)
	for i := range n {
		rest := slices.Delete(slices.Clone(all), i, i+1)
		out = append(out, [][]int{rest, {i}}, [][]int{{i}, rest})
	}
	return out
}

// Random trees, random batches and orders, spans re-sent: every arrival
// ends in the sums of the calls that have no call below them, and in the
// same states and usage rows.
func TestAnyArrivalOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 2 + rng.IntN(14)
		var specs []spec
		for i := range n {
			s := spec{id: fmt.Sprintf("s%d", i)}
			switch r := rng.IntN(10); {
			case i > 0 && r < 8:
				s.parent = specs[rng.IntN(i)].id
			case i > 0 && r < 9:
				s.parent = "lost" // never arrives
			}
			switch rng.IntN(6) {
			case 0, 1:
				s.kind, s.model = span.KindLLM, fmt.Sprintf("m%d", rng.IntN(3))
				s.tokens = int64(1 + rng.IntN(100))
				if rng.IntN(4) > 0 {
					s.cost = float64(s.tokens) / 1000
				}
			case 2:
				s.kind, s.model = span.KindEmbedding, "e"
				s.tokens, s.cost = int64(1+rng.IntN(100)), 0.001
			case 3:
				s.kind = span.KindLLM // no usage: not a call
			default:
				s.kind = span.KindChain
			}
			if rng.IntN(3) == 0 {
				s.user = "u1"
			}
			specs = append(specs, s)
		}
		want := reference(specs)
		var first *memStore
		for try := range 4 {
			spans := build("t", specs...)
			perm := rng.Perm(n)
			if try == 0 {
				perm = nil
				for i := range n {
					perm = append(perm, i)
				}
			}
			m := newMemStore()
			for len(perm) > 0 {
				k := 1 + rng.IntN(len(perm))
				var b []span.Span
				for _, i := range perm[:k] {
					b = append(b, spans[i])
				}
				if rng.IntN(3) == 0 { // re-send a span already sent or to come
					b = append(b, spans[rng.IntN(n)])
				}
				m.write(t, b)
				perm = perm[k:]
			}
			got := m.traces["t"].sums
			if got.Tokens != want.Tokens || math.Abs(got.Cost.Total-want.Cost.Total) > 1e-12 || got.Cost.Unpriced != want.Cost.Unpriced {
				t.Fatalf("round %d try %d: trace sums %+v, want %+v\nspans %+v", round, try, got, want, specs)
			}
			if first == nil {
				first = m
				continue
			}
			for k, s := range m.spans {
				if first.spans[k].state != s.state {
					t.Fatalf("round %d try %d: %v is %d, first order left it %d\nspans %+v", round, try, k, s.state, first.spans[k].state, specs)
				}
			}
			if diff := cmp.Diff(roundRows(first.rows), roundRows(m.rows)); diff != "" {
				t.Fatalf("round %d try %d: usage rows differ from the first order's (-first +this):\n%s\nspans %+v", round, try, diff, specs)
			}
		}
	}
}

// reference sums the calls with no call below them in the whole tree.
func reference(specs []spec) Delta {
	byID := map[string]spec{}
	for _, s := range specs {
		byID[s.id] = s
	}
	isCall := func(s spec) bool {
		return (s.kind == span.KindLLM || s.kind == span.KindEmbedding) && s.tokens > 0
	}
	wrapper := map[string]bool{}
	for _, s := range specs {
		if !isCall(s) {
			continue
		}
		for p, hops := s.parent, 0; p != "" && hops < len(specs); hops++ {
			a, ok := byID[p]
			if !ok {
				break
			}
			if isCall(a) && a.id != s.id {
				wrapper[a.id] = true
			}
			p = a.parent
		}
	}
	var d Delta
	for i, s := range specs {
		if isCall(s) && !wrapper[s.id] {
			sp := s.span("t", int64(i+1)*1e9)
			d.Add(&sp, 1)
		}
	}
	return d
}

// roundRows drops the last bits of float sums, which differ with the order
// of the additions.
func roundRows(rows map[UsageKey]Usage) map[UsageKey]Usage {
	out := map[UsageKey]Usage{}
	for k, u := range rows {
		u.Cost.Total = math.Round(u.Cost.Total*1e9) / 1e9
		u.Cost.Prompt = math.Round(u.Cost.Prompt*1e9) / 1e9
		u.Cost.Completion = math.Round(u.Cost.Completion*1e9) / 1e9
		u.First, u.Last = 0, 0
		out[k] = u
	}
	return out
}
