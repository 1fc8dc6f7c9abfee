package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

func send(t *testing.T, h http.Handler, method, path, body string) (int, string) {
	t.Helper()
	w := httptest.NewRecorder()
	r := httptest.NewRequest(method, path, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	h.ServeHTTP(w, r)
	return w.Code, w.Body.String()
}

func TestAnnotationRequests(t *testing.T) {
	root := testSpan("p", 1, 1, 0, span.KindAgent, span.Attr{Key: span.AttrSessionID, Value: span.StringValue("sess")})
	llm := testSpan("p", 1, 2, 1, span.KindLLM)
	h := newTestAPI(t, root, llm)
	sid, tid := hexID(2, 16), hexID(1, 32)
	tests := []struct {
		method, path, body string
		wantStatus         int
		wantInBody         string
	}{
		{"POST", "/v1/span_annotations?sync=true", `{"data":[{"span_id":"` + sid + `","name":"correctness","annotator_kind":"LLM","result":{"label":"incorrect","score":0},"metadata":{"model":"judge"}}]}`,
			200, `"id":"` + GlobalID("SpanAnnotation", 1) + `"`},
		{"POST", "/v1/span_annotations?sync=true", `{"data":[{"span_id":"` + sid + `","name":"thumbs","annotator_kind":"HUMAN","result":{"label":"up"},"identifier":"alice"}]}`, 200, `"data":[{"id"`},
		{"POST", "/v1/span_annotations", `{"data":[]}`, 200, `{"data":[]}`},
		{"POST", "/v1/span_annotations?sync=true", `{"data":[{"span_id":"ffffffffffffffff","name":"x","annotator_kind":"LLM"}]}`, 404, "ffffffffffffffff"},
		{"POST", "/v1/span_annotations", `{"data":[{"span_id":"` + sid + `","name":"note","annotator_kind":"HUMAN"}]}`, 400, "reserved"},
		{"POST", "/v1/span_annotations", `{"data":[{"span_id":"` + sid + `","name":"x","annotator_kind":"ROBOT"}]}`, 422, "annotator_kind must be LLM, CODE or HUMAN"},
		{"POST", "/v1/span_annotations", `{"data":[{"name":"x","annotator_kind":"LLM"}]}`, 422, "span_id is required"},
		{"POST", "/v1/span_annotations", `{"data":[{"span_id":"` + sid + `","name":"x","annotator_kind":"LLM","metadata":[1]}]}`, 422, "metadata must be an object"},
		{"POST", "/v1/span_annotations", `{"data": nope}`, 422, "not valid JSON"},
		{"POST", "/v1/trace_annotations?sync=true", `{"data":[{"trace_id":"` + tid + `","name":"resolved","annotator_kind":"HUMAN","result":{"score":1}}]}`, 200, GlobalID("TraceAnnotation", 1)},
		{"POST", "/v1/session_annotations?sync=true", `{"data":[{"session_id":"sess","name":"csat","annotator_kind":"HUMAN","result":{"score":5}}]}`, 200, `"id"`},
		{"POST", "/v1/document_annotations?sync=true", `{"data":[{"span_id":"` + sid + `","document_position":1,"name":"relevant","annotator_kind":"LLM","result":{"score":0.5}}]}`, 200, `"id"`},
		{"POST", "/v1/document_annotations?sync=true", `{"data":[{"span_id":"` + sid + `","name":"relevant","annotator_kind":"LLM"}]}`, 422, "document_position"},
		{"POST", "/v1/span_notes", `{"data":{"span_id":"` + sid + `","note":"looks wrong"}}`, 200, `"id"`},
		{"POST", "/v1/span_notes", `{"data":{"span_id":"` + sid + `","note":""}}`, 422, "note is required"},
		{"GET", "/v1/projects/p/span_annotations?span_ids=" + sid + "&exclude_annotation_names=note", "", 200, `"name":"thumbs"`},
		{"GET", "/v1/projects/p/span_annotations?span_ids=" + sid + "&include_annotation_names=note", "", 200, `"explanation":"looks wrong"`},
		{"GET", "/v1/projects/p/span_annotations?identifier=alice", "", 200, `"label":"up"`},
		{"GET", "/v1/projects/p/span_annotations", "", 422, "give span_ids or identifier"},
		{"GET", "/v1/projects/p/span_annotations?span_ids=eeeeeeeeeeeeeeee", "", 404, "none of the span_ids"},
		{"GET", "/v1/projects/p/trace_annotations?trace_ids=" + tid, "", 200, `"trace_id":"` + tid + `"`},
		{"GET", "/v1/projects/p/session_annotations?session_ids=sess", "", 200, `"name":"csat"`},
		{"DELETE", "/v1/projects/p/span_annotations", "", 422, "delete_all=true"},
		{"DELETE", "/v1/projects/p/span_annotations?name=thumbs", "", 204, ""},
		{"GET", "/v1/projects/p/span_annotations?identifier=alice", "", 200, `"data":[]`},
	}
	for _, tc := range tests {
		code, body := send(t, h, tc.method, tc.path, tc.body)
		if code != tc.wantStatus || !strings.Contains(body, tc.wantInBody) {
			t.Errorf("%s %s %s\n= %d %s\nwant %d containing %s", tc.method, tc.path, tc.body, code, body, tc.wantStatus, tc.wantInBody)
		}
	}
}

func TestAsyncAnnotationWaitsForItsSpan(t *testing.T) {
	h := newTestAPI(t, testSpan("p", 1, 1, 0, span.KindLLM))
	code, body := send(t, h, "POST", "/v1/span_annotations", `{"data":[
		{"span_id":"`+hexID(1, 16)+`","name":"now","annotator_kind":"CODE","result":{"score":1}},
		{"span_id":"`+hexID(9, 16)+`","name":"later","annotator_kind":"CODE","result":{"score":1}}]}`)
	if code != 200 || body != "{\"data\":[]}\n" {
		t.Fatalf("async post = %d %s", code, body)
	}
	code, body = send(t, h, "GET", "/v1/projects/p/span_annotations?span_ids="+hexID(1, 16), "")
	var page struct{ Data []map[string]any }
	json.Unmarshal([]byte(body), &page)
	if code != 200 || len(page.Data) != 1 {
		t.Errorf("the annotation whose span exists was not written at once: %d %s", code, body)
	}
}

func TestPendingRetry(t *testing.T) {
	st := newTestStore(t)
	p := &Pending{}
	ann := store.Annotation{Kind: store.SpanAnnotation, SpanID: hexID(5, 16), Name: "late", AnnotatorKind: "CODE", Score: new(float64)}
	if err := p.add(context.Background(), st, []store.Annotation{ann}, []string{hexID(5, 16)}); err != nil {
		t.Fatal(err)
	}
	p.retry(context.Background(), st)
	if p.Len() != 1 {
		t.Fatalf("waiting = %d, want 1 while the span is missing", p.Len())
	}
	if _, err := st.WriteSpans(context.Background(), []span.Span{testSpan("p", 5, 5, 0, span.KindLLM)}); err != nil {
		t.Fatal(err)
	}
	p.retry(context.Background(), st)
	if p.Len() != 0 {
		t.Fatalf("waiting = %d after the span arrived", p.Len())
	}
	pr, _ := st.ProjectByName(context.Background(), "p")
	got, err := st.Annotations(context.Background(), store.AnnotationQuery{Kind: store.SpanAnnotation, ProjectID: pr.ID})
	if err != nil || len(got) != 1 || got[0].Name != "late" {
		t.Errorf("annotations = %+v, %v", got, err)
	}
}
