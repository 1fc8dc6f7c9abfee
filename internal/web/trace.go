package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
)

type tracePage struct {
	frame
	T        store.Trace
	Tree     treeFragment
	Ticks    []tick
	Latency  int64
	Detail   *spanDetail
	Ann      *annotationsBlock // the trace's own annotations
	Failures string            // the failing spans top to bottom, as "ord:id" words, for n and N
	Search   *traceSearch      // a search within the trace, when one was asked for
}

// maxFailuresListed bounds the failing spans n and N step through.
const maxFailuresListed = 5000

// failureList writes the failing spans of t as tracePage.Failures has them.
func (t *spanTree) failureList() string {
	var b strings.Builder
	for i, n := range t.failures {
		if i == maxFailuresListed {
			break
		}
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.Itoa(int(t.nodes[n].ord)))
		b.WriteByte(':')
		b.WriteString(t.nodes[n].s.SpanID)
	}
	return b.String()
}

// loadTrace finds the trace and checks it belongs to the project in the URL.
func (h *Handler) loadTrace(w http.ResponseWriter, r *http.Request) (store.Trace, bool) {
	name, id := r.PathValue("name"), strings.ToLower(r.PathValue("trace_id"))
	t, err := h.store.TraceInfo(r.Context(), id)
	if err == nil && t.ProjectID != 0 {
		var p store.Project
		if p, err = h.store.ProjectByID(r.Context(), t.ProjectID); err == nil && p.Name != name {
			// The trace exists, in another project: send the link on.
			http.Redirect(w, r, traceURL(p.Name, id)+queryOf(r), http.StatusFound)
			return t, false
		}
	}
	if err != nil {
		h.fail(w, r, err, notFoundTrace(name, id))
		return t, false
	}
	return t, true
}

func notFoundTrace(project, id string) notFound {
	nf := notFound{What: "Trace", ID: id, In: project,
		Hint: "No trace with this id has been received. Check the id (32 hex digits), or whether the application's spans reach this server; a trace can take a few seconds to arrive after the request ends."}
	if project != "" {
		nf.Back, nf.BackFor = projectURL(project), "Traces of "+project
	}
	return nf
}

func queryOf(r *http.Request) string {
	if r.URL.RawQuery == "" {
		return ""
	}
	return "?" + r.URL.RawQuery
}

func (h *Handler) trace(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadTrace(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	spans, err := h.store.TraceTree(ctx, t.RowID)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	name := r.PathValue("name")
	page := tracePage{frame: h.frame(ctx, r, nonEmpty(t.RootName, "Trace "+shortID(t.TraceID)), name), T: t, Latency: t.EndTime - t.StartTime}
	tree := buildTree(spans)
	selected := r.URL.Query().Get("span")
	if _, ok := tree.byID[selected]; !ok {
		selected = tree.opening(t.RootSpanID)
	}
	view := parseTreeView(r.URL.Query().Get("view"))
	rows, _ := tree.window(windowQuery{Depth: -1, View: view, Selected: selected})
	page.Tree = treeFragment{Project: name, TraceID: t.TraceID, View: view.String(), Rows: rows}
	page.Ticks = tree.ticks()
	page.Failures = tree.failureList()
	if find := r.URL.Query().Get("find"); find != "" {
		if page.Search, err = h.searchTrace(ctx, name, t, tree, find); err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
	}
	if selected != "" {
		rec, err := h.store.SpanByID(ctx, selected)
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		if page.Detail, err = newSpanDetail(name, rec, r.URL.Query().Get("tab"), wantsMarkdown(r)); err == nil {
			err = h.withAnnotations(ctx, page.Detail)
		}
		if err == nil {
			err = h.withCounting(ctx, page.Detail)
		}
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
	}
	post := traceAnnotationsURL(name, t.TraceID)
	if selected != "" {
		post += "?span=" + url.QueryEscape(selected)
	}
	if page.Ann, err = h.annotationsBlock(ctx, store.TraceAnnotation, t.ProjectID, t.TraceID, post, true); err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.render(w, r, http.StatusOK, "trace", page)
}

type treeFragment struct {
	Project string
	TraceID string
	View    string // "errors" in the errors-only view
	Rows    []treeRow
}

// treeFragment serves the rows of a subtree being opened, or the rest of a
// long child list.
func (h *Handler) treeFragment(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadTrace(w, r)
	if !ok {
		return
	}
	spans, err := h.store.TraceTree(r.Context(), t.RowID)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	q := r.URL.Query()
	wq := windowQuery{Parent: q.Get("parent"), Depth: -1, NoFold: q.Get("nofold") == "1",
		View: parseTreeView(q.Get("view")), Selected: q.Get("span")}
	for _, p := range []struct {
		name string
		to   *int
	}{{"offset", &wq.Offset}, {"limit", &wq.Limit}, {"depth", &wq.Depth}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			http.Error(w, fmt.Sprintf("%s=%q: want a whole number, 0 or more", p.name, v), http.StatusBadRequest)
			return
		}
		*p.to = n
	}
	rows, ok := buildTree(spans).window(wq)
	if !ok {
		http.Error(w, "no such span in this trace", http.StatusNotFound)
		return
	}
	h.renderFragment(w, r, "tree_rows", treeFragment{Project: r.PathValue("name"), TraceID: t.TraceID, View: wq.View.String(), Rows: rows})
}

// traceRedirect finds the project of a trace, for links that only know the trace id.
func (h *Handler) traceRedirect(w http.ResponseWriter, r *http.Request) {
	h.redirectToTrace(w, r, r.PathValue("trace_id"))
}

// gotoTrace answers the top bar's box: a trace id, or a span id, pasted
// from a log line or a bug report.
func (h *Handler) gotoTrace(w http.ResponseWriter, r *http.Request) {
	id := strings.ToLower(strings.TrimSpace(r.URL.Query().Get("id")))
	id = strings.ReplaceAll(id, "-", "")
	if id == "" {
		http.Redirect(w, r, "/", http.StatusFound)
		return
	}
	if len(id) == 16 {
		if rec, err := h.store.SpanByID(r.Context(), id); err == nil {
			if p, err := h.store.ProjectByID(r.Context(), rec.ProjectID); err == nil {
				http.Redirect(w, r, traceURL(p.Name, rec.TraceID)+"?span="+url.QueryEscape(id), http.StatusFound)
				return
			}
		}
	}
	h.redirectToTrace(w, r, id)
}

func (h *Handler) redirectToTrace(w http.ResponseWriter, r *http.Request, id string) {
	id = strings.ToLower(strings.TrimSpace(id))
	t, err := h.store.TraceInfo(r.Context(), id)
	if err != nil {
		h.fail(w, r, err, notFoundTrace("", id))
		return
	}
	p, err := h.store.ProjectByID(r.Context(), t.ProjectID)
	if err != nil {
		h.fail(w, r, err, notFoundTrace("", id))
		return
	}
	q := url.Values{}
	if s := r.URL.Query().Get("span"); s != "" {
		q.Set("span", s)
	}
	target := traceURL(p.Name, t.TraceID)
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	http.Redirect(w, r, target, http.StatusFound)
}

func nonEmpty(s, otherwise string) string {
	if s == "" {
		return otherwise
	}
	return s
}
