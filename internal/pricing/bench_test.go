package pricing

import (
	"strings"
	"testing"
)

// The ingest path prices every LLM span: a memoized lookup plus the
// arithmetic must not allocate.
func BenchmarkLookupCost(b *testing.B) {
	tab := Default()
	// Built at run time like a decoded attribute, not a constant.
	model := strings.Clone("gpt-4o-mini-2024-07-18")
	tok := Tokens{Prompt: 1200, CacheRead: 1024, Completion: 300, Reasoning: 120, Total: 1500}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tab.Cost(model, "openai", tok, ClientCost{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLookupCostParallel(b *testing.B) {
	tab := Default()
	models := []string{"gpt-4o-mini-2024-07-18", "claude-sonnet-4-5-20250929", "gemini-2.5-pro", "acme-unpriced"}
	tok := Tokens{Prompt: 1200, CacheRead: 1024, Completion: 300}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = tab.Cost(models[i%len(models)], "", tok, ClientCost{})
			i++
		}
	})
}

// The cold path a memo miss takes, for comparison.
func BenchmarkMatchUncached(b *testing.B) {
	tab := Default()
	b.ReportAllocs()
	for b.Loop() {
		if tab.match("claude-sonnet-4-5-20250929", "") == nil {
			b.Fatal("no match")
		}
	}
}

func TestLookupCostDoesNotAllocate(t *testing.T) {
	tab := Default()
	tok := Tokens{Prompt: 1200, CacheRead: 1024, Completion: 300}
	for _, model := range []string{"gpt-4o-mini", "acme-unpriced"} {
		_, _ = tab.Cost(model, "", tok, ClientCost{}) // fill the memo
		if n := testing.AllocsPerRun(100, func() { _, _ = tab.Cost(model, "", tok, ClientCost{}) }); n != 0 {
			t.Errorf("%s: %v allocations per call, want 0", model, n)
		}
	}
}
