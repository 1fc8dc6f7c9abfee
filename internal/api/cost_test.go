package api

import (
	"encoding/json"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

// A wrapped model call is counted once in the trace and in the usage
// report, each span says whether it is the one counted, and costs are
// numbers without the binary noise of their sums.
func TestCountedCallsOverREST(t *testing.T) {
	str := func(k, v string) span.Attr { return span.Attr{Key: k, Value: span.StringValue(v)} }
	tokens := []span.Attr{{Key: span.AttrTokensPrompt, Value: span.IntValue(30)}, {Key: span.AttrTokensComplete, Value: span.IntValue(19)}}
	root := testSpan("c", 1, 1, 0, span.KindChain)
	wrapper := testSpan("c", 1, 2, 1, span.KindLLM, append(tokens, str(span.AttrModelName, "openai/gpt-4o-mini"))...)
	wrapper.View.Cost = span.Cost{Status: span.CostPriced, Total: 0.0000195, Prompt: 0.0000045, Completion: 0.0000114}
	call := testSpan("c", 1, 3, 2, span.KindLLM, append(tokens, str(span.AttrModelName, "gpt-4o-mini-2024-07-18"))...)
	call.View.Cost = span.Cost{Status: span.CostPriced, Total: 0.0000159, Prompt: 0.0000045, Completion: 0.0000114}
	// Two more calls whose costs sum with noise: 0.1 + 0.2.
	a := testSpan("c", 1, 4, 1, span.KindLLM, append(tokens, str(span.AttrModelName, "m"))...)
	a.View.Cost = span.Cost{Status: span.CostPriced, Total: 0.1, Prompt: 0.1}
	b := testSpan("c", 1, 5, 1, span.KindEmbedding, str(span.AttrEmbeddingModel, "m"), span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(8)})
	b.View.Cost = span.Cost{Status: span.CostPriced, Total: 0.2, Prompt: 0.2}
	unpriced := testSpan("c", 1, 6, 1, span.KindLLM, tokens...)
	unpriced.View.Cost = span.Cost{Status: span.CostNoPrice}
	h := newTestAPI(t, call, wrapper, root, a, b, unpriced)

	code, body := get(t, h, "/v1/projects/c/traces")
	var traces struct {
		Data []struct {
			Tokens   int64   `json:"token_count_total"`
			Cost     float64 `json:"total_cost"`
			Unpriced int64   `json:"unpriced_spans"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &traces); code != 200 || err != nil || len(traces.Data) != 1 {
		t.Fatalf("GET traces = %d %s (%v)", code, body, err)
	}
	// 49 tokens for the wrapped call, 49 for a, 8 for b, 49 unpriced.
	if tr := traces.Data[0]; tr.Tokens != 49+49+8+49 || tr.Cost != 0.3000159 || tr.Unpriced != 1 {
		t.Errorf("trace = %+v, want 155 tokens, cost 0.3000159 exactly, 1 unpriced (%s)", tr, body)
	}

	code, body = get(t, h, "/v1/projects/c/spans")
	var spans struct {
		Data []struct {
			Name    string `json:"name"`
			Context struct {
				SpanID string `json:"span_id"`
			} `json:"context"`
			Cost *struct {
				Total   *float64 `json:"total"`
				Counted bool     `json:"counted"`
			} `json:"cost"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &spans); code != 200 || err != nil {
		t.Fatalf("GET spans = %d %s (%v)", code, body, err)
	}
	type want struct {
		total   float64 // -1: no price; -2: no cost at all
		counted bool
	}
	wants := map[string]want{hexID(1, 16): {-2, false}, hexID(2, 16): {0.0000195, false}, hexID(3, 16): {0.0000159, true},
		hexID(4, 16): {0.1, true}, hexID(5, 16): {0.2, true}, hexID(6, 16): {-1, true}}
	for _, s := range spans.Data {
		w := wants[s.Context.SpanID]
		switch {
		case w.total == -2:
			if s.Cost != nil {
				t.Errorf("span %s has a cost %+v, want none", s.Context.SpanID, s.Cost)
			}
		case s.Cost == nil:
			t.Errorf("span %s has no cost, want %+v", s.Context.SpanID, w)
		case w.total == -1 && s.Cost.Total != nil, w.total >= 0 && (s.Cost.Total == nil || *s.Cost.Total != w.total), s.Cost.Counted != w.counted:
			t.Errorf("span %s cost = %+v, want %+v", s.Context.SpanID, s.Cost, w)
		}
	}

	code, body = get(t, h, "/v1/projects/c/usage?by=model")
	var usage struct {
		Data []struct {
			Key   string  `json:"key"`
			Calls int64   `json:"llm_spans"`
			Cost  float64 `json:"cost"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &usage); code != 200 || err != nil {
		t.Fatalf("GET usage = %d %s (%v)", code, body, err)
	}
	got := map[string]float64{}
	for _, u := range usage.Data {
		got[u.Key] = u.Cost
		if u.Calls < 1 {
			t.Errorf("usage row %+v has no calls", u)
		}
	}
	if len(got) != 2 || got["gpt-4o-mini-2024-07-18"] != 0.0000159 || got["m"] != 0.3 {
		t.Errorf("usage by model = %s, want the wrapped call under its own model alone, and m at 0.3 exactly", body)
	}
}
