package pricing

import (
	"math"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

func normalized(kind string, attrs ...span.Attr) *span.Span {
	sp := &span.Span{Attributes: append(span.Attributes{{Key: span.AttrSpanKind, Value: span.StringValue(kind)}}, attrs...)}
	span.Normalize(sp)
	return sp
}

func str(k, v string) span.Attr       { return span.Attr{Key: k, Value: span.StringValue(v)} }
func num(k string, n int64) span.Attr { return span.Attr{Key: k, Value: span.IntValue(n)} }

// Embedding calls are priced like LLM calls, from their prompt tokens, and a
// model without a price says so.
func TestPriceSpanEmbeddings(t *testing.T) {
	for _, tc := range []struct {
		name  string
		sp    *span.Span
		want  span.CostStatus
		total float64
		entry string
	}{
		{"text-embedding-3-small, prompt and total", normalized("EMBEDDING", str(span.AttrEmbeddingModel, "text-embedding-3-small"),
			num(span.AttrTokensPrompt, 49), num(span.AttrTokensTotal, 49)), span.CostPriced, 49 * 0.02 / 1e6, "text-embedding-3-small"},
		{"text-embedding-3-large, total only", normalized("EMBEDDING", str(span.AttrEmbeddingModel, "text-embedding-3-large"),
			num(span.AttrTokensTotal, 1000)), span.CostPriced, 1000 * 0.13 / 1e6, "text-embedding-3-large"},
		{"ada-002 named in llm.model_name", normalized("EMBEDDING", str(span.AttrModelName, "text-embedding-ada-002"),
			num(span.AttrTokensPrompt, 10)), span.CostPriced, 10 * 0.1 / 1e6, "text-embedding-ada-002"},
		{"behind a router prefix", normalized("EMBEDDING", str(span.AttrEmbeddingModel, "azure/text-embedding-3-small"),
			num(span.AttrTokensPrompt, 8)), span.CostPriced, 8 * 0.02 / 1e6, "text-embedding-3-small"},
		{"gemini-embedding-001", normalized("EMBEDDING", str(span.AttrEmbeddingModel, "gemini-embedding-001"),
			num(span.AttrTokensPrompt, 100)), span.CostPriced, 100 * 0.15 / 1e6, "gemini-embedding-001"},
		{"mistral-embed", normalized("EMBEDDING", str(span.AttrEmbeddingModel, "mistral-embed"),
			num(span.AttrTokensPrompt, 100)), span.CostPriced, 100 * 0.1 / 1e6, "mistral-embed"},
		{"an embedding model without a price", normalized("EMBEDDING", str(span.AttrEmbeddingModel, "my-own-embedder"),
			num(span.AttrTokensPrompt, 8)), span.CostNoPrice, 0, ""},
		{"an embedding span without tokens", normalized("EMBEDDING", str(span.AttrEmbeddingModel, "text-embedding-3-small")),
			span.CostNone, 0, ""},
		{"a retriever is not priced", normalized("RETRIEVER", str(span.AttrModelName, "text-embedding-3-small"),
			num(span.AttrTokensPrompt, 8)), span.CostNone, 0, ""},
	} {
		Default().PriceSpan(tc.sp)
		c := tc.sp.View.Cost
		if c.Status != tc.want || math.Abs(c.Total-tc.total) > 1e-15 || c.Entry != tc.entry {
			t.Errorf("%s: cost %+v, want %q %g from %q", tc.name, c, tc.want, tc.total, tc.entry)
		}
		if tc.want == span.CostPriced && (c.Completion != 0 || math.Abs(c.Prompt-tc.total) > 1e-15) {
			t.Errorf("%s: prompt %g and completion %g, want the whole cost on the prompt", tc.name, c.Prompt, c.Completion)
		}
	}
}

// OpenRouter's :free variants cost $0: priced, not "no price".
func TestPriceSpanOpenRouterFree(t *testing.T) {
	for _, model := range []string{
		"openrouter/google/gemma-3n-e4b-it:free", // litellm's spelling
		"google/gemma-3n-e4b-it:free",            // what OpenRouter answers
		"meta-llama/llama-3.2-3b-instruct:free",
		"deepseek/deepseek-r1-0528:FREE",
		"openrouter/free",
	} {
		sp := normalized("LLM", str(span.AttrModelName, model), num(span.AttrTokensPrompt, 30), num(span.AttrTokensComplete, 19))
		Default().PriceSpan(sp)
		if c := sp.View.Cost; c.Status != span.CostPriced || c.Total != 0 || c.Entry != "meta-llama/llama-3.2-3b-instruct:free" {
			t.Errorf("%s: cost %+v, want priced at $0 by the :free entry", model, c)
		}
	}
	// The paid models of the same names are not free, and ":free" inside a
	// name is not the variant.
	for _, model := range []string{"google/gemma-3n-e4b-it", "gpt-4o-mini:free-trial", "free"} {
		e, ok := Default().Lookup(model, "")
		if ok && e.Prices[Output] == 0 && e.Prices[Input] == 0 {
			t.Errorf("%s: priced at $0 by %q", model, e.Name)
		}
	}
}
