package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// maxFilterLength bounds what the filter bar accepts: a filter is typed by
// a person, and a URL of megabytes is not one.
const maxFilterLength = 4 << 10

// listFilter is the filter bar of the Traces, Spans and Sessions tabs: an
// expression in the filter language (?filter=) and, on Traces and Spans,
// full-text search words (?q=).
type listFilter struct {
	Expr   string
	Search string
	// Grain is what the expression selects: each tab takes Phoenix's
	// filter of its rows, checked and compiled by package query.
	Grain filterGrain
	// Roots is set on the Traces tab, where the search applies to root spans.
	Roots bool
	// Err says why Expr is not applied; the list then shows what it would
	// without it, so the page stays usable while the filter is fixed.
	Err *query.Error
	// SearchLag counts spans stored but not yet searchable.
	SearchLag int64
	parsed    query.Expr
}

// filterGrain names the filter language of a tab: Phoenix has one for
// spans, one for traces and one for sessions, in the same syntax.
type filterGrain string

const (
	spanFilter    filterGrain = "span"
	traceFilter   filterGrain = "trace"
	sessionFilter filterGrain = "session"
)

// grainParam is the grain /filter/check is asked about; spans by default.
func grainParam(s string) filterGrain {
	switch g := filterGrain(s); g {
	case traceFilter, sessionFilter:
		return g
	}
	return spanFilter
}

func (h *Handler) listFilter(ctx context.Context, q url.Values, projectID int64, g filterGrain) listFilter {
	f := listFilter{Expr: strings.TrimSpace(q.Get("filter")), Grain: g, Roots: g == traceFilter}
	if g != sessionFilter {
		// Sessions keep no text index of their own.
		f.Search = strings.TrimSpace(q.Get("q"))
	}
	if f.Expr != "" {
		f.parsed, f.Err = parseFilter(f.Expr, g)
	}
	if f.Search != "" {
		lag, err := h.store.SearchLag(ctx, projectID)
		if err != nil {
			h.errs.Warn("read the search index lag", "project", projectID, "err", err)
		}
		f.SearchLag = lag
	}
	return f
}

// parseFilter parses and checks a filter of grain g, reporting any problem
// as a *query.Error the bar can show: the checks are the API's, so the bar
// says what GET …/spans, …/traces or …/sessions?filter= would.
func parseFilter(src string, g filterGrain) (query.Expr, *query.Error) {
	if utf8.RuneCountInString(src) > maxFilterLength {
		return nil, &query.Error{Msg: "the filter is too long", Hint: "a filter is at most 4096 characters"}
	}
	check := query.Check
	switch g {
	case traceFilter:
		check = query.CheckTraces
	case sessionFilter:
		check = query.CheckSessions
	}
	e, err := query.Parse(src)
	if err == nil {
		err = check(e)
	}
	if err == nil {
		return e, nil
	}
	var qe *query.Error
	if errors.As(err, &qe) {
		return nil, qe
	}
	return nil, &query.Error{Msg: err.Error()}
}

// Active reports whether the list is filtered or searched.
func (f listFilter) Active() bool { return f.parsed != nil || f.Search != "" }

// errMark is the filter split around the error's column: the text before
// it, the word it points at, and the rest, for the inline marker.
type errMark struct{ Before, At, After string }

// ErrMark marks where the error is in the filter.
func (f listFilter) ErrMark() errMark {
	if f.Err == nil || f.Err.Column <= 0 {
		return errMark{Before: f.Expr}
	}
	r := []rune(f.Expr)
	i := min(f.Err.Column-1, len(r))
	j := i
	for j < len(r) && (isWordRune(r[j]) || j == i) {
		j++
	}
	if i == len(r) {
		// Something is missing at the end: mark the place it goes.
		return errMark{Before: f.Expr, At: " "}
	}
	return errMark{string(r[:i]), string(r[i:j]), string(r[j:])}
}

func isWordRune(c rune) bool {
	return c == '_' || c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// filterExample is one of the examples the bar offers.
type filterExample struct {
	Expr, What string
}

var spanExamples = []filterExample{
	{`span_kind == 'LLM' and latency_ms > 4000`, "slow LLM calls"},
	{`status_code == 'ERROR'`, "failed spans"},
	{`'refund' in input.value`, "input mentions a word"},
	{`llm.token_count.total > 1000`, "LLM calls over 1 000 tokens"},
	{`llm.model_name == 'gpt-4o-mini'`, "one model"},
	{`annotations['correctness'].label == 'incorrect'`, "judged incorrect"},
	{`annotations['thumbs'].label == 'down'`, "thumbs down"},
	{`span_kind == 'TOOL' and status_code == 'ERROR'`, "failed tool calls"},
}

var traceExamples = []filterExample{
	{`error_count > 0`, "a span failed"},
	{`latency_ms > 10000`, "requests slower than 10 s"},
	{`num_spans > 100 and llm_span_count > 10`, "long agent runs"},
	{`'refund' in input`, "input mentions a word"},
	{`token_count_total > 1000`, "over 1 000 LLM tokens"},
	{`total_cost > 0.05`, "cost over 5 cents"},
	{`user.id == 'alice'`, "one user"},
	{`trace_annotations['thumbs'].label == 'down'`, "thumbs down"},
}

var sessionExamples = []filterExample{
	{`num_traces_with_error > 0`, "a trace failed"},
	{`num_traces > 5`, "long conversations"},
	{`duration_ms > 600000`, "longer than 10 min"},
	{`'refund' in any_input`, "a turn mentions a word"},
	{`total_cost > 0.5`, "cost over 50 cents"},
	{`user.id == 'alice'`, "one user"},
	{`session_annotations['csat'].score < 3`, "unhappy customers"},
}

// Examples lists the examples for the tab.
func (f listFilter) Examples() []filterExample {
	switch f.Grain {
	case traceFilter:
		return traceExamples
	case sessionFilter:
		return sessionExamples
	}
	return spanExamples
}

// spanQuery is the store query of one page of the filtered list. Without
// search, pages are keyset ranges on (start time, row id), newest first, on
// the project's start-time index. With search the full-text index drives
// the query, newest received first, so that a common word costs a page of
// matches rather than a sort of all of them.
func (f listFilter) spanQuery(page projectPage, cursor string) store.SpanQuery {
	q := store.SpanQuery{
		ProjectID: page.P.ID,
		StartTime: page.Range.StartNs(),
		EndTime:   page.Range.EndNs(),
		Search:    f.Search,
		RootsOnly: f.Roots,
		Limit:     pageSize + 1,
	}
	if f.Grain == spanFilter {
		q.Filter = f.parsed
	}
	start, row, pair := parseListCursor(cursor)
	if f.Search == "" {
		q.OrderByStartTime = true
		if pair {
			q.CursorStartTime, q.Cursor = start, row
		}
	} else if !pair {
		q.Cursor = row
	}
	return q
}

// nextCursor is the cursor of the page starting at rec.
func (f listFilter) nextCursor(rec store.SpanRecord) string {
	if f.Search == "" {
		return formatListCursor(rec.StartTime, rec.RowID)
	}
	return formatInt(rec.RowID)
}

// checkFilter validates a filter as it is typed, for the bar's inline error.
// It answers 200 either way: the answer is the verdict.
func (h *Handler) checkFilter(w http.ResponseWriter, r *http.Request) {
	type verdict struct {
		OK     bool   `json:"ok"`
		Column int    `json:"column,omitempty"`
		Msg    string `json:"message,omitempty"`
		Hint   string `json:"hint,omitempty"`
	}
	v := verdict{OK: true}
	raw := r.URL.Query().Get("filter")
	if src := strings.TrimSpace(raw); src != "" {
		if _, qe := parseFilter(src, grainParam(r.URL.Query().Get("grain"))); qe != nil {
			v = verdict{Column: qe.Column, Msg: qe.Msg, Hint: qe.Hint}
			if v.Column > 0 {
				// The column counts in the text as typed, before trimming.
				v.Column += utf8.RuneCountInString(raw) - utf8.RuneCountInString(strings.TrimLeftFunc(raw, unicode.IsSpace))
			}
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(v)
}

// A filtered page's cursor is "<start ns>_<row id>" when pages are ranges
// of start time, or "<row id>" when they are ranges of row ids.
func parseListCursor(s string) (start, row int64, pair bool) {
	if a, b, ok := strings.Cut(s, "_"); ok {
		start, err1 := strconv.ParseInt(a, 10, 64)
		row, err2 := strconv.ParseInt(b, 10, 64)
		if err1 == nil && err2 == nil && row > 0 {
			return start, row, true
		}
		return 0, 0, false
	}
	row, err := strconv.ParseInt(s, 10, 64)
	if err != nil || row < 0 {
		return 0, 0, false
	}
	return 0, row, false
}

func formatListCursor(start, row int64) string { return formatInt(start) + "_" + formatInt(row) }

func formatInt(n int64) string { return strconv.FormatInt(n, 10) }
