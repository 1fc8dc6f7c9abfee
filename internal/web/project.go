package web

import (
	"net/http"
	"strconv"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// pageSize is the rows of one list page: one screen and a bit, from one
// bounded index-range query.
const pageSize = 50

// projectPage is the part every project tab shares: the header stats and tabs.
type projectPage struct {
	frame
	P     store.Project
	Stats store.ProjectStats
	Tab   string
	Next  string // URL of the next page, empty on the last
	// Annotations and Costs are the header's summaries, in project_head.go.
	Annotations []annotationSummary
	Costs       *costPanels
	// live is set on live.js's refreshes, which may reuse recent readings.
	live bool
}

func (h *Handler) projectPage(w http.ResponseWriter, r *http.Request, tab string) (projectPage, bool) {
	ctx := r.Context()
	name := r.PathValue("name")
	p, err := h.store.ProjectByName(ctx, name)
	if err != nil {
		h.fail(w, r, err, notFound{What: "Project", ID: name,
			Hint: "No project has this name. Projects are created when their first span arrives."})
		return projectPage{}, false
	}
	page := projectPage{frame: h.frame(ctx, r, p.Name, p.Name), P: p, Tab: tab, live: r.Header.Get(liveHeader) != ""}
	page.Live, page.ShowRange = p.Name, true
	page.Stats, err = h.store.ProjectStats(ctx, p.ID, page.Range.StartNs(), page.Range.EndNs())
	if err == nil {
		err = h.projectHead(ctx, &page)
	}
	if err != nil {
		h.fail(w, r, err, notFound{})
		return projectPage{}, false
	}
	return page, true
}

func cursorParam(r *http.Request) int64 {
	n, _ := strconv.ParseInt(r.URL.Query().Get("cursor"), 10, 64)
	return max(n, 0)
}

type tracesPage struct {
	projectPage
	Traces []store.Trace
	Sort   string // "start_time", "latency", "cost" or "tokens"
	Asc    bool
	Filter listFilter
	// Errors keeps the traces with a failed span: the trace filter
	// error_count > 0, on the roll-up kept with each trace.
	Errors bool
	Chips  map[string][]annChip // annotations by trace id
	// Failures are the first failures of the listed traces, by trace id.
	Failures map[string]*rowError
	Cols     columnSet
}

func (h *Handler) projectTraces(w http.ResponseWriter, r *http.Request) {
	page, ok := h.projectPage(w, r, "traces")
	if !ok {
		return
	}
	q := r.URL.Query()
	tq := store.TraceQuery{
		ProjectID: page.P.ID,
		StartTime: page.Range.StartNs(),
		EndTime:   page.Range.EndNs(),
		Sort:      store.SortStartTime,
		Ascending: q.Get("dir") == "asc",
		Cursor:    cursorParam(r),
		Limit:     pageSize + 1,
	}
	tp := tracesPage{projectPage: page, Sort: "start_time", Asc: tq.Ascending, Errors: q.Get("errors") == "1",
		Cols: listColumns(r, "traces", traceColumns)}
	if tp.Errors {
		tq.Errors = store.ErrorsOnly
	}
	switch q.Get("sort") {
	case "latency":
		tq.Sort, tp.Sort = store.SortLatency, "latency"
	case "cost":
		tq.Sort, tp.Sort = store.SortCost, "cost"
	case "tokens":
		tq.Sort, tp.Sort = store.SortTokens, "tokens"
	}
	ctx := r.Context()
	tp.Filter = h.listFilter(ctx, q, page.P.ID, traceFilter)
	if tp.Filter.Search != "" {
		err := h.searchedTraces(ctx, &tp, tq)
		if err == nil || !tp.Filter.refused(err) {
			h.renderTraces(w, r, tp, err)
			return
		}
	}
	// A trace filter reads the roll-ups kept with each trace, so the list
	// keeps its order and its index-range pages.
	tq.Filter = tp.Filter.parsed
	traces, err := h.store.Traces(ctx, tq)
	if err != nil && tq.Filter != nil && tp.Filter.refused(err) {
		tq.Filter = nil
		traces, err = h.store.Traces(ctx, tq)
	}
	if err == nil && len(traces) > pageSize {
		tp.Next = page.URL.With("cursor", strconv.FormatInt(traces[pageSize].RowID, 10))
		traces = traces[:pageSize]
	}
	tp.Traces = traces
	h.renderTraces(w, r, tp, err)
}

// renderTraces adds the annotations of the listed traces and renders them.
func (h *Handler) renderTraces(w http.ResponseWriter, r *http.Request, tp tracesPage, err error) {
	if err == nil {
		tp.Chips, err = h.traceRowChips(r.Context(), tp.P.ID, tp.Traces)
	}
	if err == nil {
		tp.Failures, err = h.traceErrors(r.Context(), tp.P.ID, tp.Traces)
	}
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.render(w, r, http.StatusOK, "traces", tp)
}

type spansPage struct {
	projectPage
	Spans     []store.SpanRow
	Kinds     []span.Kind
	Kind      string
	RootsOnly bool
	ErrorOnly bool
	// Sort is "" (start time), "cost" or "tokens"; ranked by cost or
	// tokens, the list holds the spans with some.
	Sort   string
	Asc    bool
	Filter listFilter
	Chips  map[string][]annChip // annotations by span id
	// Failures are the failures of the listed failed spans, by span id.
	Failures map[string]*rowError
	Cols     columnSet
}

func (h *Handler) projectSpans(w http.ResponseWriter, r *http.Request) {
	page, ok := h.projectPage(w, r, "spans")
	if !ok {
		return
	}
	q := r.URL.Query()
	sp := spansPage{
		projectPage: page,
		Kinds:       span.Kinds,
		Kind:        q.Get("kind"),
		RootsOnly:   q.Get("roots") == "1",
		ErrorOnly:   q.Get("status") == "error",
		Asc:         q.Get("dir") == "asc",
		Cols:        listColumns(r, "spans", spanColumns),
	}
	switch s := store.SpanSort(q.Get("sort")); s {
	case store.SpanSortCost, store.SpanSortTokens:
		sp.Sort = string(s)
	}
	lq := store.SpanListQuery{
		ProjectID: page.P.ID,
		StartTime: page.Range.StartNs(),
		EndTime:   page.Range.EndNs(),
		RootsOnly: sp.RootsOnly,
		ErrorOnly: sp.ErrorOnly,
		Sort:      store.SpanSort(sp.Sort),
		Ascending: sp.Asc,
		Cursor:    cursorParam(r),
		Limit:     pageSize + 1,
	}
	if span.ValidKind(sp.Kind) {
		lq.Kinds = []string{sp.Kind}
	}
	ctx := r.Context()
	sp.Filter = h.listFilter(ctx, q, page.P.ID, spanFilter)
	// Ranked by cost or tokens, a filter keeps the ranking: the list reads
	// the ranking's index with the filter. A search has its own order.
	if sp.Filter.Active() && (sp.Sort == "" || sp.Filter.Search != "") {
		err := h.filteredSpans(ctx, &sp)
		if err == nil || !sp.Filter.refused(err) {
			h.renderSpans(w, r, sp, err)
			return
		}
	}
	lq.Filter = sp.Filter.parsed
	rows, err := h.store.SpanList(ctx, lq)
	if err != nil && lq.Filter != nil && sp.Filter.refused(err) {
		lq.Filter = nil
		rows, err = h.store.SpanList(ctx, lq)
	}
	if err == nil && len(rows) > pageSize {
		sp.Next = page.URL.With("cursor", strconv.FormatInt(rows[pageSize].RowID, 10))
		rows = rows[:pageSize]
	}
	sp.Spans = rows
	h.renderSpans(w, r, sp, err)
}

// renderSpans adds the annotations of the listed spans and renders them.
func (h *Handler) renderSpans(w http.ResponseWriter, r *http.Request, sp spansPage, err error) {
	if err == nil {
		ids := make([]string, len(sp.Spans))
		rows := make([]int64, len(sp.Spans))
		for i, s := range sp.Spans {
			ids[i], rows[i] = s.SpanID, s.RowID
		}
		sp.Chips, err = h.spanRowChips(r.Context(), sp.P.ID, ids, rows)
	}
	if err == nil {
		sp.Failures, err = h.spanErrors(r.Context(), sp.Spans, sp.Failures)
	}
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.render(w, r, http.StatusOK, "spans", sp)
}

type sessionRow struct {
	store.Session
	Latency store.LatencySummary
}

type sessionsPage struct {
	projectPage
	Sessions []sessionRow
	Filter   listFilter
	Chips    map[string][]annChip // session annotations, by session id
}

func (h *Handler) projectSessions(w http.ResponseWriter, r *http.Request) {
	page, ok := h.projectPage(w, r, "sessions")
	if !ok {
		return
	}
	ctx := r.Context()
	sp := sessionsPage{projectPage: page, Filter: h.listFilter(ctx, r.URL.Query(), page.P.ID, sessionFilter)}
	sq := store.SessionQuery{
		ProjectID: page.P.ID,
		StartTime: page.Range.StartNs(),
		EndTime:   page.Range.EndNs(),
		Cursor:    cursorParam(r),
		Limit:     pageSize + 1,
		Filter:    sp.Filter.parsed,
	}
	list, err := h.store.Sessions(ctx, sq)
	if err != nil && sq.Filter != nil && sp.Filter.refused(err) {
		sq.Filter = nil
		list, err = h.store.Sessions(ctx, sq)
	}
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	if len(list) > pageSize {
		sp.Next = page.URL.With("cursor", strconv.FormatInt(list[pageSize].RowID, 10))
		list = list[:pageSize]
	}
	ids := make([]int64, len(list))
	for i, s := range list {
		ids[i] = s.RowID
	}
	lat, err := h.store.SessionLatencies(ctx, ids)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	for _, s := range list {
		sp.Sessions = append(sp.Sessions, sessionRow{Session: s, Latency: lat[s.RowID]})
	}
	if sp.Chips, err = h.sessionRowChips(ctx, page.P.ID, list); err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.render(w, r, http.StatusOK, "sessions", sp)
}

// maxSessionTurns bounds the conversation page; a longer session links to
// its traces list.
const maxSessionTurns = 500

type sessionPage struct {
	frame
	P       store.Project
	S       store.Session
	Turns   []store.Trace
	Latency store.LatencySummary
	More    bool
	Ann     *annotationsBlock
}

func (h *Handler) session(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	name, id := r.PathValue("name"), r.PathValue("session_id")
	nf := notFound{What: "Session", ID: id, In: name, Back: projectURL(name) + "/sessions", BackFor: "Sessions of " + name,
		Hint: "No session with this id was recorded in this project."}
	p, err := h.store.ProjectByName(ctx, name)
	if err != nil {
		h.fail(w, r, err, nf)
		return
	}
	s, err := h.store.Session(ctx, id)
	if err == nil && s.ProjectID != p.ID {
		err = store.ErrNotFound
	}
	if err != nil {
		h.fail(w, r, err, nf)
		return
	}
	turns, err := h.store.SessionTraces(ctx, s.RowID, maxSessionTurns+1)
	if err != nil {
		h.fail(w, r, err, nf)
		return
	}
	page := sessionPage{frame: h.frame(ctx, r, "Session "+id, p.Name), P: p, S: s}
	page.Live = p.Name
	if len(turns) > maxSessionTurns {
		page.More, turns = true, turns[:maxSessionTurns]
	}
	page.Turns = turns
	lat := make([]int64, len(turns))
	for i, t := range turns {
		lat[i] = t.EndTime - t.StartTime
	}
	page.Latency = store.SummarizeLatencies(lat, s.TraceCount)
	if page.Ann, err = h.annotationsBlock(ctx, store.SessionAnnotation, p.ID, s.SessionID, sessionAnnotationsURL(p.Name, s.SessionID), true); err != nil {
		h.fail(w, r, err, nf)
		return
	}
	h.render(w, r, http.StatusOK, "session", page)
}
