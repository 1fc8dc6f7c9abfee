package api

import (
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

func TestPriceRequests(t *testing.T) {
	llm := testSpan("p", 1, 1, 0, span.KindLLM,
		span.Attr{Key: span.AttrModelName, Value: span.StringValue("acme-1")},
		span.Attr{Key: span.AttrTokensPrompt, Value: span.IntValue(10)})
	llm.View.Cost = span.Cost{Status: span.CostNoPrice}
	h := newTestAPI(t, llm)
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantInBody         string
	}{
		{"GET", "/v1/model_prices", "", 200, `"model_name":"acme-1"`},
		{"GET", "/v1/model_prices", "", 200, `"price":null`},
		{"GET", "/v1/model_prices", "", 200, `"name":"gpt-4o-mini"`},
		{"GET", "/v1/projects/p/traces", "", 200, `"unpriced_spans":1`},
		{"PUT", "/v1/model_prices", `{"data":{"entries":[{"name":"acme","pattern":"(","prices":{"input":1}}]}}`, 422, "invalid price entries"},
		{"PUT", "/v1/model_prices", `{"data":{"entries":[{"name":"acme-1","pattern":"acme-.*","prices":{"input":1,"output":2}}]}}`, 200, `"recomputing_models":["acme-1"]`},
		{"GET", "/v1/model_prices", "", 200, `"origin":"user"`},
		{"GET", "/v1/model_prices/recompute", "", 200, `"running"`},
		{"POST", "/v1/model_prices/recompute", "", 202, `"recomputing_models":["acme-1"]`},
	}
	for _, tc := range tests {
		code, body := send(t, h, tc.method, tc.path, tc.body)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s %s %s\n= %d %.300s\nwant %d containing %s", tc.method, tc.path, tc.body, code, body, tc.wantStatus, tc.wantInBody)
		}
	}
}
