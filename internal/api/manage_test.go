package api

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

func TestManageRequests(t *testing.T) {
	sess := span.Attr{Key: span.AttrSessionID, Value: span.StringValue("conv")}
	h := newTestAPI(t,
		testSpan("src", 1, 1, 0, span.KindAgent, sess), testSpan("src", 1, 2, 1, span.KindLLM),
		testSpan("src", 2, 3, 0, span.KindAgent, sess),
		testSpan("src", 3, 4, 0, span.KindChain),
	)
	uploaded := `{"data":[{"name":"uploaded","context":{"trace_id":"` + hexID(7, 32) + `","span_id":"` + hexID(70, 16) + `"},
		"span_kind":"LLM","parent_id":null,"start_time":"2024-05-01T10:00:00+00:00","end_time":"2024-05-01T10:00:01.5+00:00",
		"status_code":"OK","status_message":"","attributes":{"llm.model_name":"gpt-4o","llm":{"token_count":{"prompt":5}},"tag.tags":["x"]},
		"events":[{"name":"note","timestamp":"2024-05-01T10:00:01+00:00","attributes":{"k":1}}]}]}`
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantInBody         string
	}{
		{"POST", "/v1/projects", `{"name":"dest","description":"d"}`, 200, `"name":"dest"`},
		{"POST", "/v1/projects", `{"name":"dest"}`, 409, "already exists"},
		{"POST", "/v1/projects", `{"name":" "}`, 422, "name is required"},
		{"PUT", "/v1/projects/dest", `{"description":"new words"}`, 200, `"description":"new words"`},
		{"DELETE", "/v1/projects/default", "", 403, "cannot be deleted"},
		{"POST", "/v1/traces/transfer", `{"trace_identifiers":["` + hexID(1, 32) + `"],"destination_project_identifier":"dest"}`, 200, `"transferred_trace_count":1`},
		{"POST", "/v1/traces/transfer", `{"trace_identifiers":["` + hexID(99, 32) + `"],"destination_project_identifier":"dest"}`, 404, "not found"},
		{"POST", "/v1/traces/transfer", `{"trace_identifiers":[],"destination_project_identifier":"dest"}`, 422, "at least one trace"},
		{"GET", "/v1/projects/dest/traces", "", 200, `"trace_id":"` + hexID(1, 32) + `"`},
		{"GET", "/v1/projects/src/sessions", "", 200, `"session_id":"conv"`},
		{"GET", "/v1/sessions/conv", "", 200, `"num_traces":2`},
		{"GET", "/v1/projects/dest/sessions", "", 200, `"data":[]`},
		{"GET", "/v1/sessions/" + GlobalID("ProjectSession", 1), "", 200, `"session_id":"conv"`},
		{"GET", "/v1/sessions/nope", "", 404, "Session nope not found"},
		{"DELETE", "/v1/traces/" + hexID(3, 32), "", 204, ""},
		{"DELETE", "/v1/traces/" + GlobalID("Trace", 3), "", 404, "not found"},
		{"DELETE", "/v1/traces/xyz", "", 422, "neither a Trace GlobalID"},
		{"POST", "/v1/sessions/delete", `{"session_identifiers":["conv","gone"]}`, 204, ""},
		{"GET", "/v1/sessions/conv", "", 404, "not found"},
		{"POST", "/v1/projects/src/spans", uploaded, 202, `"total_queued":1`},
		{"POST", "/v1/projects/src/spans", uploaded, 400, `"total_duplicates":1`},
		{"POST", "/v1/projects/src/spans", `{"data":[{"name":"bad","context":{"trace_id":"zz","span_id":"01"}}]}`, 400, `"total_invalid":1`},
		{"GET", "/v1/projects/src/spans?span_id=" + hexID(70, 16), "", 200, `"llm.token_count.prompt":5`},
		{"GET", "/v1/projects/src/spans/otlpv1?span_id=" + hexID(70, 16), "", 200, `{"key":"llm.model_name","value":{"string_value":"gpt-4o"}}`},
		{"DELETE", "/v1/projects/dest", "", 204, ""},
		{"GET", "/v1/projects/dest", "", 404, "not found"},
	}
	for _, tc := range tests {
		code, body := send(t, h, tc.method, tc.path, tc.body)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s %s %s\n= %d %s\nwant %d containing %s", tc.method, tc.path, tc.body, code, body, tc.wantStatus, tc.wantInBody)
		}
	}
	_, body := send(t, h, "GET", "/v1/projects/src/spans/otlpv1?span_id="+hexID(70, 16), "")
	var page struct {
		Data []struct {
			Kind              int    `json:"kind"`
			StartTimeUnixNano string `json:"start_time_unix_nano"`
			Status            struct{ Code int }
			Events            []struct{ Name string }
		}
	}
	json.Unmarshal([]byte(body), &page)
	if len(page.Data) != 1 || page.Data[0].StartTimeUnixNano != "1714557600000000000" || page.Data[0].Status.Code != 1 || len(page.Data[0].Events) != 1 {
		t.Errorf("otlpv1 span = %s", body)
	}
}
