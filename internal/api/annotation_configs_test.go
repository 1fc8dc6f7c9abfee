package api

import (
	"strings"
	"testing"
)

func TestAnnotationConfigRequests(t *testing.T) {
	h := newTestAPI(t)
	cat := GlobalID("CategoricalAnnotationConfig", 1)
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantInBody         string
	}{
		{"GET", "/v1/annotation_configs", "", 200, `{"data":[],"next_cursor":null}`},
		{"POST", "/v1/annotation_configs", `{"name":"correctness","type":"CATEGORICAL","optimization_direction":"MAXIMIZE","values":[{"label":"correct","score":1},{"label":"incorrect","score":0}]}`,
			200, `{"data":{"id":"` + cat + `","name":"correctness","type":"CATEGORICAL","description":null,"optimization_direction":"MAXIMIZE","values":[{"label":"correct","score":1},{"label":"incorrect","score":0}]}}`},
		{"POST", "/v1/annotation_configs", `{"name":"correctness","type":"FREEFORM"}`, 409, "already taken"},
		{"POST", "/v1/annotation_configs", `{"name":"csat","type":"CONTINUOUS","lower_bound":5,"upper_bound":1}`, 422, "the lower bound 5 is above the upper bound 1"},
		{"POST", "/v1/annotation_configs", `{"name":"csat","type":"SLIDER"}`, 422, "CATEGORICAL, CONTINUOUS or FREEFORM"},
		{"POST", "/v1/annotation_configs", `{"name":"csat","type":"CONTINUOUS","lower_bound":1,"upper_bound":5}`, 200, `"lower_bound":1,"upper_bound":5`},
		{"GET", "/v1/annotation_configs", "", 200, `"name":"correctness"`},
		{"GET", "/v1/annotation_configs/" + cat, "", 200, `"name":"correctness"`},
		{"GET", "/v1/annotation_configs/csat", "", 200, `"id":"` + GlobalID("ContinuousAnnotationConfig", 2) + `"`},
		{"GET", "/v1/annotation_configs/nope", "", 404, "not found"},
		{"DELETE", "/v1/annotation_configs/" + cat, "", 200, `"name":"correctness"`},
		{"GET", "/v1/annotation_configs/" + cat, "", 404, "not found"},
	}
	for _, tc := range tests {
		code, body := send(t, h, tc.method, tc.path, tc.body)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s %s %s\n= %d %s\nwant %d containing %s", tc.method, tc.path, tc.body, code, body, tc.wantStatus, tc.wantInBody)
		}
	}
}
