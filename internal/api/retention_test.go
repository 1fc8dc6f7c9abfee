package api

import (
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

func TestRetentionRequests(t *testing.T) {
	h := newTestAPI(t, testSpan("kept", 1, 1, 0, span.KindAgent), testSpan("kept", 1, 2, 1, span.KindLLM))
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantInBody         string
	}{
		{"GET", "/v1/retention", "", 200, `{"data":{"max_days":0,"max_traces":0,"inherited":false}}`},
		{"GET", "/v1/projects/kept/retention", "", 200, `{"data":{"max_days":0,"max_traces":0,"inherited":true}}`},
		{"PUT", "/v1/retention", `{"data":{"max_days":30}}`, 200, `"max_days":30`},
		{"GET", "/v1/projects/kept/retention", "", 200, `{"data":{"max_days":30,"max_traces":0,"inherited":true}}`},
		{"PUT", "/v1/projects/kept/retention", `{"data":{"max_days":7.5,"max_traces":100000}}`, 200, `{"data":{"max_days":7.5,"max_traces":100000,"inherited":false}}`},
		{"GET", "/v1/projects/kept/retention", "", 200, `{"data":{"max_days":7.5,"max_traces":100000,"inherited":false}}`},
		{"PUT", "/v1/projects/kept/retention", `{"data":{"max_days":-1}}`, 422, "must not be negative"},
		{"PUT", "/v1/projects/kept/retention", `{"max_days":1}`, 422, `body must be {"data"`},
		{"PUT", "/v1/projects/kept/retention", `{"data":`, 422, ""},
		{"PUT", "/v1/projects/nope/retention", `{"data":{"max_days":1}}`, 404, "not found"},
		{"GET", "/v1/storage?days=2", "", 200, `"name":"kept","traces":1,"spans":2`},
		{"GET", "/v1/storage?days=2", "", 200, `"retention":{"max_days":7.5,"max_traces":100000,"inherited":false},"spans_per_day":[{"date":`},
		{"GET", "/v1/storage", "", 200, `"default_retention":{"max_days":30,"max_traces":0,"inherited":false}`},
		{"GET", "/v1/storage?days=x", "", 422, "days must be"},
		{"DELETE", "/v1/projects/kept/retention", "", 204, ""},
		{"GET", "/v1/projects/kept/retention", "", 200, `"inherited":true`},
		{"DELETE", "/v1/retention", "", 204, ""},
		{"GET", "/v1/retention", "", 200, `{"data":{"max_days":0,"max_traces":0,"inherited":false}}`},
	}
	for _, tc := range tests {
		code, body := send(t, h, tc.method, tc.path, tc.body)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s %s %s\n= %d %s\nwant %d containing %s", tc.method, tc.path, tc.body, code, body, tc.wantStatus, tc.wantInBody)
		}
	}
}
