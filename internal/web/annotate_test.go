package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/store"
)

// post sends a form as a browser on this server's page would.
func (e *testEnv) post(path string, form url.Values, header ...string) *httptest.ResponseRecorder {
	e.t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Host = "loupe.example:6006"
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://loupe.example:6006")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
		} else {
			req.Header.Set(header[i], header[i+1])
		}
	}
	rec := httptest.NewRecorder()
	e.mux.ServeHTTP(rec, req)
	return rec
}

func (e *testEnv) annotations(kind store.AnnotationKind, entityID string) []store.Annotation {
	e.t.Helper()
	p, err := e.store.ProjectByName(context.Background(), "support-bot")
	if err != nil {
		e.t.Fatal(err)
	}
	anns, err := e.store.Annotations(context.Background(), store.AnnotationQuery{Kind: kind, ProjectID: p.ID, EntityIDs: []string{entityID}})
	if err != nil {
		e.t.Fatal(err)
	}
	return anns
}

func TestAnnotateSpan(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	path := "/projects/support-bot/spans/" + llmSpan + "/annotations"

	// Without a script: the thumbs button posts and comes back to the span's tab.
	rec := e.post(path, url.Values{"name": {"thumbs"}, "label": {"up"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("thumbs up = %d, want 303\n%s", rec.Code, rec.Body)
	}
	want := "/projects/support-bot/traces/" + agentTrace + "?span=" + llmSpan + "&tab=annotations"
	if loc := rec.Header().Get("Location"); loc != want {
		t.Errorf("thumbs up redirects to %q, want %q", loc, want)
	}
	anns := e.annotations(store.SpanAnnotation, llmSpan)
	if len(anns) != 1 || anns[0].Name != "thumbs" || *anns[0].Label != "up" || *anns[0].Score != 1 ||
		anns[0].AnnotatorKind != "HUMAN" || anns[0].Source != "APP" {
		t.Fatalf("after thumbs up: %+v", anns)
	}

	// With a script: the same form with the fragment header gets the block back.
	rec = e.post(path, url.Values{"name": {"thumbs"}, "label": {"down"}}, fragmentHeader, "1")
	if rec.Code != http.StatusOK {
		t.Fatalf("thumbs down (fragment) = %d\n%s", rec.Code, rec.Body)
	}
	contains(t, "annotations fragment", rec.Body.String(), "data-annotations", `value="down" aria-pressed="true"`, "HUMAN", "APP")
	if anns := e.annotations(store.SpanAnnotation, llmSpan); len(anns) != 1 || *anns[0].Label != "down" || *anns[0].Score != 0 {
		t.Errorf("thumbs down does not replace thumbs up: %+v", anns)
	}

	// A label, a score and an explanation; then a note.
	rec = e.post(path, url.Values{"name": {"correctness"}, "label": {"incorrect"}, "score": {"0.25"}, "explanation": {"Cites <the wrong> policy"}}, fragmentHeader, "1")
	if rec.Code != http.StatusOK {
		t.Fatalf("label and score = %d\n%s", rec.Code, rec.Body)
	}
	contains(t, "after a label", rec.Body.String(), "correctness", "incorrect", "0.25", "Cites &lt;the wrong&gt; policy")
	for range 2 {
		if rec = e.post(path, url.Values{"note": {"Check the retrieval"}}); rec.Code != http.StatusSeeOther {
			t.Fatalf("note = %d\n%s", rec.Code, rec.Body)
		}
	}
	notes := 0
	for _, a := range e.annotations(store.SpanAnnotation, llmSpan) {
		if a.Name == "note" {
			notes++
			if !strings.HasPrefix(a.Identifier, "px-span-note:") || *a.Explanation != "Check the retrieval" {
				t.Errorf("note: %+v", a)
			}
		}
	}
	if notes != 2 {
		t.Errorf("%d notes, want 2: notes add up, they do not replace each other", notes)
	}

	// The span's Annotations tab lists them all.
	body := e.mustGet("/projects/support-bot/traces/" + agentTrace + "?span=" + llmSpan + "&tab=annotations")
	contains(t, "annotations tab", body, `data-panel="annotations"`, "correctness", "incorrect", "0.25", "Check the retrieval",
		"HUMAN", `data-annotation-count>4<`, `aria-selected="true">annotations`)
}

func TestAnnotateTrace(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	rec := e.post("/projects/support-bot/traces/"+agentTrace+"/annotations?span="+toolSpan, url.Values{"name": {"resolved"}, "score": {"1"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("trace annotation = %d\n%s", rec.Code, rec.Body)
	}
	if loc := rec.Header().Get("Location"); loc != "/projects/support-bot/traces/"+agentTrace+"?span="+toolSpan {
		t.Errorf("redirects to %q", loc)
	}
	if anns := e.annotations(store.TraceAnnotation, agentTrace); len(anns) != 1 || anns[0].Name != "resolved" {
		t.Fatalf("trace annotations: %+v", anns)
	}
	body := e.mustGet("/projects/support-bot/traces/" + agentTrace)
	contains(t, "trace header", body, `class="annot compact"`, "resolved", "Annotate")

	// The traces list shows it; the project header sums it up, with a link
	// that filters by it.
	body = e.mustGet("/projects/support-bot")
	contains(t, "traces list", body, `class="achip trace"`, "resolved")
	contains(t, "header", body, `class="asums"`, "resolved", "mean <b>1</b>",
		"filter=trace_annotations%5B%27resolved%27%5D")
}

func TestAnnotateBadInput(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	span := "/projects/support-bot/spans/" + llmSpan + "/annotations"
	tests := []struct {
		name string
		path string
		form url.Values
		code int
		says string
	}{
		{"no name", span, url.Values{"label": {"x"}}, 422, "needs a name"},
		{"neither label nor score", span, url.Values{"name": {"correctness"}}, 422, "a label, a score or both"},
		{"score not a number", span, url.Values{"name": {"q"}, "score": {"high"}}, 422, `"high" is not a number`},
		{"infinite score", span, url.Values{"name": {"q"}, "score": {"Inf"}}, 422, "not a number"},
		{"note as a name", span, url.Values{"name": {"note"}, "label": {"x"}}, 422, "kept for notes"},
		{"empty note", span, url.Values{"note": {"  "}}, 422, "note is empty"},
		{"long name", span, url.Values{"name": {strings.Repeat("n", 201)}, "label": {"x"}}, 422, "longer than 200"},
		{"huge form", span, url.Values{"name": {"q"}, "label": {strings.Repeat("x", 70<<10)}}, 413, "larger than 64 KB"},
		{"unknown span", "/projects/support-bot/spans/ffffffffffffffff/annotations", url.Values{"name": {"q"}, "label": {"x"}}, 404, "no span"},
		{"span of another project", "/projects/other/spans/" + llmSpan + "/annotations", url.Values{"name": {"q"}, "label": {"x"}}, 404, "no span"},
		{"unknown trace", "/projects/support-bot/traces/" + strings.Repeat("ab", 16) + "/annotations", url.Values{"name": {"q"}, "label": {"x"}}, 404, "Trace not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := e.post(tc.path, tc.form)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.says) {
				t.Errorf("= %d %q, want %d saying %q", rec.Code, abbreviate(rec.Body.String()), tc.code, tc.says)
			}
		})
	}
	if anns := e.annotations(store.SpanAnnotation, llmSpan); len(anns) != 0 {
		t.Errorf("bad input wrote %d annotations", len(anns))
	}
}

func abbreviate(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// TestAnnotationAuthor: with authentication on, an annotation made in the
// UI records who made it, and the list shows it.
func TestAnnotationAuthor(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("support-bot", agentTrace, "conv-1", time.Now().Add(-time.Hour))...)
	mux := e.mux
	who := &auth.Principal{Kind: auth.KindSession, Role: auth.RoleMember, UserID: 4, Username: "alice"}
	e.mux = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mux.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), who)))
	})
	rec := e.post("/projects/support-bot/spans/"+llmSpan+"/annotations", url.Values{"note": {"looks off"}}, "X-Loupe-Fragment", "1")
	if rec.Code != http.StatusOK {
		t.Fatalf("note = %d\n%s", rec.Code, rec.Body)
	}
	anns := e.annotations(store.SpanAnnotation, llmSpan)
	if len(anns) != 1 || anns[0].UserID != 4 || anns[0].Author() != "alice" {
		t.Fatalf("stored %+v", anns)
	}
	if !strings.Contains(rec.Body.String(), `<span class="author" title="who made it">alice</span>`) {
		t.Errorf("the annotation list does not say who made it:\n%s", rec.Body)
	}
}
