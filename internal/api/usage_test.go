package api

import (
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

func TestUsageRequests(t *testing.T) {
	str := func(k, v string) span.Attr { return span.Attr{Key: k, Value: span.StringValue(v)} }
	tokens := func(p, c int64) []span.Attr {
		return []span.Attr{{Key: span.AttrTokensPrompt, Value: span.IntValue(p)}, {Key: span.AttrTokensComplete, Value: span.IntValue(c)}}
	}
	root := testSpan("u", 1, 1, 0, span.KindAgent, str(span.AttrUserID, "alice"))
	direct := testSpan("u", 1, 2, 1, span.KindLLM, append(tokens(100, 20), str(span.AttrModelName, "m-a"), str(span.AttrTemplateVersion, "v1"))...)
	direct.View.Cost = span.Cost{Status: span.CostPriced, Total: 0.5, Prompt: 0.3, Completion: 0.2}
	search := testSpan("u", 1, 3, 1, span.KindTool, str("tool.name", "search"))
	chain := testSpan("u", 1, 4, 3, span.KindChain)
	inTool := testSpan("u", 1, 5, 4, span.KindLLM, append(tokens(10, 5), str(span.AttrModelName, "m-b"))...)
	inTool.View.Cost = span.Cost{Status: span.CostNoPrice}
	calc := testSpan("u", 1, 6, 1, span.KindTool)
	h := newTestAPI(t, inTool, chain, search, calc, direct, root)

	modelA := `{"key":"m-a","llm_spans":1,"prompt_tokens":100,"completion_tokens":20,"total_tokens":120,"cache_read_tokens":0,"reasoning_tokens":0,"cost":0.5,"unpriced_spans":0}`
	tests := []struct {
		name, path string
		wantStatus int
		want       []string // in this order
		lacks      []string
	}{
		{"by model", "/v1/projects/u/usage?by=model", 200, []string{modelA, `"key":"m-b"`, `"unpriced_spans":1}`, `"sampled":false`}, []string{`"calls"`}},
		{"model is the default", "/v1/projects/u/usage", 200, []string{modelA, `"key":"m-b"`}, nil},
		{"by user", "/v1/projects/u/usage?by=user", 200, []string{`{"key":"alice","llm_spans":2,"prompt_tokens":110`, `"cost":0.5,"unpriced_spans":1}`}, nil},
		{"by prompt version", "/v1/projects/u/usage?by=prompt_version", 200, []string{`{"key":"v1","llm_spans":1`}, []string{`"key":"m-`}},
		{"by tool", "/v1/projects/u/usage?by=tool", 200, []string{
			`{"key":"search","llm_spans":1,"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"cache_read_tokens":0,"reasoning_tokens":0,"cost":0,"unpriced_spans":1,"calls":1,"latency_p50_ms":1.5}`,
			`{"key":"op-TOOL","llm_spans":0,`, `"calls":1,`, `"sampled":false`}, []string{`"key":"m-a"`}},
		{"by tool in range", "/v1/projects/u/usage?by=tool&start_time=2024-05-01T10:00:00Z&end_time=2024-05-01T10:00:00.004Z", 200,
			[]string{`"key":"search"`}, []string{`"op-TOOL"`}},
		{"by tool, nothing in range", "/v1/projects/u/usage?by=tool&start_time=2024-05-01T11:00:00Z", 200, []string{`{"data":[],"sampled":false}`}, nil},
		{"unknown dimension", "/v1/projects/u/usage?by=session", 422, []string{"by must be one of"}, nil},
		{"bad time", "/v1/projects/u/usage?by=tool&start_time=yesterday", 422, []string{"start_time"}, nil},
		{"unknown project", "/v1/projects/nope/usage", 404, []string{"not found"}, nil},
		{"empty range", "/v1/projects/u/usage?start_time=2024-05-01T11:00:00Z&end_time=2024-05-01T10:00:00Z", 422, []string{"end_time must be after start_time"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, h, tc.path)
			if code != tc.wantStatus {
				t.Fatalf("GET %s = %d %s, want %d", tc.path, code, body, tc.wantStatus)
			}
			rest := body
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("GET %s = %s\nwant, after what came before, %s", tc.path, body, w)
				}
				rest = rest[i+len(w):]
			}
			for _, l := range tc.lacks {
				if strings.Contains(body, l) {
					t.Errorf("GET %s = %s\nwant no %s", tc.path, body, l)
				}
			}
		})
	}
}
