package api

import (
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

const (
	defaultPolicy = `"policy_id":"UHJvamVjdFRyYWNlUmV0ZW50aW9uUG9saWN5OjA="` // ProjectTraceRetentionPolicy:0
	keptPolicy    = `"policy_id":"UHJvamVjdFRyYWNlUmV0ZW50aW9uUG9saWN5OjI="` // ProjectTraceRetentionPolicy:2, project kept's
)

func TestRetentionRequests(t *testing.T) {
	h := newTestAPI(t, testSpan("kept", 1, 1, 0, span.KindAgent), testSpan("kept", 1, 2, 1, span.KindLLM))
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantInBody         string
	}{
		{"GET", "/v1/retention", "", 200, `{"data":{"max_days":0,"max_traces":0,"inherited":false,` + defaultPolicy + `}}`},
		{"GET", "/v1/projects/kept/retention", "", 200, `{"data":{"max_days":0,"max_traces":0,"inherited":true,` + defaultPolicy + `}}`},
		{"PUT", "/v1/retention", `{"data":{"max_days":30}}`, 200, `"max_days":30`},
		{"GET", "/v1/projects/kept/retention", "", 200, `{"data":{"max_days":30,"max_traces":0,"inherited":true,` + defaultPolicy + `}}`},
		{"PUT", "/v1/projects/kept/retention", `{"data":{"max_days":7.5,"max_traces":100000}}`, 200, `{"data":{"max_days":7.5,"max_traces":100000,"inherited":false,` + keptPolicy + `}}`},
		{"GET", "/v1/projects/kept/retention", "", 200, `{"data":{"max_days":7.5,"max_traces":100000,"inherited":false,` + keptPolicy + `}}`},
		{"PUT", "/v1/projects/kept/retention", `{"data":{"max_days":-1}}`, 422, "must not be negative"},
		{"PUT", "/v1/projects/kept/retention", `{"max_days":1}`, 422, `body must be {"data"`},
		{"PUT", "/v1/projects/kept/retention", `{"data":`, 422, ""},
		{"PUT", "/v1/projects/nope/retention", `{"data":{"max_days":1}}`, 404, "not found"},
		{"GET", "/v1/storage?days=2", "", 200, `"name":"kept","traces":1,"spans":2`},
		{"GET", "/v1/storage?days=2", "", 200, `"retention":{"max_days":7.5,"max_traces":100000,"inherited":false,` + keptPolicy + `},"spans_per_day":[{"date":`},
		{"GET", "/v1/storage", "", 200, `"default_retention":{"max_days":30,"max_traces":0,"inherited":false,` + defaultPolicy + `}`},
		{"GET", "/v1/storage?days=x", "", 422, "days must be"},
		{"DELETE", "/v1/projects/kept/retention", "", 204, ""},
		{"GET", "/v1/projects/kept/retention", "", 200, `"inherited":true`},
		{"DELETE", "/v1/retention", "", 204, ""},
		{"GET", "/v1/retention", "", 200, `{"data":{"max_days":0,"max_traces":0,"inherited":false,` + defaultPolicy + `}}`},
	}
	for _, tc := range tests {
		code, body := send(t, h, tc.method, tc.path, tc.body)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s %s %s\n= %d %s\nwant %d containing %s", tc.method, tc.path, tc.body, code, body, tc.wantStatus, tc.wantInBody)
		}
	}
}

// Phoenix's PATCH points a project at a policy by id: Loupe's default and
// the project's own are the ones a project can follow.
func TestRetentionPatch(t *testing.T) {
	h := newTestAPI(t, testSpan("kept", 1, 1, 0, span.KindAgent), testSpan("other", 2, 2, 0, span.KindAgent))
	kept, other := GlobalID("Project", 2), GlobalID("Project", 3)
	def, keptOwn, otherOwn := policyID(0), policyID(2), policyID(3)
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantBody           string
	}{
		{"PATCH", "/v1/projects/kept/retention", `{}`, 422, "policy_id is required"},
		{"PATCH", "/v1/projects/kept/retention", `{"policy_id":"bogus"}`, 422, "Invalid retention policy ID: bogus"},
		{"PATCH", "/v1/projects/kept/retention", `{"policy_id":"` + kept + `"}`, 422, "Invalid retention policy ID: " + kept},
		{"PATCH", "/v1/projects/kept/retention", `{"policy_id":"` + keptOwn + `"}`, 404, "Retention policy with ID " + keptOwn + " not found"},
		{"PATCH", "/v1/projects/nope/retention", `{"policy_id":null}`, 404, "Project with name nope not found"},
		{"PUT", "/v1/projects/kept/retention", `{"data":{"max_days":3}}`, 200, keptPolicy},
		{"PUT", "/v1/projects/other/retention", `{"data":{"max_days":5}}`, 200, ""},
		{"PATCH", "/v1/projects/kept/retention", `{"policy_id":"` + keptOwn + `"}`, 200, `{"data":{"policy_id":"` + keptOwn + `","project_id":"` + kept + `"}}`},
		{"PATCH", "/v1/projects/kept/retention", `{"policy_id":"` + otherOwn + `"}`, 422, "is the policy of another project"},
		{"GET", "/v1/projects/kept/retention", "", 200, `"max_days":3,`},
		{"PATCH", "/v1/projects/kept/retention", `{"policy_id":"` + def + `"}`, 200, `{"data":{"policy_id":null,"project_id":"` + kept + `"}}`},
		{"GET", "/v1/projects/kept/retention", "", 200, `"inherited":true,` + defaultPolicy},
		{"PATCH", "/v1/projects/" + other + "/retention", `{"policy_id":null}`, 200, `{"data":{"policy_id":null,"project_id":"` + other + `"}}`},
		{"GET", "/v1/projects/other/retention", "", 200, `"inherited":true`},
	}
	for _, tc := range tests {
		code, body := send(t, h, tc.method, tc.path, tc.body)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantBody) {
			t.Errorf("%s %s %s\n= %d %s\nwant %d containing %s", tc.method, tc.path, tc.body, code, body, tc.wantStatus, tc.wantBody)
		}
	}
}
