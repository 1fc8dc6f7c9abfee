package api

import (
	"strings"
	"testing"
)

// TestAnnotationConfigRequests follows Phoenix's routers/v1/annotation_configs.py:
// its bodies, statuses and messages, request by request.
func TestAnnotationConfigRequests(t *testing.T) {
	h := newTestAPI(t)
	cat := GlobalID("CategoricalAnnotationConfig", 1)
	csat := GlobalID("ContinuousAnnotationConfig", 2)
	tone := GlobalID("FreeformAnnotationConfig", 3)
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantInBody         string
	}{
		{"GET", "/v1/annotation_configs", "", 200, `{"data":[],"next_cursor":null}`},
		{"POST", "/v1/annotation_configs", `{"name":"correctness","type":"CATEGORICAL","optimization_direction":"MAXIMIZE","values":[{"label":"correct","score":1},{"label":"incorrect","score":0}]}`,
			200, `{"data":{"id":"` + cat + `","name":"correctness","type":"CATEGORICAL","description":null,"optimization_direction":"MAXIMIZE","values":[{"label":"correct","score":1},{"label":"incorrect","score":0}]}}`},
		{"POST", "/v1/annotation_configs", `{"name":"correctness","type":"FREEFORM"}`, 409, "The name of the annotation configuration is already taken"},
		{"POST", "/v1/annotation_configs", `{"name":"note","type":"FREEFORM"}`, 409, "The name 'note' is reserved"},
		// The schema's refusals are 422s; the config's own checks 400s.
		{"POST", "/v1/annotation_configs", `{"name":"csat","type":"SLIDER"}`, 422, "CATEGORICAL, CONTINUOUS or FREEFORM"},
		{"POST", "/v1/annotation_configs", `{"type":"FREEFORM"}`, 422, "name: required"},
		{"POST", "/v1/annotation_configs", `{"name":"csat","type":"CONTINUOUS"}`, 422, "optimization_direction: required"},
		{"POST", "/v1/annotation_configs", `{"name":"csat","type":"CONTINUOUS","optimization_direction":"UP"}`, 422, "MINIMIZE, MAXIMIZE or NONE"},
		{"POST", "/v1/annotation_configs", `{"name":"x","type":"CATEGORICAL","optimization_direction":"NONE"}`, 422, "values: required"},
		{"POST", "/v1/annotation_configs", `{"name":"x","type":"CATEGORICAL","optimization_direction":"NONE","values":[]}`, 400, "at least one label"},
		{"POST", "/v1/annotation_configs", `{"name":"x","type":"CATEGORICAL","optimization_direction":"NONE","values":[{"label":"a"},{"label":"a"}]}`, 400, `"a" is listed twice`},
		{"POST", "/v1/annotation_configs", `{"name":"csat","type":"CONTINUOUS","optimization_direction":"MAXIMIZE","lower_bound":5,"upper_bound":5}`, 400, "the lower bound 5 is not below the upper bound 5"},
		{"POST", "/v1/annotation_configs", `{"name":"csat","type":"CONTINUOUS","optimization_direction":"MAXIMIZE","lower_bound":1,"upper_bound":5}`,
			200, `{"data":{"id":"` + csat + `","name":"csat","type":"CONTINUOUS","description":null,"optimization_direction":"MAXIMIZE","lower_bound":1,"upper_bound":5}}`},
		{"POST", "/v1/annotation_configs", `{"name":"tone","type":"FREEFORM","description":"How it sounds","threshold":0.5}`,
			200, `{"data":{"id":"` + tone + `","name":"tone","type":"FREEFORM","description":"How it sounds","optimization_direction":null,"threshold":0.5,"lower_bound":null,"upper_bound":null}}`},

		// Lists: newest first, paged by a cursor that is the next page's first id.
		{"GET", "/v1/annotation_configs?limit=2", "", 200, `"name":"tone"`},
		{"GET", "/v1/annotation_configs?limit=2", "", 200, `"next_cursor":"` + cat + `"`},
		{"GET", "/v1/annotation_configs?cursor=" + cat, "", 200, `{"data":[{"id":"` + cat + `"`},
		{"GET", "/v1/annotation_configs?cursor=" + csat + "&limit=1", "", 200, `"next_cursor":"` + cat + `"`},
		{"GET", "/v1/annotation_configs?limit=0", "", 422, "limit must be a positive integer"},
		{"GET", "/v1/annotation_configs?cursor=nope", "", 400, "Invalid cursor: nope"},
		{"GET", "/v1/annotation_configs?cursor=" + GlobalID("Span", 1), "", 400, "Invalid cursor"},

		// One config, by GlobalID or name.
		{"GET", "/v1/annotation_configs/" + cat, "", 200, `"name":"correctness"`},
		{"GET", "/v1/annotation_configs/csat", "", 200, `"id":"` + csat + `"`},
		{"GET", "/v1/annotation_configs/nope", "", 404, "Annotation configuration not found"},
		{"GET", "/v1/annotation_configs/" + GlobalID("Span", 1), "", 400, "Invalid annotation configuration ID"},

		// PUT replaces the whole config, its name and type included.
		{"PUT", "/v1/annotation_configs/" + tone, `{"name":"voice","type":"CONTINUOUS","optimization_direction":"MINIMIZE","lower_bound":0}`,
			200, `{"data":{"id":"` + GlobalID("ContinuousAnnotationConfig", 3) + `","name":"voice","type":"CONTINUOUS","description":null,"optimization_direction":"MINIMIZE","lower_bound":0,"upper_bound":null}}`},
		{"GET", "/v1/annotation_configs/tone", "", 404, "not found"},
		{"PUT", "/v1/annotation_configs/" + csat, `{"name":"correctness","type":"FREEFORM"}`, 409, "already taken"},
		{"PUT", "/v1/annotation_configs/" + csat, `{"name":"note","type":"FREEFORM"}`, 409, "reserved"},
		{"PUT", "/v1/annotation_configs/" + GlobalID("FreeformAnnotationConfig", 99), `{"name":"z","type":"FREEFORM"}`, 404, "Annotation configuration not found"},
		{"PUT", "/v1/annotation_configs/" + GlobalID("Project", 1), `{"name":"z","type":"FREEFORM"}`, 400, "Invalid annotation configuration ID"},
		{"PUT", "/v1/annotation_configs/" + csat, `{"name":"csat","type":"CONTINUOUS","optimization_direction":"MAXIMIZE","lower_bound":9,"upper_bound":1}`, 400, "not below"},

		// Projects: configs assigned to them.
		{"POST", "/v1/projects", `{"name":"shop"}`, 200, `"name":"shop"`},
		{"GET", "/v1/projects/shop/annotation_configs", "", 200, `{"data":[],"next_cursor":null}`},
		{"GET", "/v1/projects/nope/annotation_configs", "", 404, "not found"},
		{"PUT", "/v1/projects/shop/annotation_configs/csat", "", 200, `{"data":{"id":"` + csat + `"`},
		{"PUT", "/v1/projects/shop/annotation_configs/" + csat, "", 200, `"name":"csat"`},
		{"PUT", "/v1/projects/shop/annotation_configs/nope", "", 404, "Annotation configuration not found"},
		{"PUT", "/v1/projects/nope/annotation_configs/csat", "", 404, "not found"},
		{"GET", "/v1/projects/shop/annotation_configs", "", 200, `{"data":[{"id":"` + csat + `"`},
		{"PUT", "/v1/projects/shop/annotation_configs", `{"annotation_config_ids":["` + cat + `","` + csat + `"]}`,
			200, `{"data":[{"id":"` + csat + `","name":"csat"`},
		{"GET", "/v1/projects/shop/annotation_configs?limit=1", "", 200, `"next_cursor":"` + cat + `"`},
		{"PUT", "/v1/projects/shop/annotation_configs", `{"annotation_config_ids":["` + GlobalID("FreeformAnnotationConfig", 99) + `"]}`, 422, "One or more annotation configurations were not found"},
		{"PUT", "/v1/projects/shop/annotation_configs", `{"annotation_config_ids":["csat"]}`, 422, "Invalid annotation configuration ID: csat"},
		{"PUT", "/v1/projects/shop/annotation_configs", `{}`, 422, "annotation_config_ids: required"},
		{"DELETE", "/v1/projects/shop/annotation_configs/" + csat, "", 204, ""},
		{"DELETE", "/v1/projects/shop/annotation_configs/" + csat, "", 204, ""},
		{"GET", "/v1/projects/shop/annotation_configs", "", 200, `{"data":[{"id":"` + cat + `","name":"correctness"`},
		{"PUT", "/v1/projects/shop/annotation_configs", `{"annotation_config_ids":[]}`, 200, `{"data":[],"next_cursor":null}`},

		{"DELETE", "/v1/annotation_configs/" + cat, "", 200, `"name":"correctness"`},
		{"GET", "/v1/annotation_configs/" + cat, "", 404, "not found"},
		{"DELETE", "/v1/annotation_configs/" + cat, "", 404, "Annotation configuration not found"},
	}
	for _, tc := range tests {
		code, body := send(t, h, tc.method, tc.path, tc.body)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s %s %s\n= %d %s\nwant %d containing %s", tc.method, tc.path, tc.body, code, body, tc.wantStatus, tc.wantInBody)
		}
	}
}
