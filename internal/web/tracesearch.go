package web

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/loupe-dev/loupe/internal/store"
)

// traceSearchLimit bounds the matches a search within a trace lists; the
// rest are counted.
const traceSearchLimit = 200

// traceSearch is a search within one trace and what it found, top to bottom.
type traceSearch struct {
	Project, TraceID string
	Query            string
	Matches          []traceMatch
	Total            int
	Problem          string // why the search could not run
}

type traceMatch struct {
	store.TraceMatch
	Ord   int32
	Name  string
	Kind  string
	Error bool
}

// searchTrace searches every span of t, not only the rows drawn, and puts
// what it finds in the order the tree reads.
func (h *Handler) searchTrace(ctx context.Context, project string, t store.Trace, tree *spanTree, query string) (*traceSearch, error) {
	out := &traceSearch{Project: project, TraceID: t.TraceID, Query: query}
	found, total, err := store.SearchTrace(ctx, h.store.EachSpanText, t.RowID, query, traceSearchLimit)
	if errors.Is(err, store.ErrInvalidArgument) {
		out.Problem = searchProblem(query)
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out.Total = total
	for _, m := range found {
		i, ok := tree.byID[m.SpanID]
		if !ok {
			continue // arrived after the tree was read
		}
		n := &tree.nodes[i]
		out.Matches = append(out.Matches, traceMatch{TraceMatch: m, Ord: n.ord, Name: n.s.Name, Kind: n.s.Kind, Error: n.failed()})
	}
	slices.SortFunc(out.Matches, func(a, b traceMatch) int { return cmp.Compare(a.Ord, b.Ord) })
	return out, nil
}

func searchProblem(query string) string {
	if len(query) > store.MaxTraceSearch {
		return "The search is too long: at most 200 characters."
	}
	return "Type something to search for."
}

// traceSearchFragment answers the trace page's search box.
func (h *Handler) traceSearchFragment(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadTrace(w, r)
	if !ok {
		return
	}
	spans, err := h.store.TraceTree(r.Context(), t.RowID)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	res, err := h.searchTrace(r.Context(), r.PathValue("name"), t, buildTree(spans), r.URL.Query().Get("q"))
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	if res.Problem != "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadRequest)
		w.Write([]byte(res.Problem))
		return
	}
	h.renderFragment(w, r, "trace_search", res)
}
