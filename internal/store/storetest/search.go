package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// searchSpecs are the texts the search tests look for, one span each (span
// ids 1001…), in every place a span keeps searchable text.
func searchSpecs() []spanSpec {
	msg := func(key, text string) span.Attributes {
		return span.Attributes{{Key: key, Value: span.StringValue(text)}}
	}
	specs := []spanSpec{
		{kind: span.KindChain, input: "How do I get a refund for my invoice?", output: "Refunds are issued within five days."},
		{kind: span.KindLLM, input: "Je voudrais un café crème, s'il vous plaît."},
		{kind: span.KindLLM, output: "Привет, мир! Как дела?"},
		{kind: span.KindLLM, attrs: msg("llm.input_messages.0.message.content", "東京の天気はどうですか")},
		{kind: span.KindLLM, attrs: msg("llm.output_messages.0.message.contents.1.message_content.text",
			"The quick brown fox jumps over the lazy dog")},
		{kind: span.KindRetriever, attrs: msg("retrieval.documents.2.document.content", "Kubernetes pod eviction policy")},
		{kind: span.KindTool, input: `say "hello" * NEAR(alpha beta) col:value -x ^y`},
		{kind: span.KindLLM, attrs: msg("llm.input_messages.0.message.role", "refund")}, // a role is not searchable text
	}
	for i := range specs {
		specs[i].project = "search"
		specs[i].trace = 1000 + i
		specs[i].id = 1001 + i
		specs[i].name = "step"
		specs[i].startMs = int64(i) * 1000
		specs[i].durMs = 100
		specs[i].status = span.StatusOK
	}
	return specs
}

func searchable(t *testing.T, s store.Store) {
	t.Helper()
	if err := s.WaitIndexed(context.Background()); err != nil {
		t.Fatalf("WaitIndexed: %v", err)
	}
	if lag, err := s.SearchLag(context.Background(), 0); err != nil || lag != 0 {
		t.Fatalf("SearchLag after WaitIndexed = %d, %v; want 0", lag, err)
	}
}

func search(t *testing.T, s store.Store, q store.SpanQuery) []string {
	t.Helper()
	got, err := s.Spans(context.Background(), q)
	if err != nil {
		t.Fatalf("Spans(Search: %q): %v", q.Search, err)
	}
	return ids(got)
}

// SearchSpans are the spans the search cases look through: those of
// project "search", and one of project "other" that matches too.
func SearchSpans() []span.Span {
	other := spanSpec{project: "other", trace: 2000, id: 2001, name: "step", input: "refund elsewhere", startMs: 0, durMs: 1}
	return append(build(searchSpecs()...), build(other)...)
}

func testSearch(t *testing.T, s store.Store) {
	write(t, s, SearchSpans())
	searchable(t, s)
	pid := project(t, s, "search").ID
	RunSearchCases(t, func(typed string) ([]string, error) {
		got, err := s.Spans(context.Background(), store.SpanQuery{ProjectID: pid, Search: typed})
		return ids(got), err
	})
}

// RunSearchCases runs every search case through search, which returns the
// span ids, newest first, of the spans of project "search" (SearchSpans)
// matching a search as typed, and compares them with the case's. A
// backend's search SQL can so be run outside its store.
func RunSearchCases(t *testing.T, search func(typed string) ([]string, error)) {
	none := []string{}
	tests := []struct {
		search string
		want   []string
	}{
		{"refund", []string{spanID(1001)}},
		{"REFUND Invoice", []string{spanID(1001)}},
		{"refund kubernetes", none},
		{"cafe", []string{spanID(1002)}},
		{"CAFÉ creme", []string{spanID(1002)}},
		{"привет", []string{spanID(1003)}},
		{"МИР", []string{spanID(1003)}},
		{"東京", []string{spanID(1004)}},
		{"天気", []string{spanID(1004)}},
		{"京都", none},
		{`"quick brown fox"`, []string{spanID(1005)}},
		{`"brown quick"`, none},
		{"brown quick", []string{spanID(1005)}},
		{"eviction", []string{spanID(1006)}},
		{"hello", []string{spanID(1007)}},
		{"NEAR", []string{spanID(1007)}},
		{"col:value", []string{spanID(1007)}},
		{`NEAR(alpha beta)`, []string{spanID(1007)}},
		{"-x ^y", []string{spanID(1007)}},
		{"refund OR kubernetes", none},
		{`"`, none},
		{`*`, none},
		{`refund"`, []string{spanID(1001)}},
		{`( ) : * ^ - "" NOT AND`, none},
		{"\x00", none},
		{"   ", none},
	}
	for _, tc := range tests {
		got, err := search(tc.search)
		if err != nil {
			t.Errorf("search %q: %v", tc.search, err)
			continue
		}
		if got == nil {
			got = []string{}
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("search %q (-want +got):\n%s", tc.search, diff)
		}
	}
}

// testSearchConditions combines a search with the other conditions of a
// span query, and pages through the results.
func testSearchConditions(t *testing.T, s store.Store) {
	var specs []spanSpec
	for i := range 7 {
		kind := span.KindLLM
		if i%2 == 1 {
			kind = span.KindTool
		}
		specs = append(specs, spanSpec{project: "pages", trace: 3000 + i, id: 3001 + i, name: "step", kind: kind,
			startMs: int64(i) * 1000, durMs: 10, status: span.StatusOK, input: fmt.Sprintf("common words, number %d", i)})
	}
	write(t, s, build(specs...))
	searchable(t, s)
	pid := project(t, s, "pages").ID
	all := []string{spanID(3007), spanID(3006), spanID(3005), spanID(3004), spanID(3003), spanID(3002), spanID(3001)}

	// Pages as the REST API takes them: ask for one more than the page,
	// whose row id is the next cursor.
	var got []string
	var cursor int64
	for range len(all) {
		recs, err := s.Spans(context.Background(), store.SpanQuery{ProjectID: pid, Search: "common", Cursor: cursor, Limit: 3})
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) < 3 {
			got = append(got, ids(recs)...)
			break
		}
		got = append(got, ids(recs[:2])...)
		cursor = recs[2].RowID
	}
	if diff := cmp.Diff(all, got); diff != "" {
		t.Errorf("paged search (-want +got):\n%s", diff)
	}

	expr, err := query.Parse("span_kind == 'LLM'")
	if err == nil {
		err = query.Check(expr)
	}
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		q    store.SpanQuery
		want []string
	}{
		{"filter", store.SpanQuery{Search: "common", Filter: expr}, []string{spanID(3007), spanID(3005), spanID(3003), spanID(3001)}},
		{"kinds", store.SpanQuery{Search: "words", Kinds: []string{"TOOL"}}, []string{spanID(3006), spanID(3004), spanID(3002)}},
		{"time range", store.SpanQuery{Search: "common", StartTime: base + 2000*ms, EndTime: base + 5000*ms},
			[]string{spanID(3005), spanID(3004), spanID(3003)}},
		{"filter and time range", store.SpanQuery{Search: "number", Filter: expr, StartTime: base + 2000*ms},
			[]string{spanID(3007), spanID(3005), spanID(3003)}},
		{"phrase and limit", store.SpanQuery{Search: `"number 4"`, Limit: 1}, []string{spanID(3005)}},
		{"span ids", store.SpanQuery{Search: "common", SpanIDs: []string{spanID(3002), spanID(3003)}}, []string{spanID(3003), spanID(3002)}},
	}
	for _, tc := range tests {
		tc.q.ProjectID = pid
		if diff := cmp.Diff(tc.want, search(t, s, tc.q)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// testSearchIndexer checks that spans become searchable as they arrive, and
// stop being found when deleted, including when a new span takes the row id
// of a deleted one.
func testSearchIndexer(t *testing.T, s store.Store) {
	ctx := context.Background()
	first := spanSpec{project: "idx", trace: 4001, id: 4001, name: "step", input: "first arrival", durMs: 1}
	write(t, s, build(first))
	searchable(t, s)
	pid := project(t, s, "idx").ID
	if lag, err := s.SearchLag(ctx, pid); err != nil || lag != 0 {
		t.Errorf("SearchLag(project) = %d, %v; want 0", lag, err)
	}
	second := spanSpec{project: "idx", trace: 4002, id: 4002, name: "step", output: "second arrival", durMs: 1}
	write(t, s, build(second))
	if lag, err := s.SearchLag(ctx, pid); err != nil || lag < 0 || lag > 1 {
		t.Errorf("SearchLag with one new span = %d, %v; want 0 or 1", lag, err)
	}
	searchable(t, s)
	if diff := cmp.Diff([]string{spanID(4002), spanID(4001)}, search(t, s, store.SpanQuery{ProjectID: pid, Search: "arrival"})); diff != "" {
		t.Errorf("after a second write (-want +got):\n%s", diff)
	}

	if err := s.DeleteTrace(ctx, traceID(4002)); err != nil {
		t.Fatal(err)
	}
	third := spanSpec{project: "idx", trace: 4003, id: 4003, name: "step", input: "third newcomer", durMs: 1}
	write(t, s, build(third))
	searchable(t, s)
	for q, want := range map[string][]string{
		"arrival":  {spanID(4001)},
		"second":   {},
		"newcomer": {spanID(4003)},
	} {
		if diff := cmp.Diff(want, search(t, s, store.SpanQuery{ProjectID: pid, Search: q})); diff != "" {
			t.Errorf("after a delete, search %q (-want +got):\n%s", q, diff)
		}
	}
	if err := s.DeleteProject(ctx, pid); err != nil {
		t.Fatal(err)
	}
	if lag, err := s.SearchLag(ctx, 0); err != nil || lag != 0 {
		t.Errorf("SearchLag after deleting the project = %d, %v; want 0", lag, err)
	}
}
