package storetest

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// The filter cases are the files testdata/exec/cases*.txt of package query:
// each line a filter, "=>", and the ids it must select from filterFixture.
// They run against every backend here, and each backend's filter dialect
// compiles them into the golden SQL of package query's testdata/compile
// (FilterSQL).

// filterGrain is what one cases file filters: spans, traces or sessions.
type filterGrain struct {
	name    string
	file    string // in query's testdata/exec
	golden  string // suffix of the golden files in query's testdata/compile
	check   func(query.Expr) error
	compile func(query.Expr, query.Dialect) (string, []any, error)
	// list returns the ids of what e selects in project pid, sorted.
	list func(ctx context.Context, s store.Store, pid int64, e query.Expr) ([]string, error)
}

var filterGrains = []filterGrain{
	{"span", "cases.txt", "", query.Check, query.Compile, listSpans},
	{"trace", "cases_traces.txt", "_traces", query.CheckTraces, query.CompileTraces, listTraces},
	{"session", "cases_sessions.txt", "_sessions", query.CheckSessions, query.CompileSessions, listSessions},
}

func listSpans(ctx context.Context, s store.Store, pid int64, e query.Expr) ([]string, error) {
	recs, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, Filter: e})
	return sorted(recs, func(r store.SpanRecord) string { return r.SpanID }), err
}

func listTraces(ctx context.Context, s store.Store, pid int64, e query.Expr) ([]string, error) {
	ts, err := s.Traces(ctx, store.TraceQuery{ProjectID: pid, Filter: e})
	return sorted(ts, func(tr store.Trace) string { return tr.TraceID }), err
}

func listSessions(ctx context.Context, s store.Store, pid int64, e query.Expr) ([]string, error) {
	ss, err := s.Sessions(ctx, store.SessionQuery{ProjectID: pid, Filter: e})
	return sorted(ss, func(se store.Session) string { return se.SessionID }), err
}

func sorted[T any](rows []T, id func(T) string) []string {
	out := []string{}
	for _, r := range rows {
		out = append(out, id(r))
	}
	slices.Sort(out)
	return out
}

// filterCase is one line of a cases file.
type filterCase struct {
	line   int
	filter string
	want   []string // sorted
}

func readFilterCases(t testing.TB, file string) []filterCase {
	t.Helper()
	f, err := os.Open(filepath.Join(queryTestdata(t), "exec", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []filterCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndex(line, "=>")
		if i < 0 {
			t.Fatalf("%s:%d: no '=>'", file, n)
		}
		want := append([]string{}, strings.Fields(line[i+2:])...)
		slices.Sort(want)
		out = append(out, filterCase{line: n, filter: strings.TrimSpace(line[:i]), want: want})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// queryTestdata is package query's testdata directory, found from the
// module's root above the running test's directory.
func queryTestdata(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "internal", "query", "testdata")
		}
		up := filepath.Dir(dir)
		if up == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = up
	}
}

// testFilterCases runs every filter case against the backend and compares
// what it selects, which shows that the SQL the backend runs means what the
// filter says.
func testFilterCases(t *testing.T, s store.Store) {
	pid := filterFixture(t, s)
	RunFilterCases(t, func(ctx context.Context, g FilterGrain, e query.Expr) ([]string, error) {
		return g.list(ctx, s, pid, e)
	})
}

// FilterGrain is what one file of filter cases filters: spans, traces or
// sessions.
type FilterGrain = filterGrain

// Name is "span", "trace" or "session".
func (g FilterGrain) Name() string { return g.name }

// Compile is how the grain's filters compile: query.Compile,
// query.CompileTraces or query.CompileSessions.
func (g FilterGrain) Compile(e query.Expr, d query.Dialect) (string, []any, error) {
	return g.compile(e, d)
}

// FilterGrains are the grains of the filter cases: spans, traces and
// sessions, in that order.
func FilterGrains() []FilterGrain { return filterGrains }

// WriteFilterFixture writes the spans and annotations the filter cases
// select from to project "filters" of s, and returns the project's id.
func WriteFilterFixture(t testing.TB, s store.Store) int64 { return filterFixture(t, s) }

// RunFilterCases runs every filter case through list, which returns the
// ids (span_id, trace_id or session_id) of what a filter of grain g selects
// from the spans of WriteFilterFixture, and compares them with the case's.
// A backend's filter SQL can so be run outside its store.
func RunFilterCases(t *testing.T, list func(ctx context.Context, g FilterGrain, e query.Expr) ([]string, error)) {
	ctx := context.Background()
	for _, g := range filterGrains {
		for _, tc := range readFilterCases(t, g.file) {
			t.Run(g.name+"/"+tc.filter, func(t *testing.T) {
				e, err := query.Parse(tc.filter)
				if err != nil {
					t.Fatalf("%s:%d: %v", g.file, tc.line, err)
				}
				got, err := list(ctx, g, e)
				if got == nil {
					got = []string{}
				}
				slices.Sort(got)
				if err != nil {
					t.Fatalf("%s:%d: %v", g.file, tc.line, err)
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("%s:%d: %s (-want +got):\n%s", g.file, tc.line, tc.filter, d)
				}
			})
		}
	}
}

// FuzzFilters runs whatever parses against s as a span, a trace and a
// session filter, over the spans of the filter cases, which are the seeds:
// a filter the check passes runs, or is refused as too large; the database
// never rejects its SQL, nor takes long over it.
func FuzzFilters(f *testing.F, s store.Store) {
	pid := filterFixture(f, s)
	FuzzFilterLists(f, func(ctx context.Context, g FilterGrain, e query.Expr) ([]string, error) {
		return g.list(ctx, s, pid, e)
	})
}

// FuzzFilterLists is FuzzFilters through list, which selects from the
// spans of WriteFilterFixture as RunFilterCases's does.
func FuzzFilterLists(f *testing.F, list func(ctx context.Context, g FilterGrain, e query.Expr) ([]string, error)) {
	for _, g := range filterGrains {
		for _, tc := range readFilterCases(f, g.file) {
			f.Add(tc.filter)
		}
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := query.Parse(src)
		if err != nil {
			return
		}
		for _, g := range filterGrains {
			if g.check(e) != nil {
				continue
			}
			// A query this slow over twenty spans means the SQL blew up.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := list(ctx, g, e)
			cancel()
			if err != nil && !(errors.Is(err, store.ErrInvalidArgument) && strings.Contains(err.Error(), "the filter is too large")) {
				t.Fatalf("%s filter %q: %v", g.name, src, err)
			}
		}
	})
}

// filterSpan is a span of filterFixture. Its attributes are a JSON object
// (see attributesJSON); the columns the stores keep are read from them.
type filterSpan struct {
	trace, id, parent string
	name              string
	kind              span.Kind
	startMs, endMs    int64 // after filterBase
	status            span.StatusCode
	message           string
	attrs             string
	events            []span.Event
	cost              [3]float64 // total, prompt, completion; priced when total > 0
}

// filterBase is 2024-01-01T00:00:00Z in unix ns: span sNN starts NN seconds
// after it.
const filterBase int64 = 1704067200_000_000_000

// filterSpans are four traces in two sessions, with the odd cases a filter
// meets: an orphan (s09), a parent cycle (s17, s18), attributes that are
// JSON strings, lists, nulls, and keys and values that look like SQL.
var filterSpans = []filterSpan{
	{"trace-1", "s01", "", "agent", span.KindAgent, 1000, 7000, span.StatusOK, "",
		`{"input.value":"Please process my REFUND request","input.mime_type":"text/plain","output.value":"Refund issued","output.mime_type":"text/plain",` +
			`"metadata":"{\"topic\":\"billing\",\"tier\":\"gold\",\"n\":3}","tag.tags":["vip","billing"],"session.id":"sess-1","user.id":"u1"}`, nil, [3]float64{}},
	{"trace-1", "s02", "s01", "ChatCompletion", span.KindLLM, 2000, 6500, span.StatusOK, "",
		`{"llm.model_name":"gpt-4o","llm.provider":"openai","input.value":"What is the refund policy?","output.value":"Refunds within 30 days.",` +
			`"llm.input_messages.0.message.role":"system","llm.input_messages.1.message.role":"user","llm.input_messages.1.message.content":"What is the refund policy?",` +
			`"llm.invocation_parameters":"{\"temperature\":0.7,\"max_tokens\":512}","llm.token_count.prompt":800,"llm.token_count.completion":400,"llm.token_count.total":1200}`,
		nil, [3]float64{0.008, 0.006, 0.002}},
	{"trace-1", "s03", "s01", "lookup_order", span.KindTool, 3000, 3100, span.StatusError, "timeout after 100ms",
		`{"input.value":"{\"order_id\": 42}","input.mime_type":"application/json","tool.name":"lookup_order","tool.parameters":"{\"type\":\"object\",\"required\":[\"order_id\"]}"}`,
		[]span.Event{{Name: "exception", Attributes: span.Attributes{{Key: "exception.message", Value: span.StringValue("timeout")}}}}, [3]float64{}},
	{"trace-1", "s04", "s01", "ChatCompletion", span.KindLLM, 4000, 5200, span.StatusOK, "",
		`{"llm.model_name":"gpt-4o-mini","llm.provider":"openai","llm.token_count.prompt":300,"llm.token_count.completion":50,"llm.token_count.total":350,` +
			`"llm.token_count.prompt_details.cache_read":100,"llm.is_streaming":true,"llm.input_messages.0.message.role":"user","retries":0}`,
		nil, [3]float64{0.004, 0.002, 0.002}},
	{"trace-1", "s05", "s04", "format", span.KindChain, 5000, 5010, span.StatusUnset, "",
		`{"llm.is_streaming":false,"retries":"2"}`, nil, [3]float64{}},
	{"trace-2", "s06", "", "pipeline", span.KindChain, 6000, 14000, span.StatusUnset, "",
		`{"session.id":"sess-2","user.id":"u2","input.value":"Where is my package?","metadata":"{\"topic\":\"shipping\",\"n\":10}"}`, nil, [3]float64{}},
	{"trace-2", "s07", "s06", "claude", span.KindLLM, 7000, 14900, span.StatusError, "rate limited",
		`{"llm.model_name":"claude-3-5-sonnet","llm.provider":"anthropic","llm.token_count.prompt":2000,"llm.token_count.completion":1000,"llm.token_count.total":3000,` +
			`"llm.token_count.prompt_details.cache_write":200,"llm.token_count.completion_details.reasoning":500,"llm.input_messages.0.message.role":"user"}`,
		nil, [3]float64{0.05, 0.03, 0.02}},
	{"trace-2", "s08", "s06", "retrieve", span.KindRetriever, 8000, 8250, span.StatusOK, "",
		`{"input.value":"where is my package","retrieval.documents.0.document.score":0.9,"retrieval.documents.0.document.metadata":"{\"source\":\"faq.md\"}",` +
			`"retrieval.documents.1.document.score":0.4}`, nil, [3]float64{}},
	{"trace-2", "s09", "ffffffffffffffff", "orphan-llm", span.KindLLM, 9000, 12000, span.StatusOK, "",
		`{"llm.model_name":"gpt-4o","llm.provider":"openai","llm.token_count.prompt":100,"llm.token_count.completion":20,"llm.token_count.total":120}`, nil, [3]float64{}},
	{"trace-3", "s10", "", "answer", span.KindLLM, 10000, 15000, span.StatusOK, "",
		`{"llm.model_name":"gpt-4o","input.value":"100% off_sale today","llm.token_count.prompt":600,"llm.token_count.completion":600,"llm.token_count.total":1200,` +
			`"metadata":"not json","session.id":"sess-1"}`, nil, [3]float64{}},
	{"trace-3", "s11", "s10", "calc", span.KindTool, 11000, 11020, span.StatusOK, "",
		`{"calc.result":"42","calc.value":42.5,"calc.flag":false,"calc.neg":-7}`, nil, [3]float64{}},
	{"trace-3", "s12", "s10", "summarize", span.KindLLM, 12000, 12900, span.StatusOK, "",
		`{"llm.model_name":"gpt-4o-mini","llm.token_count.prompt":50,"llm.token_count.completion":25,"llm.token_count.total":75,` +
			`"metadata":"{\"topic\":\"billing\",\"nested\":{\"k\":[1,2,3]},\"score\":0.25}"}`, nil, [3]float64{}},
	{"trace-3", "s13", "s10", "embed", span.KindEmbedding, 13000, 13030, span.StatusOK, "",
		`{"we\"ird.key":"quoted","a'b":1,"pct%_key":"x"}`, nil, [3]float64{}},
	{"trace-3", "s14", "s10", "guard", span.KindGuardrail, 14000, 14015, span.StatusError, "blocked: ' OR 1=1 --",
		`{}`, nil, [3]float64{}},
	{"trace-4", "s15", "", "flat-meta", span.KindLLM, 15000, 17000, span.StatusOK, "",
		`{"llm.model_name":"o1-preview","llm.provider":"openai","llm.token_count.prompt":10,"llm.token_count.completion":5,"llm.token_count.total":15,` +
			`"metadata.topic":"flat-topic","metadata.n":7}`, nil, [3]float64{0.001, 0.0006, 0.0004}},
	{"trace-4", "s16", "s15", "no-model", span.KindLLM, 16000, 16050, span.StatusOK, "",
		`{"llm.token_count.total":"n/a"}`, nil, [3]float64{}},
	{"trace-4", "s17", "s18", "cycle-a", span.KindChain, 17000, 17005, span.StatusOK, "",
		`{"llm.token_count.prompt":10,"llm.token_count.completion":0,"llm.token_count.total":10}`, nil, [3]float64{}},
	{"trace-4", "s18", "s17", "cycle-b", span.KindChain, 18000, 18005, span.StatusOK, "",
		`{"llm.token_count.prompt":10,"llm.token_count.completion":0,"llm.token_count.total":10}`, nil, [3]float64{}},
	{"trace-4", "s19", "s15", "nulls", span.KindChain, 19000, 19000, span.StatusUnset, "",
		`{"x.null":null,"x.empty":""}`, nil, [3]float64{}},
	{"trace-4", "s20", "s15", "slow-retriever", span.KindRetriever, 20000, 140000, span.StatusOK, "",
		`{"retrieval.documents.0.document.score":0.3}`,
		[]span.Event{{Name: "exception", Attributes: span.Attributes{{Key: "exception.type", Value: span.StringValue("ValueError")}}}}, [3]float64{}},
}

// filterFixture writes filterSpans and their annotations to project
// "filters" and returns its id.
func filterFixture(t testing.TB, s store.Store) int64 {
	t.Helper()
	ctx := context.Background()
	spans, anns := FilterFixture(t)
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatalf("WriteSpans: %v", err)
	}
	if _, err := s.UpsertAnnotations(ctx, anns); err != nil {
		t.Fatalf("UpsertAnnotations: %v", err)
	}
	return project(t, s, "filters").ID
}

// FilterFixture returns what the filter cases select from: the spans of
// project "filters", normalized, and their annotations.
func FilterFixture(t testing.TB) ([]span.Span, []store.Annotation) {
	t.Helper()
	spans := make([]span.Span, len(filterSpans))
	for i, fs := range filterSpans {
		attrs, err := attributesJSON(fs.attrs)
		if err != nil {
			t.Fatalf("%s: %v", fs.id, err)
		}
		sp := span.Span{
			Project: "filters", TraceID: fs.trace, SpanID: fs.id, ParentID: fs.parent, Name: fs.name,
			StartTime: filterBase + fs.startMs*ms, EndTime: filterBase + fs.endMs*ms,
			StatusCode: fs.status, StatusMessage: fs.message, Events: fs.events,
			Attributes: append(span.Attributes{{Key: span.AttrSpanKind, Value: span.StringValue(string(fs.kind))}}, attrs...),
		}
		span.Normalize(&sp)
		if c := fs.cost; c[0] > 0 {
			sp.View.Cost = span.Cost{Status: span.CostPriced, Total: c[0], Prompt: c[1], Completion: c[2], Source: "client"}
		}
		spans[i] = sp
	}
	human := func(a store.Annotation) store.Annotation { a.AnnotatorKind = "HUMAN"; return a }
	return spans, []store.Annotation{
		human(store.Annotation{Kind: store.SpanAnnotation, SpanID: "s02", Name: "correctness", Label: ptr("incorrect"), Score: ptr(0.0), Explanation: ptr("wrong policy")}),
		human(store.Annotation{Kind: store.SpanAnnotation, SpanID: "s02", Name: "hallucination", Score: ptr(0.2)}),
		human(store.Annotation{Kind: store.SpanAnnotation, SpanID: "s04", Name: "correctness", Label: ptr("correct"), Score: ptr(1.0)}),
		human(store.Annotation{Kind: store.SpanAnnotation, SpanID: "s04", Name: "hallucination", Label: ptr("no"), Score: ptr(0.7)}),
		human(store.Annotation{Kind: store.SpanAnnotation, SpanID: "s07", Name: "hallucination", Label: ptr("yes"), Score: ptr(0.95)}),
		human(store.Annotation{Kind: store.SpanAnnotation, SpanID: "s07", Name: "hallucination", Label: ptr("no"), Score: ptr(0.6), Identifier: "v2"}),
		human(store.Annotation{Kind: store.SpanAnnotation, SpanID: "s10", Name: "correctness", Score: ptr(0.8), Explanation: ptr("looks right")}),
		human(store.Annotation{Kind: store.SpanAnnotation, SpanID: "s13", Name: "quote's", Label: ptr("odd"), Score: ptr(1.0)}),
		human(store.Annotation{Kind: store.TraceAnnotation, TraceID: "trace-2", Name: "user_feedback", Label: ptr("thumbs_down"), Score: ptr(0.0)}),
		human(store.Annotation{Kind: store.TraceAnnotation, TraceID: "trace-1", Name: "user_feedback", Label: ptr("thumbs_up"), Score: ptr(1.0), Identifier: "v2"}),
		human(store.Annotation{Kind: store.SessionAnnotation, SessionID: "sess-1", Name: "resolution", Label: ptr("resolved"), Score: ptr(1.0)}),
	}
}

// attributesJSON reads attributes from a JSON object, in its order: strings,
// numbers (integers without a fraction), booleans, null and lists of them.
func attributesJSON(text string) (span.Attributes, error) {
	dec := json.NewDecoder(strings.NewReader(text))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("attributes %s: not a JSON object", text)
	}
	var out span.Attributes
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		val, err := jsonValue(v)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		out = append(out, span.Attr{Key: key.(string), Value: val})
	}
	return out, nil
}

func jsonValue(v any) (span.Value, error) {
	switch v := v.(type) {
	case nil:
		return span.Value{}, nil
	case string:
		return span.StringValue(v), nil
	case bool:
		return span.BoolValue(v), nil
	case json.Number:
		if n, err := v.Int64(); err == nil {
			return span.IntValue(n), nil
		}
		f, err := v.Float64()
		return span.DoubleValue(f), err
	case []any:
		list := span.Value{Type: span.TypeSlice}
		for _, e := range v {
			ev, err := jsonValue(e)
			if err != nil {
				return span.Value{}, err
			}
			list.Slice = append(list.Slice, ev)
		}
		return list, nil
	}
	return span.Value{}, fmt.Errorf("unsupported JSON value %v", v)
}

// injection is a filter whose value or key is written to break out of an
// SQL string.
type injection struct{ filter, payload string }

func injections() []injection {
	payloads := []string{
		`' OR 1=1 --`,
		`" OR 1=1 --`,
		`') OR ('1'='1`,
		`'; DROP TABLE spans; --`,
		`$."x" OR 1=1`,
		`\' OR 1=1 --`,
		"x'\x00 OR 1=1",
		`%' OR '%'='`,
	}
	templates := []string{
		`name == %s`,
		`name != %s and span_id == 's01'`,
		`%s in name`,
		`name in [%s, 'nope']`,
		`attributes[%s] is not None`,
		`attributes[%s] == 1`,
		`metadata[%s] == 'x'`,
		`metadata['a'][%s] == 'x'`,
		`annotations[%s].label == 'x'`,
		`annotations[%s]`,
		`trace_annotations[%s].score > 0`,
		`span_kind == %s`,
	}
	var out []injection
	for _, p := range payloads {
		for _, tmpl := range templates {
			out = append(out, injection{strings.Replace(tmpl, "%s", (&query.StringLit{Value: p}).String(), 1), p})
		}
	}
	return out
}

// testFilterInjection runs the injections: they must match nothing they
// should not, and leave the spans as they were.
func testFilterInjection(t *testing.T, s store.Store) {
	ctx := context.Background()
	pid := filterFixture(t, s)
	for _, inj := range injections() {
		e, err := query.Parse(inj.filter)
		if err != nil {
			t.Fatalf("Parse(%q): %v", inj.filter, err)
		}
		got, err := listSpans(ctx, s, pid, e)
		if err != nil {
			t.Fatalf("%q: %v", inj.filter, err)
		}
		want := []string{}
		if strings.HasPrefix(inj.filter, "name != ") {
			want = []string{"s01"}
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%q returned extra rows (-want +got):\n%s", inj.filter, d)
		}
	}
	all, err := listSpans(ctx, s, pid, nil)
	if err != nil || len(all) != len(filterSpans) {
		t.Errorf("%d spans (%v) after the payloads, want %d", len(all), err, len(filterSpans))
	}
}

// testLongFilters runs long chains of conditions and deeply nested
// arithmetic, which a backend must run like any other filter.
func testLongFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	pid := filterFixture(t, s)
	ors := make([]string, 150)
	for i := range ors {
		ors[i] = "span_id == 's05'"
	}
	for _, tc := range []struct{ filter, want string }{
		{strings.Join(ors, " or "), "s05"},
		{"calc.neg" + strings.Repeat(" % 5", 60) + " == -2", "s11"},
		{strings.Repeat("float(str(", 40) + "calc.neg" + strings.Repeat("))", 40) + " == -7", "s11"},
	} {
		e, err := query.Parse(tc.filter)
		if err != nil {
			t.Fatal(err)
		}
		got, err := listSpans(ctx, s, pid, e)
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("%.40s…: %v, %v; want [%s]", tc.filter, got, err, tc.want)
		}
	}
}
