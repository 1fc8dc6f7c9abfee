package storetest

import (
	"context"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// ratePricer prices LLM and embedding spans at rate USD per token for the
// models it knows; others get no price, as the real price table does.
func ratePricer(rates map[string]float64) func(*span.Span) {
	return func(sp *span.Span) {
		sp.View.Cost = span.Cost{}
		if (sp.View.Kind != span.KindLLM && sp.View.Kind != span.KindEmbedding) || sp.View.Tokens.Total == 0 {
			return
		}
		r, ok := rates[sp.View.ModelName]
		if !ok {
			sp.View.Cost.Status = span.CostNoPrice
			return
		}
		p, c := float64(sp.View.Tokens.Prompt)*r, float64(sp.View.Tokens.Completion)*r*2
		sp.View.Cost = span.Cost{Status: span.CostPriced, Prompt: p, Completion: c, Total: p + c, Source: "computed", Entry: sp.View.ModelName}
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// costFixture writes two sessions of traces whose LLM spans use a priced
// and an unpriced model, and returns their spans as priced.
func costFixture(t *testing.T, s store.Store, price func(*span.Span)) []span.Span {
	var all []span.Span
	for n := 1; n <= 4; n++ {
		specs := agentTrace("cost", n, int64(n)*1000, map[bool]string{true: "a", false: "b"}[n%2 == 0], "")
		specs[1].attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("gpt-x")},
			{Key: span.AttrTemplateVersion, Value: span.StringValue("v1")}}
		specs[4].attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("mystery")}}
		spans := build(specs...)
		for i := range spans {
			price(&spans[i])
		}
		// In two requests, so that a trace's sums add up across batches: the
		// priced call comes last in some traces, the unpriced one in others.
		last := map[bool]int{true: 1, false: 4}[n%2 == 0]
		write(t, s, append(slices.Clone(spans[:last]), spans[last+1:]...))
		write(t, s, spans[last:last+1])
		all = append(all, spans...)
	}
	return all
}

func checkCostRollups(t *testing.T, s store.Store, spans []span.Span) {
	t.Helper()
	ctx := context.Background()
	pid := project(t, s, "cost").ID
	perTrace := map[string]float64{}
	promptPerTrace := map[string]float64{}
	completionPerTrace := map[string]float64{}
	perSession := map[string]float64{}
	unpricedPerTrace := map[string]int64{}
	var total float64
	var unpriced int64
	sessionOf := map[string]string{}
	for _, sp := range spans {
		if sp.View.SessionID != "" {
			sessionOf[sp.TraceID] = sp.View.SessionID
		}
	}
	for _, sp := range spans {
		c := sp.View.Cost
		perTrace[sp.TraceID] += c.Total
		promptPerTrace[sp.TraceID] += c.Prompt
		completionPerTrace[sp.TraceID] += c.Completion
		perSession[sessionOf[sp.TraceID]] += c.Total
		total += c.Total
		if c.Status == span.CostNoPrice {
			unpricedPerTrace[sp.TraceID]++
			unpriced++
		}
	}
	for id, want := range perTrace {
		tr, err := s.Trace(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !near(tr.Cost.Total, want) || !near(tr.Cost.Prompt, promptPerTrace[id]) ||
			!near(tr.Cost.Completion, completionPerTrace[id]) || tr.Cost.Unpriced != unpricedPerTrace[id] {
			t.Errorf("trace %s cost = %+v, want total %g (prompt %g, completion %g) and %d unpriced",
				id, tr.Cost, want, promptPerTrace[id], completionPerTrace[id], unpricedPerTrace[id])
		}
		var spanSum float64
		for _, r := range tr.Spans {
			spanSum += r.View.Cost.Total
		}
		if !near(spanSum, tr.Cost.Total) {
			t.Errorf("trace %s: span costs sum to %g, trace says %g", id, spanSum, tr.Cost.Total)
		}
	}
	for id, want := range perSession {
		sess, err := s.Session(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if !near(sess.Cost.Total, want) {
			t.Errorf("session %s cost = %g, want %g", id, sess.Cost.Total, want)
		}
	}
	usage, err := s.Usage(ctx, pid, store.ByModel, 0, math.MaxInt64)
	if err != nil {
		t.Fatal(err)
	}
	var usageTotal float64
	var usageUnpriced int64
	for _, u := range usage {
		usageTotal += u.Cost
		usageUnpriced += u.Unpriced
	}
	if !near(usageTotal, total) || usageUnpriced != unpriced {
		t.Errorf("project usage by model = %g (%d unpriced), want %g (%d)", usageTotal, usageUnpriced, total, unpriced)
	}
	series, err := s.UsageSeries(ctx, pid, base-int64(24*time.Hour), base+int64(24*time.Hour), int64(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var seriesTotal float64
	for _, p := range series {
		seriesTotal += p.Cost
	}
	if !near(seriesTotal, total) {
		t.Errorf("usage series sums to %g, want %g", seriesTotal, total)
	}
}

func testCostRollups(t *testing.T, s store.Store) {
	spans := costFixture(t, s, ratePricer(map[string]float64{"gpt-x": 0.001}))
	checkCostRollups(t, s, spans)
	ctx := context.Background()
	pid := project(t, s, "cost").ID
	byVersion, err := s.Usage(ctx, pid, store.ByPromptVersion, 0, math.MaxInt64)
	if err != nil || len(byVersion) != 1 || byVersion[0].Key != "v1" || byVersion[0].LLMSpans != 4 || !near(byVersion[0].Cost, 4*(100*0.001+20*0.002)) {
		t.Errorf("usage by prompt version = %+v, %v", byVersion, err)
	}
	models, err := s.Models(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]store.ModelUsage{}
	for _, m := range models {
		seen[m.ModelName] = m
	}
	if m := seen["gpt-x"]; m.SpanCount != 4 || m.LastSeen != base+4010*ms || m.FirstSeen != base+1010*ms {
		t.Errorf("model gpt-x = %+v", m)
	}
	if m := seen["mystery"]; m.Unpriced != 4 || m.Cost != 0 {
		t.Errorf("model mystery = %+v, want 4 unpriced spans", m)
	}
}

func testRecomputeCosts(t *testing.T, s store.Store) {
	costFixture(t, s, ratePricer(map[string]float64{"gpt-x": 0.001}))
	// The price of gpt-x doubles and mystery gets a price.
	newPrice := ratePricer(map[string]float64{"gpt-x": 0.002, "mystery": 0.0005})
	var progressCalls int
	res, err := s.RecomputeCosts(context.Background(), []string{"gpt-x", "mystery"}, newPrice, func(store.RecomputeResult) { progressCalls++ })
	if err != nil {
		t.Fatal(err)
	}
	if res.Scanned != 8 || res.Changed != 8 || progressCalls == 0 {
		t.Errorf("RecomputeCosts = %+v (%d progress calls), want 8 scanned and changed", res, progressCalls)
	}
	// What is stored now must equal pricing the same spans afresh.
	var expect []span.Span
	for n := 1; n <= 4; n++ {
		specs := agentTrace("cost", n, int64(n)*1000, map[bool]string{true: "a", false: "b"}[n%2 == 0], "")
		specs[1].attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("gpt-x")},
			{Key: span.AttrTemplateVersion, Value: span.StringValue("v1")}}
		specs[4].attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("mystery")}}
		spans := build(specs...)
		for i := range spans {
			newPrice(&spans[i])
		}
		expect = append(expect, spans...)
	}
	checkCostRollups(t, s, expect)
	again, err := s.RecomputeCosts(context.Background(), []string{"gpt-x"}, newPrice, nil)
	if err != nil || again.Changed != 0 {
		t.Errorf("recomputing with unchanged prices = %+v, %v; want nothing changed", again, err)
	}
}

func testUsageByTool(t *testing.T, s store.Store) {
	ctx := context.Background()
	model := func(name string) span.Attributes {
		return span.Attributes{{Key: span.AttrModelName, Value: span.StringValue(name)}}
	}
	toolName := span.Attributes{{Key: "tool.name", Value: span.StringValue("search")}}
	specs := []spanSpec{
		// Trace 1: the search tool reaches an LLM through a chain, and
		// calls an unpriced one directly; calc calls none; the agent's own
		// LLM call is outside every tool.
		{project: "tools", trace: 1, id: 101, name: "agent.run", kind: span.KindAgent, startMs: 0, durMs: 1000, status: span.StatusOK},
		{project: "tools", trace: 1, id: 102, par: 101, name: "web_search", kind: span.KindTool, startMs: 10, durMs: 200, status: span.StatusOK, attrs: toolName},
		{project: "tools", trace: 1, id: 103, par: 102, name: "rerank", kind: span.KindChain, startMs: 20, durMs: 100, status: span.StatusOK},
		{project: "tools", trace: 1, id: 104, par: 103, name: "llm.chat", kind: span.KindLLM, startMs: 30, durMs: 50, status: span.StatusOK, prompt: 100, compl: 20, attrs: model("gpt-x")},
		{project: "tools", trace: 1, id: 105, par: 102, name: "llm.chat", kind: span.KindLLM, startMs: 130, durMs: 50, status: span.StatusOK, prompt: 10, compl: 5, attrs: model("mystery")},
		{project: "tools", trace: 1, id: 106, par: 101, name: "calc", kind: span.KindTool, startMs: 300, durMs: 5, status: span.StatusOK},
		{project: "tools", trace: 1, id: 107, par: 106, name: "lookup", kind: span.KindRetriever, startMs: 301, durMs: 2, status: span.StatusOK},
		{project: "tools", trace: 1, id: 108, par: 101, name: "llm.chat", kind: span.KindLLM, startMs: 400, durMs: 500, status: span.StatusOK, prompt: 1000, compl: 100, attrs: model("gpt-x")},
		// Trace 2: a second search call, without LLM.
		{project: "tools", trace: 2, id: 201, name: "web_search", kind: span.KindTool, startMs: 2000, durMs: 100, status: span.StatusOK, attrs: toolName},
		// Trace 3: a parent cycle, which the walk must not follow forever.
		{project: "tools", trace: 3, id: 301, par: 302, name: "loop", kind: span.KindTool, startMs: 3000, durMs: 40, status: span.StatusOK},
		{project: "tools", trace: 3, id: 302, par: 301, name: "step", kind: span.KindChain, startMs: 3001, durMs: 10, status: span.StatusOK},
		{project: "tools", trace: 3, id: 303, par: 302, name: "llm.chat", kind: span.KindLLM, startMs: 3002, durMs: 5, status: span.StatusOK, prompt: 1, compl: 1, attrs: model("gpt-x")},
		// Trace 4: a call before the range; trace 5: another project's.
		{project: "tools", trace: 4, id: 401, name: "web_search", kind: span.KindTool, startMs: -60_000, durMs: 100, status: span.StatusOK, attrs: toolName},
		{project: "tools", trace: 4, id: 402, par: 401, name: "llm.chat", kind: span.KindLLM, startMs: -59_990, durMs: 50, status: span.StatusOK, prompt: 100, compl: 20, attrs: model("gpt-x")},
		{project: "other", trace: 5, id: 501, name: "web_search", kind: span.KindTool, startMs: 10, durMs: 100, status: span.StatusOK, attrs: toolName},
	}
	price := ratePricer(map[string]float64{"gpt-x": 0.001})
	spans := build(specs...)
	for i := range spans {
		price(&spans[i])
	}
	// Children arrive first, one batch each, as exporters send them.
	for i := len(spans) - 1; i >= 0; i-- {
		write(t, s, spans[i:i+1])
	}
	got, sampled, err := s.UsageByTool(ctx, project(t, s, "tools").ID, base, base+int64(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := []store.ToolUsage{
		{Usage: store.Usage{Key: "search", LLMSpans: 2, PromptTokens: 110, CompletionTokens: 25, TotalTokens: 135,
			Cost: 100*0.001 + 20*0.002, Unpriced: 1}, Calls: 2, LatencyP50: 150 * ms},
		{Usage: store.Usage{Key: "loop", LLMSpans: 1, PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2,
			Cost: 0.001 + 0.002}, Calls: 1, LatencyP50: 40 * ms},
		{Usage: store.Usage{Key: "calc"}, Calls: 1, LatencyP50: 5 * ms},
	}
	if sampled || len(got) != len(want) {
		t.Fatalf("UsageByTool = %+v (sampled %v), want %+v", got, sampled, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		gotCost, wantCost := g.Cost, w.Cost
		g.Cost, w.Cost = 0, 0
		if g != w || !near(gotCost, wantCost) {
			t.Errorf("tool %d = %+v (cost %g), want %+v (cost %g)", i, g, gotCost, w, wantCost)
		}
	}
	none, sampled, err := s.UsageByTool(ctx, project(t, s, "tools").ID, base+int64(time.Hour), base+int64(2*time.Hour))
	if err != nil || len(none) != 0 || sampled {
		t.Errorf("UsageByTool of an empty range = %+v, %v, %v", none, sampled, err)
	}

	// Which ranges hold a tool call with a model call in it: the first
	// hour (search, loop), the minute before it (trace 4), not trace 2's
	// call alone nor the other project's.
	for _, tc := range []struct {
		project    string
		start, end int64
		want       bool
	}{
		{"tools", base, base + int64(time.Hour), true},
		{"tools", base - int64(time.Minute), base, true},
		{"tools", base + 1500*int64(time.Millisecond), base + 2500*int64(time.Millisecond), false},
		{"tools", base + int64(time.Hour), base + int64(2*time.Hour), false},
		{"other", base, base + int64(time.Hour), false},
	} {
		got, err := s.ToolCallsWithModels(ctx, project(t, s, tc.project).ID, tc.start, tc.end)
		if err != nil || got != tc.want {
			t.Errorf("ToolCallsWithModels(%s, %d ms, %d ms) = %v, %v; want %v", tc.project,
				(tc.start-base)/ms, (tc.end-base)/ms, got, err, tc.want)
		}
	}
}
