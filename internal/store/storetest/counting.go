package storetest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	rule "github.com/loupe-dev/loupe/internal/store/rollup"
)

// callsTrace is a trace whose model calls are recorded twice, as
// instrumentations nest them, with what each span should be to the
// counting of calls:
//
//	1 agent (AGENT, the session and the only user.id)
//	├── 2 completion (LLM, litellm's span of one call)    wrapper
//	│   └── 3 ChatCompletion (LLM, the OpenAI SDK's)        counted
//	├── 4 search (TOOL)
//	│   └── 5 embedding (EMBEDDING, litellm's)             wrapper
//	│       └── 6 CreateEmbeddings (EMBEDDING, the SDK's)   counted
//	└── 7 retry (CHAIN)
//	    └── 8 llm (LLM, a router with its own tokens)       wrapper
//	        └── 9 attempt (CHAIN)
//	            └── 10 claude-x (LLM, no price)             counted
func callsTrace(project string, n int) []spanSpec {
	id := n * 100
	model := func(name, version string) span.Attributes {
		a := span.Attributes{{Key: span.AttrModelName, Value: span.StringValue(name)}}
		if version != "" {
			a = append(a, span.Attr{Key: span.AttrTemplateVersion, Value: span.StringValue(version)})
		}
		return a
	}
	embedding := func(name string) span.Attributes {
		return span.Attributes{{Key: span.AttrEmbeddingModel, Value: span.StringValue(name)}}
	}
	return []spanSpec{
		{project: project, trace: n, id: id + 1, name: "agent", kind: span.KindAgent, startMs: 0, durMs: 1000, status: span.StatusOK,
			session: project + "-session", user: "u1", input: "q", output: "a"},
		{project: project, trace: n, id: id + 2, par: id + 1, name: "completion", kind: span.KindLLM, startMs: 10, durMs: 300,
			status: span.StatusOK, prompt: 30, compl: 19, attrs: model("openai/gpt-4o-mini", "v3")},
		{project: project, trace: n, id: id + 3, par: id + 2, name: "ChatCompletion", kind: span.KindLLM, startMs: 20, durMs: 280,
			status: span.StatusOK, prompt: 30, compl: 19, attrs: model("gpt-4o-mini-2024-07-18", "v3")},
		{project: project, trace: n, id: id + 4, par: id + 1, name: "search", kind: span.KindTool, startMs: 320, durMs: 100, status: span.StatusOK},
		{project: project, trace: n, id: id + 5, par: id + 4, name: "embedding", kind: span.KindEmbedding, startMs: 330, durMs: 80,
			status: span.StatusOK, prompt: 8, attrs: embedding("openai/text-embedding-3-small")},
		{project: project, trace: n, id: id + 6, par: id + 5, name: "CreateEmbeddings", kind: span.KindEmbedding, startMs: 340, durMs: 60,
			status: span.StatusOK, prompt: 8, attrs: embedding("text-embedding-3-small")},
		{project: project, trace: n, id: id + 7, par: id + 1, name: "retry", kind: span.KindChain, startMs: 430, durMs: 500, status: span.StatusOK},
		{project: project, trace: n, id: id + 8, par: id + 7, name: "llm", kind: span.KindLLM, startMs: 440, durMs: 480,
			status: span.StatusOK, prompt: 100, compl: 10, attrs: model("router", "")},
		{project: project, trace: n, id: id + 9, par: id + 8, name: "attempt", kind: span.KindChain, startMs: 450, durMs: 460, status: span.StatusOK},
		{project: project, trace: n, id: id + 10, par: id + 9, name: "claude-x", kind: span.KindLLM, startMs: 460, durMs: 440,
			status: span.StatusOK, prompt: 50, compl: 5, attrs: model("claude-x", "")},
	}
}

// callsStates are the states callsTrace's spans end in, in order.
var callsStates = []rule.State{rule.Above, rule.Wrapper, rule.Counted, rule.Above, rule.Wrapper,
	rule.Counted, rule.Above, rule.Wrapper, rule.Above, rule.Counted}

// callsPrices prices every model of callsTrace but claude-x; the wrappers'
// models cost more, so that counting one shows.
var callsPrices = map[string]float64{"gpt-4o-mini-2024-07-18": 0.001, "openai/gpt-4o-mini": 0.002,
	"text-embedding-3-small": 0.0001, "openai/text-embedding-3-small": 0.0005, "router": 0.01}

// callsWant are callsTrace's sums at callsPrices: ChatCompletion,
// CreateEmbeddings and claude-x, each once.
var callsWant = struct {
	prompt, completion, total int64
	cost                      float64
	unpriced                  int64
}{30 + 8 + 50, 19 + 5, 49 + 8 + 55, 30*0.001 + 19*0.002 + 8*0.0001, 1}

// callsOrders are the ways callsTrace's spans (by index) arrive.
var callsOrders = []struct {
	name  string
	order [][]int
}{
	{"one batch", [][]int{{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}},
	{"children first", [][]int{{9}, {8}, {7}, {6}, {5}, {4}, {3}, {2}, {1}, {0}}},
	{"parents first", [][]int{{0}, {1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}}},
	{"calls, then the rest, then the wrappers", [][]int{{2, 5, 9}, {0, 3, 6, 8}, {1, 4, 7}}},
	{"wrappers, then the calls long after", [][]int{{0, 1, 3, 4, 6, 7, 8}, nil, {9, 5, 2}}},
	{"re-sent", [][]int{{0}, {1}, {2}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {2, 1}, {9, 8, 7}}},
}

// writeCallsOrder writes callsTrace in project, trace n, in order; nil
// batches write another trace of the project instead. It returns the
// calls a counter kept as spans arrive would count.
func writeCallsOrder(t *testing.T, s store.Store, project string, n int, order [][]int, price func(*span.Span)) int {
	t.Helper()
	spans := build(callsTrace(project, n)...)
	for i := range spans {
		price(&spans[i])
	}
	counted := 0
	for _, batch := range order {
		if batch == nil {
			other := build(agentTrace(project, n+50, 2000, "", "")...)
			for i := range other {
				price(&other[i])
			}
			write(t, s, other)
			continue
		}
		var b []span.Span
		for _, i := range batch {
			b = append(b, spans[i])
		}
		res := write(t, s, b)
		for _, sp := range res.New {
			if rule.IsCall(sp) && !res.Uncounted[sp] {
				counted++
			}
		}
	}
	return counted
}

func testCallsCountedOnce(t *testing.T, s store.Store) {
	ctx := context.Background()
	price := ratePricer(callsPrices)
	for i, o := range callsOrders {
		project := fmt.Sprintf("calls-%d", i)
		n := 10 + i
		counted := writeCallsOrder(t, s, project, n, o.order, price)
		checkCalls(t, s, o.name, project, n, callsPrices)
		if counted != 3 {
			t.Errorf("%s: the batches' new counted calls, less Uncounted, are %d, want 3", o.name, counted)
		}
		// The wrappers say where their call is counted.
		for _, w := range []struct{ span, call, depth int }{{2, 3, 1}, {5, 6, 1}, {8, 10, 2}} {
			rec, err := s.SpanByID(ctx, spanID(n*100+w.span))
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.CountedBelow(ctx, rec.RowID, 5)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].SpanID != spanID(n*100+w.call) || got[0].Depth != w.depth {
				t.Errorf("%s: CountedBelow(span %d) = %+v, want span %d at depth %d", o.name, w.span, got, w.call, w.depth)
			}
		}
	}
	models, err := s.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]store.ModelUsage{}
	for _, m := range models {
		seen[m.ModelName] = m
	}
	calls := int64(len(callsOrders))
	for name, want := range map[string]int64{"gpt-4o-mini-2024-07-18": calls, "text-embedding-3-small": calls, "claude-x": calls,
		"openai/gpt-4o-mini": 0, "openai/text-embedding-3-small": 0, "router": 0} {
		m, ok := seen[name]
		if !ok || m.SpanCount != want || (want == 0 && (m.TotalTokens != 0 || m.Cost != 0 || m.FirstSeen == 0)) {
			t.Errorf("model %s = %+v (listed %v), want %d calls counted under it and seen", name, m, ok, want)
		}
	}
}

// checkCalls checks every roll-up of callsTrace n in project against its
// calls priced at rates.
func checkCalls(t *testing.T, s store.Store, name, proj string, n int, rates map[string]float64) {
	t.Helper()
	ctx := context.Background()
	want := callsWant
	want.cost = 30*rates["gpt-4o-mini-2024-07-18"] + 19*2*rates["gpt-4o-mini-2024-07-18"] + 8*rates["text-embedding-3-small"]
	if r, ok := rates["claude-x"]; ok {
		want.cost += 50*r + 5*2*r
		want.unpriced = 0
	}
	tr := trace(t, s, n)
	if tr.Tokens.Prompt != want.prompt || tr.Tokens.Completion != want.completion || tr.Tokens.Total != want.total ||
		!near(tr.Cost.Total, want.cost) || tr.Cost.Unpriced != want.unpriced || tr.LLMSpanCount != 4 {
		t.Errorf("%s: trace tokens %+v, cost %+v, %d LLM spans; want %d/%d/%d tokens, $%g, %d unpriced, 4 LLM spans",
			name, tr.Tokens, tr.Cost, tr.LLMSpanCount, want.prompt, want.completion, want.total, want.cost, want.unpriced)
	}
	sess, err := s.Session(ctx, proj+"-session")
	if err != nil {
		t.Fatal(err)
	}
	if sess.Tokens.Total != want.total || !near(sess.Cost.Total, want.cost) || sess.Cost.Unpriced != want.unpriced {
		t.Errorf("%s: session tokens %+v, cost %+v; want %d tokens, $%g, %d unpriced", name, sess.Tokens, sess.Cost, want.total, want.cost, want.unpriced)
	}
	pid := project(t, s, proj).ID
	type row struct {
		calls, tokens, unpriced int64
		cost                    float64
	}
	usage := func(dim store.UsageDimension) map[string]row {
		us, err := s.Usage(ctx, pid, dim, 0, math.MaxInt64)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]row{}
		for _, u := range us {
			out[u.Key] = row{u.LLMSpans, u.TotalTokens, u.Unpriced, math.Round(u.Cost*1e9) / 1e9}
		}
		return out
	}
	// The other trace some orders write counts too: its two LLM calls.
	other := map[string]row{}
	if _, err := s.Trace(ctx, traceID(n+50)); err == nil {
		other[""] = row{2, 470, 2, 0}
	}
	gpt := math.Round((30*rates["gpt-4o-mini-2024-07-18"]+19*2*rates["gpt-4o-mini-2024-07-18"])*1e9) / 1e9
	emb := math.Round(8*rates["text-embedding-3-small"]*1e9) / 1e9
	claude := row{1, 55, 1, 0}
	if r, ok := rates["claude-x"]; ok {
		claude = row{1, 55, 0, math.Round((50*r+5*2*r)*1e9) / 1e9}
	}
	wantModels := map[string]row{"gpt-4o-mini-2024-07-18": {1, 49, 0, gpt}, "text-embedding-3-small": {1, 8, 0, emb}, "claude-x": claude}
	if got := usage(store.ByModel); !mapsEqual(got, wantModels) {
		t.Errorf("%s: usage by model = %+v, want %+v", name, got, wantModels)
	}
	// The user is on the root alone: every call of the trace is its.
	all := row{3, want.total, want.unpriced, math.Round(want.cost*1e9) / 1e9}
	if got := usage(store.ByUser); !mapsEqual(got, map[string]row{"u1": all}) {
		t.Errorf("%s: usage by user = %+v, want u1: %+v", name, got, all)
	}
	if got := usage(store.ByPromptVersion); !mapsEqual(got, map[string]row{"v3": {1, 49, 0, gpt}}) {
		t.Errorf("%s: usage by prompt version = %+v, want v3 once", name, got)
	}
	series, err := s.UsageSeries(ctx, pid, base-int64(time.Hour), base+int64(time.Hour), int64(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var calls, tokens int64
	for _, p := range series {
		calls += p.LLMSpans
		tokens += p.TotalTokens
	}
	// The series sums the model dimension, which has no row for calls
	// that name no model, as the other trace's.
	if calls != 3 || tokens != want.total {
		t.Errorf("%s: usage series sums to %d calls and %d tokens, want 3 and %d", name, calls, tokens, want.total)
	}
	stats, err := s.ProjectStats(ctx, pid, base, 0)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Tokens.Total != want.total+other[""].tokens || !near(stats.Cost, want.cost) {
		t.Errorf("%s: project stats %d tokens, $%g; want %d, $%g", name, stats.Tokens.Total, stats.Cost, want.total+other[""].tokens, want.cost)
	}
	tools, _, err := s.UsageByTool(ctx, pid, base, base+int64(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	tools = slices.DeleteFunc(tools, func(u store.ToolUsage) bool { return u.Key == "tool.search_docs" }) // the other trace's
	if len(tools) != 1 || tools[0].Key != "search" || tools[0].LLMSpans != 1 || tools[0].TotalTokens != 8 {
		t.Errorf("%s: usage by tool = %+v, want search with one 8-token call", name, tools)
	}
	for i, want := range callsStates {
		rec, err := s.SpanByID(ctx, spanID(n*100+i+1))
		if err != nil {
			t.Fatal(err)
		}
		if rec.Counting != want {
			t.Errorf("%s: span %d (%s) is %d to the counting, want %d", name, i+1, rec.Name, rec.Counting, want)
		}
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// A price change reprices every span, wrappers too, and moves the sums by
// the counted calls' new costs alone.
func testRecomputeCalls(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i, o := range callsOrders {
		writeCallsOrder(t, s, fmt.Sprintf("calls-%d", i), 10+i, o.order, ratePricer(callsPrices))
	}
	rates := map[string]float64{}
	for m, r := range callsPrices {
		rates[m] = 3 * r
	}
	rates["claude-x"] = 0.02
	res, err := s.RecomputeCosts(ctx, []string{"gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini", "text-embedding-3-small",
		"openai/text-embedding-3-small", "router", "claude-x"}, ratePricer(rates), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := int64(len(callsOrders)); res.Scanned != 6*n || res.Changed != 6*n {
		t.Errorf("RecomputeCosts = %+v, want the 6 calls and wrappers of %d traces scanned and changed", res, n)
	}
	for i, o := range callsOrders {
		n := 10 + i
		checkCalls(t, s, o.name+", repriced", fmt.Sprintf("calls-%d", i), n, rates)
		rec, err := s.SpanByID(ctx, spanID(n*100+2))
		if err != nil {
			t.Fatal(err)
		}
		if want := 30*rates["openai/gpt-4o-mini"] + 19*2*rates["openai/gpt-4o-mini"]; !near(rec.View.Cost.Total, want) {
			t.Errorf("%s: the wrapper's own cost is $%g after the recompute, want $%g", o.name, rec.View.Cost.Total, want)
		}
	}
}
