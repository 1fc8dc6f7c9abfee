package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/rollup"
	"github.com/loupe-dev/loupe/internal/web/view"
)

// valueLimit is how much of one value the span detail shows before
// "show all": enough to read a long prompt, small enough that a span with
// a multi-megabyte value still opens at once.
const valueLimit = 16 << 10

// spanTabs are the span detail's tabs, in order.
var spanTabs = []string{"overview", "attributes", "events", "annotations", "raw"}

type spanDetail struct {
	Project string
	Rec     store.SpanRecord
	V       *view.Span
	Tab     string
	Raw     view.Text
	Cost    *costBreakdown    // nil when the span has no cost
	Ann     *annotationsBlock // set by withAnnotations
	// Markdown is set when the reader chose to read messages rendered
	// as Markdown (textModeCookie).
	Markdown bool
	// DocChips are a retriever's document annotations by position, and
	// Retrieval the metrics they give (withDocumentAnnotations).
	DocChips  map[int][]annChip
	Retrieval []retrievalMetric
}

// Docs are the retrieved (or reranked) documents with their annotations.
func (d *spanDetail) Docs() docList { return docList{Docs: d.V.Retrieval.Documents, Chips: d.DocChips} }

// Candidates are a reranker's input documents.
func (d *spanDetail) Candidates() docList { return docList{Docs: d.V.Retrieval.Inputs} }

// StatusMessage is the span's status message when it says more than its
// exceptions, which the Overview shows: instrumentors often set it to the
// exception's message, or to "Type: message", and the error should show
// once.
func (d *spanDetail) StatusMessage() string {
	msg := strings.TrimSpace(d.Rec.StatusMessage)
	for _, x := range d.V.Exceptions {
		if msg == strings.TrimSpace(x.Message) || msg == x.Type+": "+strings.TrimSpace(x.Message) || msg == x.Type {
			return ""
		}
	}
	return msg
}

func newSpanDetail(project string, rec store.SpanRecord, tab string, markdown bool) (*spanDetail, error) {
	v, err := view.Build(rec, valueLimit)
	if err != nil {
		return nil, err
	}
	if markdown {
		v.RenderMarkdown()
	}
	d := &spanDetail{Project: project, Rec: rec, V: v, Tab: "overview", Markdown: markdown}
	for _, t := range spanTabs {
		if t == tab {
			d.Tab = tab
		}
	}
	d.Raw = view.NewText(string(rec.AttributesJSON), "", 2*valueLimit, true)
	d.Cost = newCostBreakdown(rec.View)
	return d, nil
}

// Tabs lists the tabs for the template.
func (d *spanDetail) Tabs() []string { return spanTabs }

// Latency is the span's duration in nanoseconds.
func (d *spanDetail) Latency() int64 { return d.Rec.EndTime - d.Rec.StartTime }

// loadSpan finds a span and checks it belongs to the project in the URL.
func (h *Handler) loadSpan(w http.ResponseWriter, r *http.Request) (store.SpanRecord, bool) {
	name, id := r.PathValue("name"), r.PathValue("span_id")
	rec, err := h.store.SpanByID(r.Context(), id)
	if err == nil {
		var p store.Project
		if p, err = h.store.ProjectByID(r.Context(), rec.ProjectID); err == nil && p.Name != name {
			err = store.ErrNotFound
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no span "+id+" in project "+name, http.StatusNotFound)
		return rec, false
	}
	if err != nil {
		h.fail(w, r, err, notFound{})
		return rec, false
	}
	return rec, true
}

// spanFragment serves the detail panel of one span, for the trace page to
// swap in when a span is selected.
func (h *Handler) spanFragment(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.loadSpan(w, r)
	if !ok {
		return
	}
	d, err := newSpanDetail(r.PathValue("name"), rec, r.URL.Query().Get("tab"), wantsMarkdown(r))
	if err == nil {
		err = h.withAnnotations(r.Context(), d)
	}
	if err == nil {
		err = h.withCounting(r.Context(), d)
	}
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.renderFragment(w, r, "span_detail", d)
}

// spanValue serves one attribute's whole value as plain text, for "show all".
func (h *Handler) spanValue(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.loadSpan(w, r)
	if !ok {
		return
	}
	key := r.URL.Query().Get("key")
	var t view.Text
	var found bool
	var err error
	if key == "" {
		t, found = view.NewText(string(rec.AttributesJSON), "", 0, true), true
	} else {
		t, found, err = view.FullValue(rec, key)
	}
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	if !found {
		http.Error(w, "the span has no attribute "+key, http.StatusNotFound)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("format") == "markdown" && !t.JSON {
		// Rendered for "show all" on a message read as Markdown: safe HTML
		// (view.Markdown), swapped in by the page.
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// Opened on its own, the fragment may run nothing and load nothing.
		w.Header().Set("Content-Security-Policy", "default-src 'none'")
		w.Write([]byte(view.Markdown(t.Value)))
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte(t.Value))
}

// TabURL links to the trace page with this span and tab selected.
func (d *spanDetail) TabURL(tab string) string {
	u := traceURL(d.Project, d.Rec.TraceID) + "?span=" + url.QueryEscape(d.Rec.SpanID)
	if tab != "overview" {
		u += "&tab=" + url.QueryEscape(tab)
	}
	return u
}

// FragmentURL serves this span's detail panel alone, for the page to read
// it again (after the reader switches between text and Markdown).
func (d *spanDetail) FragmentURL() string {
	return projectURL(d.Project) + "/spans/" + url.PathEscape(d.Rec.SpanID)
}

// ValueURL serves whole attribute values of this span (add &key=…).
func (d *spanDetail) ValueURL() string {
	return projectURL(d.Project) + "/spans/" + url.PathEscape(d.Rec.SpanID) + "/value"
}

// countedInShown is how many of the calls a wrapper stands for its view names.
const countedInShown = 3

// withCounting tells of a wrapper where its model call is counted.
func (h *Handler) withCounting(ctx context.Context, d *spanDetail) error {
	if d.Rec.Counting != rollup.Wrapper || d.Cost == nil {
		return nil
	}
	d.Cost.Wrapper = true
	calls, err := h.store.CountedBelow(ctx, d.Rec.RowID, countedInShown)
	if err != nil {
		return err
	}
	for _, c := range calls {
		d.Cost.CountedIn = append(d.Cost.CountedIn, countedCall{Name: c.Name, Model: c.ModelName, Child: c.Depth == 1,
			URL: traceURL(d.Project, d.Rec.TraceID) + "?span=" + url.QueryEscape(c.SpanID)})
	}
	return nil
}

// withAnnotations reads the span's annotations for its Annotations tab.
func (h *Handler) withAnnotations(ctx context.Context, d *spanDetail) error {
	var err error
	d.Ann, err = h.annotationsBlock(ctx, store.SpanAnnotation, d.Rec.ProjectID, d.Rec.SpanID, spanAnnotationsURL(d.Project, d.Rec.SpanID), false)
	if err != nil {
		return err
	}
	return h.withDocumentAnnotations(ctx, d)
}
