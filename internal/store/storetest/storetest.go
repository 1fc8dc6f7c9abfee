package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// Opener returns a fresh, empty store for one test.
type Opener func(t *testing.T) store.Store

// Run runs the conformance suite against the backend open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"DefaultProjectExists", testDefaultProject},
		{"TraceRollups", testTraceRollups},
		{"RollupsAnyArrivalOrder", testArrivalOrder},
		{"Idempotent", testIdempotent},
		{"SpanIDScope", testSpanIDScope},
		{"TraceKeepsFirstProject", testTraceKeepsProject},
		{"SessionRollups", testSessionRollups}, {"RootRule", testRootRule},
		{"AttributesRoundTrip", testAttributesRoundTrip},
		{"MixedColumns", testMixedColumns},
		{"SpanQueries", testSpanQueries},
		{"SpanPagination", testSpanPagination},
		{"SpanStartOrder", testSpanStartOrder},
		{"SpanKeys", testSpanKeys}, {"SpansByRowID", testSpansByRowID}, {"HasAttribute", testHasAttribute},
		{"QueryDeadline", testQueryDeadline},
		{"TraceQueries", testTraceQueries},
		{"TraceFilters", testTraceFilters}, {"SessionFilters", testSessionFilters},
		{"NotFound", testNotFound},
		{"ProjectStats", testProjectStats}, {"SumsFollowTraces", testSumsFollowTraces},
		{"SummarizeLatencies", testSummarizeLatencies},
		{"TraceTree", testTraceTree}, {"SearchTrace", testSearchTrace},
		{"SpanByID", testSpanByID},
		{"SpanList", testSpanList},
		{"SpanListPreview", testSpanListPreview}, {"CostRanking", testCostRanking}, {"ErrorGroups", testErrorGroups}, {"JSONStringLists", testJSONStringLists},
		{"SessionTraces", testSessionTraces},
		{"Annotations", testAnnotations}, {"AnnotationAuthors", testAnnotationAuthors},
		{"FeedbackAttributes", testFeedbackAttributes},
		{"AnnotationSummaries", testAnnotationSummaries}, {"SummariesFollowEntities", testSummariesFollowEntities},
		{"ProjectsCRUD", testProjectsCRUD},
		{"DeleteTrace", testDeleteTrace},
		{"TransferTraces", testTransferTraces},
		{"DeleteSession", testDeleteSession}, {"DeleteSpan", testDeleteSpan},
		{"CostRollups", testCostRollups},
		{"RecomputeCosts", testRecomputeCosts}, {"UsageByTool", testUsageByTool},
		{"CallsCountedOnce", testCallsCountedOnce}, {"RecomputeCalls", testRecomputeCalls},
		{"Settings", testSettings},
		{"Filters", testFilters}, {"BoundedFilters", testBoundedFilters}, {"FilterCases", testFilterCases}, {"FilterInjection", testFilterInjection}, {"LongFilters", testLongFilters},
		{"RetentionPolicies", testRetentionPolicies},
		{"RetentionByAge", testRetentionByAge},
		{"RetentionByCount", testRetentionByCount}, {"DeleteTraceRange", testDeleteTraceRange},
		{"StorageReport", testStorageReport},
		{"TraceSeries", testTraceSeries}, {"BucketLatencies", testBucketLatencies},
		{"AnnotationScoreSeries", testAnnotationScoreSeries},
		{"PromptVersionReport", testPromptVersionReport}, {"DocumentScores", testDocumentScores},
		{"AnnotationConfigs", testAnnotationConfigs}, {"CompareVersions", testCompareVersions},
		{"Search", testSearch}, {"SearchConditions", testSearchConditions}, {"SearchIndexer", testSearchIndexer},
		{"CheckWritable", testCheckWritable},
		{"AuthUsers", testAuthUsers}, {"APIKeys", testAPIKeys}, {"LoginSessions", testLoginSessions},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

func write(t *testing.T, s store.Store, spans []span.Span) store.WriteResult {
	t.Helper()
	res, err := s.WriteSpans(context.Background(), spans)
	if err != nil {
		t.Fatalf("WriteSpans: %v", err)
	}
	return res
}

func project(t testing.TB, s store.Store, name string) store.Project {
	t.Helper()
	p, err := s.ProjectByName(context.Background(), name)
	if err != nil {
		t.Fatalf("ProjectByName(%q): %v", name, err)
	}
	return p
}

func trace(t *testing.T, s store.Store, n int) store.Trace {
	t.Helper()
	tr, err := s.Trace(context.Background(), traceID(n))
	if err != nil {
		t.Fatalf("Trace(%d): %v", n, err)
	}
	return tr
}

func testDefaultProject(t *testing.T, s store.Store) {
	ps, err := s.Projects(context.Background(), store.ProjectQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Name != span.DefaultProject {
		t.Fatalf("projects of an empty store = %+v, want just %q", ps, span.DefaultProject)
	}
}

// rollup is the part of a trace the roll-up tests compare.
type rollup struct {
	Start, End                   int64
	RootSpanID, RootName         string
	RootKind, RootStatus         string
	Spans, Errors, LLMSpans      int64
	Prompt, Completion, Total    int64
	User, Session, Input, Output string
}

func rollupOf(tr store.Trace) rollup {
	return rollup{tr.StartTime, tr.EndTime, tr.RootSpanID, tr.RootName, tr.RootKind, tr.RootStatus,
		tr.SpanCount, tr.ErrorCount, tr.LLMSpanCount, tr.Tokens.Prompt, tr.Tokens.Completion, tr.Tokens.Total,
		tr.UserID, tr.SessionID, tr.InputPreview, tr.OutputPreview}
}

var wantAgentRollup = rollup{
	Start: base, End: base + 1000*ms, RootSpanID: spanID(101), RootName: "agent.run", RootKind: "AGENT", RootStatus: "OK",
	Spans: 5, Errors: 1, LLMSpans: 2, Prompt: 400, Completion: 70, Total: 470,
	User: "u1", Session: "s1", Input: "question 1", Output: "answer 1",
}

func testTraceRollups(t *testing.T, s store.Store) {
	res := write(t, s, build(agentTrace("agents", 1, 0, "s1", "u1")...))
	if res.Inserted != 5 || res.Duplicates != 0 {
		t.Errorf("WriteSpans = %+v, want 5 inserted", res)
	}
	if diff := cmp.Diff(wantAgentRollup, rollupOf(trace(t, s, 1))); diff != "" {
		t.Errorf("trace roll-up (-want +got):\n%s", diff)
	}
	if p := project(t, s, "agents"); p.LastSpanTime == 0 {
		t.Errorf("project last activity not set: %+v", p)
	}
}

// testArrivalOrder sends the same trace in several orders and request
// splits; the roll-ups must not depend on them.
func testArrivalOrder(t *testing.T, s store.Store) {
	orders := map[string][][]int{
		"children first, one per request": {{4}, {3}, {1}, {0}, {2}},
		"root first":                      {{0}, {1, 2, 3, 4}},
		"root last, split":                {{1, 4}, {2, 3}, {0}},
	}
	n := 10
	for name, order := range orders {
		n++
		specs := agentTrace("agents", n, 0, "s1", "u1")
		for _, group := range order {
			var batch []spanSpec
			for _, i := range group {
				batch = append(batch, specs[i])
			}
			write(t, s, build(batch...))
		}
		got := rollupOf(trace(t, s, n))
		want := wantAgentRollup
		want.RootSpanID, want.Input, want.Output = spanID(n*100+1), specs[0].input, specs[0].output
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: trace roll-up (-want +got):\n%s", name, diff)
		}
	}
}

func testIdempotent(t *testing.T, s store.Store) {
	spans := build(agentTrace("agents", 1, 0, "s1", "u1")...)
	write(t, s, spans)
	res := write(t, s, spans)
	if res.Inserted != 0 || res.Duplicates != 5 {
		t.Errorf("re-sent WriteSpans = %+v, want 0 inserted, 5 duplicates", res)
	}
	// A batch repeating a span counts it once.
	res = write(t, s, build(append(agentTrace("agents", 2, 0, "", ""), agentTrace("agents", 2, 0, "", "")[0])...))
	if res.Inserted != 5 || res.Duplicates != 1 {
		t.Errorf("batch with a repeated span = %+v, want 5 inserted, 1 duplicate", res)
	}
	if diff := cmp.Diff(wantAgentRollup, rollupOf(trace(t, s, 1))); diff != "" {
		t.Errorf("roll-up changed by a re-send (-want +got):\n%s", diff)
	}
	// A batch mixing stored spans (the root among them) with new ones, of
	// this trace and of another, adds only the new ones.
	third := build(agentTrace("agents", 3, 0, "s3", "u3")...)
	write(t, s, third[:3])
	res = write(t, s, append(build(agentTrace("agents", 4, 0, "", "")...), third...))
	if res.Inserted != 7 || res.Duplicates != 3 || len(res.New) != 7 {
		t.Errorf("batch with 3 stored spans of 10 = %d inserted, %d duplicates, %d new; want 7, 3, 7",
			res.Inserted, res.Duplicates, len(res.New))
	}
	for n, who := range map[int]string{3: "3", 4: ""} {
		want := wantAgentRollup
		want.RootSpanID = spanID(n*100 + 1)
		want.Input, want.Output = fmt.Sprintf("question %d", n), fmt.Sprintf("answer %d", n)
		want.User, want.Session = "", ""
		if who != "" {
			want.User, want.Session = "u"+who, "s"+who
		}
		if diff := cmp.Diff(want, rollupOf(trace(t, s, n))); diff != "" {
			t.Errorf("trace %d after a partly re-sent batch (-want +got):\n%s", n, diff)
		}
	}
	if sess, err := s.Session(context.Background(), "s3"); err != nil {
		t.Fatal(err)
	} else if sess.TraceCount != 1 || sess.Tokens.Total != 470 || sess.FirstInput == "" {
		t.Errorf("session after a partly re-sent batch = %+v, want 1 trace, 470 tokens and its first input", sess)
	}
	sess, err := s.Session(context.Background(), "s1")
	if err != nil {
		t.Fatal(err)
	}
	if sess.TraceCount != 1 || sess.Tokens.Total != 470 {
		t.Errorf("session after re-send = %+v, want 1 trace and 470 tokens", sess)
	}
}

func testTraceKeepsProject(t *testing.T, s store.Store) {
	specs := agentTrace("first", 1, 0, "", "")
	write(t, s, build(specs[1]))
	for i := range specs {
		specs[i].project = "second"
	}
	write(t, s, build(specs...))
	first := project(t, s, "first")
	tr := trace(t, s, 1)
	if tr.ProjectID != first.ID {
		t.Errorf("trace project = %d, want %d (the project of its first span)", tr.ProjectID, first.ID)
	}
	spans, err := s.Spans(context.Background(), store.SpanQuery{ProjectID: first.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(spans) != 5 {
		t.Errorf("spans in the first project = %d, want all 5", len(spans))
	}
}

func testSessionRollups(t *testing.T, s store.Store) {
	// Three turns of one conversation, the middle one arriving last and the
	// session id carried only by a child span in the third.
	t1 := agentTrace("chat", 1, 0, "conv", "alice")
	t2 := agentTrace("chat", 2, 2000, "conv", "alice")
	t3 := agentTrace("chat", 3, 4000, "", "")
	t3[1].session = "conv"
	write(t, s, build(t1...))
	write(t, s, build(t3...))
	write(t, s, build(t2...))
	got, err := s.Session(context.Background(), "conv")
	if err != nil {
		t.Fatal(err)
	}
	chat := project(t, s, "chat")
	want := store.Session{
		RowID: got.RowID, ProjectID: chat.ID, SessionID: "conv", StartTime: base, EndTime: base + 5000*ms,
		TraceCount: 3, Tokens: span.TokenCounts{Prompt: 1200, Completion: 210, Total: 1410}, UserID: "alice",
		FirstInput: "question 1", LastOutput: "answer 3",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
	list, err := s.Sessions(context.Background(), store.SessionQuery{ProjectID: chat.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].SessionID != "conv" {
		t.Errorf("Sessions = %+v, want the one session", list)
	}
	tr := trace(t, s, 3)
	if tr.SessionID != "conv" {
		t.Errorf("trace 3 session = %q, want conv (from a child span)", tr.SessionID)
	}
}

// testRootRule checks which span a trace takes as its root, and what its
// session takes from it. Of a batch, the root is the span without a parent
// that starts first, the first sent among those that start together; a
// root stored is kept. A session's first input is the root input of its
// earliest trace, and its last output the root output of its latest.
func testRootRule(t *testing.T, s store.Store) {
	ctx := context.Background()
	spec := func(trace, id, parent int, startMs int64, text string) spanSpec {
		return spanSpec{project: "roots", trace: trace, id: id, par: parent, name: text, kind: span.KindChain,
			startMs: startMs, durMs: 100, status: span.StatusOK, session: "roots", input: text + " in", output: text + " out"}
	}
	check := func(step string, n int, root int, text string, startMs int64) {
		t.Helper()
		tr := trace(t, s, n)
		if tr.RootSpanID != spanID(root) || tr.RootName != text || tr.InputPreview != text+" in" ||
			tr.OutputPreview != text+" out" || tr.StartTime != base+startMs*ms {
			t.Errorf("%s: trace %d = root %s %q, input %q, output %q, start %d ms; want root %s %q, start %d ms",
				step, n, tr.RootSpanID, tr.RootName, tr.InputPreview, tr.OutputPreview, (tr.StartTime-base)/ms,
				spanID(root), text, startMs)
		}
	}
	session := func(step, first, last string) {
		t.Helper()
		sess, err := s.Session(ctx, "roots")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if sess.FirstInput != first+" in" || sess.LastOutput != last+" out" {
			t.Errorf("%s: session's first input %q, last output %q; want %q, %q",
				step, sess.FirstInput, sess.LastOutput, first+" in", last+" out")
		}
	}

	// Two spans without a parent start together in each trace: the first
	// sent is the root, whether its id is the larger or the smaller.
	write(t, s, build(spec(1, 102, 101, 110, "child"), spec(1, 103, 0, 100, "one"), spec(1, 101, 0, 100, "one too"),
		spec(1, 104, 0, 150, "one later")))
	write(t, s, build(spec(2, 201, 0, 80, "two"), spec(2, 202, 0, 80, "two too")))
	check("one batch", 1, 103, "one", 100)
	check("one batch", 2, 201, "two", 80)
	session("two traces", "two", "one")

	// A span without a parent starting before the root does not take its
	// place; it makes the trace the session's earliest.
	write(t, s, build(spec(1, 105, 0, 50, "one earlier")))
	check("a later batch", 1, 103, "one", 50)
	session("a root's trace starts earlier", "one", "one")

	// So does a child that starts before its trace's root.
	write(t, s, build(spec(3, 301, 0, 30, "three")))
	session("a third trace", "three", "one")
	write(t, s, build(spec(2, 203, 201, 10, "early child")))
	check("a child", 2, 201, "two", 10)
	session("a trace starts earlier by a child", "two", "one")
	if sess, err := s.Session(ctx, "roots"); err != nil || sess.TraceCount != 3 {
		t.Errorf("session = %+v, %v; want 3 traces", sess, err)
	}
}

func testAttributesRoundTrip(t *testing.T, s store.Store) {
	attrs := span.Attributes{
		{Key: "llm.input_messages.0.message.role", Value: span.StringValue("user")},
		{Key: "llm.input_messages.0.message.content", Value: span.StringValue("héllo \"quoted\"\n世界")},
		{Key: "llm.invocation_parameters", Value: span.StringValue(`{"temperature":0.2}`)},
		{Key: "tag.tags", Value: span.Value{Type: span.TypeSlice, Slice: []span.Value{span.StringValue("a"), span.StringValue("b")}}},
		{Key: "retrieval.documents.0.document.score", Value: span.DoubleValue(0.87)},
		{Key: "flag", Value: span.BoolValue(true)},
		{Key: "big", Value: span.IntValue(9007199254740993)},
	}
	sp := spanSpec{trace: 1, id: 1, name: "chat", kind: span.KindLLM, durMs: 5, input: "in", output: "", attrs: attrs}.build()
	sp.Events = []span.Event{{Name: "exception", Time: base + 2*ms, Attributes: span.Attributes{
		{Key: "exception.type", Value: span.StringValue("ValueError")},
		{Key: "exception.message", Value: span.StringValue("bad")},
	}}}
	write(t, s, []span.Span{sp})
	got, err := s.Spans(context.Background(), store.SpanQuery{ProjectID: project(t, s, span.DefaultProject).ID})
	if err != nil || len(got) != 1 {
		t.Fatalf("Spans = %v, %v; want one span", got, err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytesReader(got[0].AttributesJSON))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("stored attributes are not JSON: %v\n%s", err, got[0].AttributesJSON)
	}
	want := map[string]any{
		"openinference.span.kind":              "LLM",
		"input.value":                          "in",
		"llm.input_messages.0.message.role":    "user",
		"llm.input_messages.0.message.content": "héllo \"quoted\"\n世界",
		"llm.invocation_parameters":            `{"temperature":0.2}`,
		"tag.tags":                             []any{"a", "b"},
		"retrieval.documents.0.document.score": json.Number("0.87"),
		"flag":                                 true,
		"big":                                  json.Number("9007199254740993"),
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
	var events []map[string]any
	if err := json.Unmarshal(got[0].EventsJSON, &events); err != nil || len(events) != 1 || events[0]["name"] != "exception" {
		t.Errorf("events = %s (%v), want the exception event", got[0].EventsJSON, err)
	}
	if got[0].View.Kind != span.KindLLM || got[0].View.InputValue != "in" {
		t.Errorf("view = %+v", got[0].View)
	}
}

// testMixedColumns writes one batch whose spans fill different optional
// columns (an LLM span has a model, tokens, a session, input and output; a
// bare span none of them), more spans than one insert statement takes, and
// reads each back as it was sent.
func testMixedColumns(t *testing.T, s store.Store) {
	var specs []spanSpec
	for i := 1; i <= 75; i++ {
		sp := spanSpec{trace: 1, id: i, name: "step", kind: span.KindChain, startMs: int64(i), durMs: 1}
		if i > 1 {
			sp.par = 1
		}
		switch i % 4 {
		case 0:
			sp.kind, sp.name = span.KindLLM, "chat"
			sp.prompt, sp.compl = int64(100+i), int64(i)
			sp.session, sp.input, sp.output = "conv-1", fmt.Sprintf("question %d", i), fmt.Sprintf("answer %d", i)
			sp.attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("gpt-4o-mini")}}
		case 1:
			sp.user = "u-7"
		}
		specs = append(specs, sp)
	}
	sent := build(specs...)
	write(t, s, sent)
	got, err := s.Spans(context.Background(), store.SpanQuery{ProjectID: project(t, s, span.DefaultProject).ID, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	type columns struct {
		Kind                      span.Kind
		Model, Session, User      string
		Input, Output             string
		Prompt, Completion, Total int64
	}
	view := func(sp span.Span) columns {
		v := sp.View
		return columns{v.Kind, v.ModelName, v.SessionID, v.UserID, v.InputValue, v.OutputValue,
			v.Tokens.Prompt, v.Tokens.Completion, v.Tokens.Total}
	}
	want := make(map[string]columns, len(sent))
	for _, sp := range sent {
		want[sp.SpanID] = view(sp)
	}
	have := make(map[string]columns, len(got))
	for _, r := range got {
		have[r.SpanID] = view(r.Span)
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("stored columns (-sent +read):\n%s", diff)
	}
}

func ids(recs []store.SpanRecord) []string {
	out := []string{}
	for _, r := range recs {
		out = append(out, r.SpanID)
	}
	return out
}

func testSpanQueries(t *testing.T, s store.Store) {
	write(t, s, build(agentTrace("q", 1, 0, "", "")...))
	write(t, s, build(agentTrace("q", 2, 5000, "", "")...))
	pid := project(t, s, "q").ID
	tests := []struct {
		name string
		q    store.SpanQuery
		want []string
	}{
		{"all, newest row first", store.SpanQuery{}, []string{spanID(205), spanID(204), spanID(203), spanID(202), spanID(201), spanID(105), spanID(104), spanID(103), spanID(102), spanID(101)}},
		{"roots", store.SpanQuery{RootsOnly: true}, []string{spanID(201), spanID(101)}},
		{"kind", store.SpanQuery{Kinds: []string{"RETRIEVER"}}, []string{spanID(204), spanID(104)}},
		{"status", store.SpanQuery{StatusCodes: []string{"ERROR"}, TraceIDs: []string{traceID(1)}}, []string{spanID(105)}},
		{"name", store.SpanQuery{Names: []string{"tool.search_docs"}, Limit: 1}, []string{spanID(203)}},
		{"span ids", store.SpanQuery{SpanIDs: []string{spanID(102), spanID(999)}}, []string{spanID(102)}},
		{"time range", store.SpanQuery{StartTime: base + 5000*ms, EndTime: base + 5011*ms}, []string{spanID(202), spanID(201)}},
		{"attribute int", store.SpanQuery{Attributes: []store.AttributeMatch{{Key: span.AttrTokensPrompt, Value: int64(300)}}}, []string{spanID(205), spanID(105)}},
		{"attribute string", store.SpanQuery{Attributes: []store.AttributeMatch{{Key: span.AttrSpanKind, Value: "AGENT"}}}, []string{spanID(201), spanID(101)}},
		{"attribute number as text does not match", store.SpanQuery{Attributes: []store.AttributeMatch{{Key: span.AttrTokensPrompt, Value: "300"}}}, []string{}},
		{"input value", store.SpanQuery{Attributes: []store.AttributeMatch{{Key: span.AttrInputValue, Value: "question 2"}}}, []string{spanID(201)}},
	}
	for _, tc := range tests {
		tc.q.ProjectID = pid
		got, err := s.Spans(context.Background(), tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// testSpanStartOrder checks OrderByStartTime against row order: the later
// trace is written first, and a third trace's root starts with the second's,
// so the tie falls to the row id.
func testSpanStartOrder(t *testing.T, s store.Store) {
	write(t, s, build(agentTrace("o", 2, 5000, "", "")...))
	write(t, s, build(agentTrace("o", 1, 0, "", "")...))
	write(t, s, build(agentTrace("o", 3, 5000, "", "")[:1]...))
	pid := project(t, s, "o").ID
	want := []string{spanID(205), spanID(204), spanID(203), spanID(202), spanID(301), spanID(201),
		spanID(105), spanID(104), spanID(103), spanID(102), spanID(101)}
	got, err := s.Spans(context.Background(), store.SpanQuery{ProjectID: pid, OrderByStartTime: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, ids(got)); diff != "" {
		t.Errorf("start order (-want +got):\n%s", diff)
	}
	// Pages of 3, a fourth span read ahead as the next page's inclusive cursor.
	var paged []string
	q := store.SpanQuery{ProjectID: pid, OrderByStartTime: true, Limit: 4}
	for pages := 0; pages < 10; pages++ {
		got, err := s.Spans(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 4 {
			paged = append(paged, ids(got)...)
			break
		}
		paged = append(paged, ids(got[:3])...)
		q.Cursor, q.CursorStartTime = got[3].RowID, got[3].StartTime
	}
	if diff := cmp.Diff(want, paged); diff != "" {
		t.Errorf("paged start order (-want +got):\n%s", diff)
	}
	// Oldest first, in pages the same way, and by row id.
	slices.Reverse(want)
	for _, tc := range []struct {
		name string
		q    store.SpanQuery
		want []string
	}{
		{"oldest first", store.SpanQuery{OrderByStartTime: true}, want},
		{"row order, oldest first", store.SpanQuery{}, nil},
		{"oldest LLM spans first", store.SpanQuery{OrderByStartTime: true, Kinds: []string{"LLM"}},
			[]string{spanID(102), spanID(105), spanID(202), spanID(205)}},
		{"oldest first, filtered", store.SpanQuery{OrderByStartTime: true, Filter: mustParse(t, "span_kind == 'LLM'")},
			[]string{spanID(102), spanID(105), spanID(202), spanID(205)}},
	} {
		q := tc.q
		q.ProjectID, q.Ascending, q.Limit = pid, true, 4
		var paged []string
		var byRow []int64
		for pages := 0; pages < 10; pages++ {
			got, err := s.Spans(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range got {
				byRow = append(byRow, r.RowID)
			}
			if len(got) < 4 {
				paged = append(paged, ids(got)...)
				break
			}
			paged = append(paged, ids(got[:3])...)
			byRow = byRow[:len(byRow)-1]
			q.Cursor, q.CursorStartTime = got[3].RowID, got[3].StartTime
		}
		if tc.want == nil {
			// Row order oldest first is row order newest first reversed,
			// whatever a backend's row ids are.
			newest, err := s.Spans(context.Background(), store.SpanQuery{ProjectID: pid})
			if err != nil {
				t.Fatal(err)
			}
			var want []int64
			for _, r := range slices.Backward(newest) {
				want = append(want, r.RowID)
			}
			if len(byRow) != 11 || !slices.Equal(want, byRow) {
				t.Errorf("%s: row ids %v, want the 11 of row order reversed, %v", tc.name, byRow, want)
			}
			continue
		}
		if diff := cmp.Diff(tc.want, paged); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

func testSpanPagination(t *testing.T, s store.Store) {
	for i := 1; i <= 5; i++ {
		write(t, s, build(agentTrace("p", i, int64(i)*2000, "", "")...))
	}
	pid := project(t, s, "p").ID
	var all []string
	cursor := int64(0)
	for pages := 0; ; pages++ {
		got, err := s.Spans(context.Background(), store.SpanQuery{ProjectID: pid, Cursor: cursor, Limit: 8})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 8 {
			all = append(all, ids(got)...)
			break
		}
		all = append(all, ids(got[:7])...)
		cursor = got[7].RowID
		if pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if len(all) != 25 {
		t.Errorf("paged through %d spans, want 25: %v", len(all), all)
	}
	seen := map[string]bool{}
	for _, id := range all {
		if seen[id] {
			t.Errorf("span %s on two pages", id)
		}
		seen[id] = true
	}
}

func testTraceQueries(t *testing.T, s store.Store) {
	// Trace n starts at n seconds and lasts 1000+n*100 ms.
	for n := 1; n <= 4; n++ {
		specs := agentTrace("t", n, int64(n)*1000, "", "")
		specs[0].durMs = 1000 + int64(n)*100
		specs[0].session = map[bool]string{true: "even", false: "odd"}[n%2 == 0]
		write(t, s, build(specs...))
	}
	pid := project(t, s, "t").ID
	traceIDs := func(ts []store.Trace) []string {
		out := []string{}
		for _, tr := range ts {
			out = append(out, tr.TraceID)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.TraceQuery
		want []string
	}{
		{"newest first", store.TraceQuery{}, []string{traceID(4), traceID(3), traceID(2), traceID(1)}},
		{"oldest first", store.TraceQuery{Ascending: true}, []string{traceID(1), traceID(2), traceID(3), traceID(4)}},
		{"slowest first", store.TraceQuery{Sort: store.SortLatency}, []string{traceID(4), traceID(3), traceID(2), traceID(1)}},
		{"time range", store.TraceQuery{StartTime: base + 2000*ms, EndTime: base + 4000*ms}, []string{traceID(3), traceID(2)}},
		{"session", store.TraceQuery{SessionIDs: []string{"even"}}, []string{traceID(4), traceID(2)}},
	}
	for _, tc := range tests {
		tc.q.ProjectID = pid
		got, err := s.Traces(context.Background(), tc.q)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, traceIDs(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
	// Keyset pages by latency: a page starting at trace 3 holds 3, 2, 1.
	first, _ := s.Traces(context.Background(), store.TraceQuery{ProjectID: pid, Sort: store.SortLatency, Limit: 2})
	if len(first) != 2 {
		t.Fatalf("first page = %d traces", len(first))
	}
	next, err := s.Traces(context.Background(), store.TraceQuery{ProjectID: pid, Sort: store.SortLatency, Cursor: first[1].RowID})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{traceID(3), traceID(2), traceID(1)}, traceIDs(next)); diff != "" {
		t.Errorf("latency page from cursor (-want +got):\n%s", diff)
	}
	withSpans, err := s.Traces(context.Background(), store.TraceQuery{ProjectID: pid, Limit: 1, WithSpans: true})
	if err != nil || len(withSpans) != 1 || len(withSpans[0].Spans) != 5 {
		t.Errorf("traces with spans = %+v, %v; want one trace with 5 spans", withSpans, err)
	}
}

func testNotFound(t *testing.T, s store.Store) {
	ctx := context.Background()
	if _, err := s.Trace(ctx, traceID(404)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Trace(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.ProjectByName(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ProjectByName(unknown) error = %v, want ErrNotFound", err)
	}
	if _, err := s.Session(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Session(unknown) error = %v, want ErrNotFound", err)
	}
}
