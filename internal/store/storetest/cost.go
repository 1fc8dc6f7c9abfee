package storetest

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// ratePricer prices LLM spans at rate USD per token for the models it
// knows; others get no price, as the real price table does.
func ratePricer(rates map[string]float64) func(*span.Span) {
	return func(sp *span.Span) {
		sp.View.Cost = span.Cost{}
		if sp.View.Kind != span.KindLLM || sp.View.Tokens.Total == 0 {
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
		write(t, s, spans)
		all = append(all, spans...)
	}
	return all
}

func checkCostRollups(t *testing.T, s store.Store, spans []span.Span) {
	t.Helper()
	ctx := context.Background()
	pid := project(t, s, "cost").ID
	perTrace := map[string]float64{}
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
		if !near(tr.Cost.Total, want) || tr.Cost.Unpriced != unpricedPerTrace[id] {
			t.Errorf("trace %s cost = %+v, want total %g and %d unpriced", id, tr.Cost, want, unpricedPerTrace[id])
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
