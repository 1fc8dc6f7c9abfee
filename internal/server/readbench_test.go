package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// BenchmarkReads times every page and endpoint of the read path as the
// server serves it over HTTP (its whole handler: UI, REST API, middleware),
// over a corpus of agent-shaped spans from the load generator's
// generator. It runs only when LOUPE_BENCH_READS gives the corpus size in
// spans:
//
//	LOUPE_BENCH_READS=1000000 LOUPE_BENCH_READS_DIR=/tmp/reads-1m \
//	    go test ./internal/server -run '^$' -bench BenchmarkReads -benchtime 10x -timeout 2h
//
// LOUPE_BENCH_READS_DIR keeps the SQLite database between runs (loading
// 10M spans takes an hour or more); without it the corpus is built in a
// temporary directory. A load interrupted resumes where it stopped; with
// LOUPE_BENCH_READS_PARTIAL=1 the pages are timed over the part stored so
// far instead, search left out (its index catches up after the load), as
// is search on a whole corpus whose index is still behind.
// LOUPE_BENCH_READS_DATABASE=postgres://… runs it on PostgreSQL, and
// clickhouse://host:9000/db (an existing, empty database) on ClickHouse,
// whose database keeps the corpus likewise.
//
// Besides wall time it reports the CPU time of the whole process a
// request took (cpu-ms/op), which a loaded machine changes less; it
// counts the server's background work too, such as the search indexer.
// On a PostgreSQL database on the same machine it reports the CPU time of
// the server processes of the benchmark's connections as well
// (db-cpu-ms/op, in steps of 10 ms over all requests).
//
// The corpus: 100 projects. "loupe-bench" holds nearly all spans; 99 others
// hold 50 traces each, so the home page lists 100 projects. Traces start
// evenly over the 6 days before the corpus was built, so the pages' default
// range (7 days) covers all of them, the worst case for every summary. LLM
// spans name one of four prompt template versions; one root span in 20
// carries a span annotation and one trace in 50 a trace annotation.
func BenchmarkReads(b *testing.B) {
	n, _ := strconv.Atoi(os.Getenv("LOUPE_BENCH_READS"))
	if n <= 0 {
		b.Skip("set LOUPE_BENCH_READS to the corpus size in spans, e.g. 1000000")
	}
	cfg := DefaultConfig()
	cfg.HTTPAddr, cfg.GRPCAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.DataDir = os.Getenv("LOUPE_BENCH_READS_DIR")
	if cfg.DataDir == "" {
		cfg.DataDir = b.TempDir()
	} else if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		b.Fatal(err)
	}
	cfg.Database = withApplicationName(os.Getenv("LOUPE_BENCH_READS_DATABASE"))
	ctx := context.Background()
	db := newDBCPU(ctx, cfg.Database)
	if db != nil {
		b.Cleanup(db.close)
	}
	s, err := New(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		s.httpLn.Close()
		s.grpcLn.Close()
		s.store.Close()
	})
	c := loadReadCorpus(b, s, n)
	h := s.http.Handler

	proj := "/projects/" + readProject
	filter := func(path, expr string) string { return path + "?filter=" + url.QueryEscape(expr) }
	pages := []struct {
		name, path string
		live       bool
	}{
		{"home", "/", false},
		{"project", proj, false},
		{"project/live", proj, true},
		{"project/tool-costs", proj + "/tool-costs", false},
		{"project/spans", proj + "/spans", false},
		{"project/sessions", proj + "/sessions", false},
		{"project/errors", proj + "/errors", false},
		{"project/traces-by-cost", proj + "?sort=cost", false},
		{"project/traces-by-tokens", proj + "?sort=tokens", false},
		{"project/spans-by-cost", proj + "/spans?kind=LLM&sort=cost", false},
		{"project/spans-by-cost-1h", proj + "/spans?kind=LLM&sort=cost&range=1h", false},
		{"project/spans-by-tokens", proj + "/spans?sort=tokens", false},
		// Ranked and filtered: the ranking kept, the filter tested along it.
		{"project/spans-by-cost-filter", filter(proj+"/spans", "llm.model_name == 'gpt-4.1-2025-04-14'") + "&sort=cost", false},
		{"project/spans-by-cost-filter-none", filter(proj+"/spans", "latency_ms > 600000") + "&sort=cost", false},
		{"trace", proj + "/traces/" + c.traceID, false},
		{"trace/tree", proj + "/traces/" + c.traceID + "/tree?parent=" + c.rootSpanID, false},
		{"trace/span", proj + "/spans/" + c.llmSpanID, false},
		{"session", proj + "/sessions/" + url.PathEscape(c.sessionID), false},
		{"metrics/30d", proj + "/metrics?range=30d", false},
		{"prompts/30d", proj + "/prompts?range=30d", false},

		// The spans tab's filters: the conditions the indexes should bound,
		// each also as one that matches nothing.
		{"filter/latency-none", filter(proj+"/spans", "latency_ms > 600000"), false},
		{"filter/latency", filter(proj+"/spans", "latency_ms > 5000"), false},
		{"filter/error", filter(proj+"/spans", "status_code == 'ERROR'"), false},
		{"filter/kind-latency-none", filter(proj+"/spans", "span_kind == 'LLM' and latency_ms > 600000"), false},
		{"filter/model", filter(proj+"/spans", "llm.model_name == 'gpt-4.1-2025-04-14'"), false},
		{"filter/model-none", filter(proj+"/spans", "llm.model_name == 'no-such-model'"), false},
		{"filter/tokens", filter(proj+"/spans", "llm.token_count.total > 1000"), false},
		{"filter/tokens-none", filter(proj+"/spans", "llm.token_count.total > 100000000"), false},
		{"filter/cost-none", filter(proj+"/spans", "total_cost > 1000"), false},
		{"filter/error-group-none", filter(proj+"/spans", "error_group == 'ffffffffffffffff'"), false},
		{"filter/attribute", filter(proj+"/spans", "tool.name == 'fetch_chunk'"), false},
		{"search", proj + "/spans?q=" + url.QueryEscape("password"), false},
		{"search-none", proj + "/spans?q=" + url.QueryEscape("zzyzxnotaword"), false},
		// The traces tab filters root spans.
		{"traces/filter-latency-none", filter(proj, "latency_ms > 600000"), false},

		// REST.
		{"rest/spans", "/v1/projects/" + readProject + "/spans?limit=100", false},
		{"rest/spans/filter-none", "/v1/projects/" + readProject + "/spans?limit=100&span_kind=LLM&attribute=" +
			url.QueryEscape("llm.model_name:no-such-model"), false},
		{"rest/traces", "/v1/projects/" + readProject + "/traces?limit=100", false},
		{"rest/traces/filter-none", filter("/v1/projects/"+readProject+"/traces", "latency_ms > 600000") + "&limit=100", false},
		{"rest/trace", "/v1/projects/" + readProject + "/traces?include_spans=true&limit=1&order=asc&start_time=" +
			url.QueryEscape(time.Unix(0, c.traceStart).UTC().Format(time.RFC3339Nano)), false},
		{"rest/sessions", "/v1/projects/" + readProject + "/sessions?limit=100", false},
		{"rest/sessions/filter-none", filter("/v1/projects/"+readProject+"/sessions", "num_traces > 100000") + "&limit=100", false},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			if c.partial && strings.HasPrefix(p.name, "search") {
				b.Skip("the search index waits for the whole corpus")
			}
			get := func() {
				req := httptest.NewRequest(http.MethodGet, p.path, nil)
				if p.live {
					req.Header.Set(liveHeaderName, "1")
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s = %d: %.300s", p.path, rec.Code, rec.Body.String())
				}
			}
			get() // warm: the first request reads pages from disk
			b.ResetTimer()
			var db0 time.Duration
			if db != nil {
				db0 = db.used(ctx)
			}
			cpu0, n := processCPU(), 0
			for b.Loop() {
				get()
				n++
			}
			// On a machine shared with other work, the CPU a request
			// takes varies less than its wall time.
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(cpu.Microseconds())/1e3/float64(n), "cpu-ms/op")
			}
			if db != nil {
				b.ReportMetric(float64((db.used(ctx)-db0).Microseconds())/1e3/float64(n), "db-cpu-ms/op")
			}
		})
	}
}

// liveHeaderName is the header live.js's refreshes carry (web.liveHeader).
const liveHeaderName = "X-Loupe-Live"

// readProject is the corpus's main project.
const readProject = "loupe-bench"

// readCorpus names what the pages open: a trace from the middle of the
// corpus, its root and an LLM span of it, and its session.
type readCorpus struct {
	traceID, rootSpanID, llmSpanID, sessionID string
	traceStart                                int64
	partial                                   bool // part of the corpus, not yet searchable
}

// readCorpusKey is the setting that records a corpus as complete;
// readProgressKey records how far the loading of one has gone, as
// "size:spans", so that an interrupted load resumes where it stopped.
const (
	readCorpusKey   = "bench.read_corpus"
	readProgressKey = "bench.read_corpus_progress"
)

// corpusProgress returns how many spans of a corpus of n spans an earlier,
// interrupted load stored.
func corpusProgress(ctx context.Context, st store.Store, n int) (int, error) {
	v, ok, err := st.Setting(ctx, readProgressKey)
	if err != nil || !ok {
		return 0, err
	}
	size, done, found := strings.Cut(v, ":")
	if !found || size != strconv.Itoa(n) {
		return 0, fmt.Errorf("the database holds part of another corpus (%s): use another LOUPE_BENCH_READS_DIR or database", v)
	}
	return strconv.Atoi(done)
}

func loadReadCorpus(b *testing.B, s *Server, n int) readCorpus {
	b.Helper()
	ctx := context.Background()
	st := s.store
	want := strconv.Itoa(n)
	got, ok, err := st.Setting(ctx, readCorpusKey)
	if err != nil {
		b.Fatal(err)
	}
	partial := false
	if !ok || got != strconv.Quote(want) {
		done, err := corpusProgress(ctx, st, n)
		if err != nil {
			b.Fatal(err)
		}
		if ok || (done == 0 && hasSpans(ctx, b, st)) {
			b.Fatalf("the database holds another corpus (%s) or other spans: use another LOUPE_BENCH_READS_DIR or database", got)
		}
		if partial = done > 0 && os.Getenv("LOUPE_BENCH_READS_PARTIAL") != ""; partial {
			b.Logf("timing the pages over the %d spans of %d stored so far, without searching", done, n)
		} else {
			writeReadCorpus(b, s, n, done)
			if err := st.PutSetting(ctx, readCorpusKey, strconv.Quote(want)); err != nil {
				b.Fatal(err)
			}
		}
	}
	// A corpus whose search index lags (a large one just loaded takes tens
	// of minutes to index) is timed without searching when asked.
	if !partial && os.Getenv("LOUPE_BENCH_READS_PARTIAL") != "" && searchLag(ctx, b, st) > 0 {
		partial = true
		b.Logf("timing the pages without searching: the search index is behind")
	}
	if w, ok := st.(interface{ WaitIndexed(context.Context) error }); ok && !partial {
		t0 := time.Now()
		if err := w.WaitIndexed(ctx); err != nil {
			b.Fatal(err)
		}
		b.Logf("search index caught up in %v", time.Since(t0).Round(time.Millisecond))
	}
	p, err := st.ProjectByName(ctx, readProject)
	if err != nil {
		b.Fatal(err)
	}
	// The trace in the middle of the corpus's time span.
	var first, last []store.Trace
	if first, err = st.Traces(ctx, store.TraceQuery{ProjectID: p.ID, Ascending: true, Limit: 1}); err == nil {
		last, err = st.Traces(ctx, store.TraceQuery{ProjectID: p.ID, Limit: 1})
	}
	if err != nil || len(first) == 0 || len(last) == 0 {
		b.Fatalf("no traces in %s: %v", readProject, err)
	}
	mid := first[0].StartTime + (last[0].StartTime-first[0].StartTime)/2
	ts, err := st.Traces(ctx, store.TraceQuery{ProjectID: p.ID, StartTime: mid, Ascending: true, Limit: 1})
	if err != nil || len(ts) == 0 {
		b.Fatalf("no trace after %d: %v", mid, err)
	}
	t := ts[0]
	c := readCorpus{traceID: t.TraceID, rootSpanID: t.RootSpanID, sessionID: t.SessionID, traceStart: t.StartTime, partial: partial}
	tree, err := st.TraceTree(ctx, t.RowID)
	if err != nil {
		b.Fatal(err)
	}
	for _, sp := range tree {
		if sp.Kind == string(span.KindLLM) {
			c.llmSpanID = sp.SpanID
			break
		}
	}
	if c.rootSpanID == "" || c.llmSpanID == "" || c.sessionID == "" {
		b.Fatalf("trace %s lacks a root, an LLM span or a session: %+v", t.TraceID, c)
	}
	return c
}

func hasSpans(ctx context.Context, b *testing.B, st store.Store) bool {
	ps, err := st.Projects(ctx, store.ProjectQuery{Limit: 1000})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range ps {
		if p.LastSpanTime != 0 {
			return true
		}
	}
	return false
}

// Of the corpus's 100 projects, the 99 small ones hold otherTraces traces
// each.
const (
	otherProjects = 99
	otherTraces   = 50
	corpusSpan    = 6 * 24 * time.Hour
)

// writeReadCorpus writes about n spans as the server's ingest would store
// them (decoded from OTLP, priced, written a batch at a time), generating
// and decoding on one goroutine while the store writes on another. The
// corpus is the same whatever the start time; when done spans of it are
// stored already, it generates the batches that hold them again without
// writing them, and writes the rest.
func writeReadCorpus(b *testing.B, s *Server, n, done int) {
	b.Helper()
	ctx := context.Background()
	t0 := time.Now()
	end := t0.Add(-time.Minute)
	begin := end.Add(-corpusSpan)
	if done > 0 {
		// The first trace starts where the corpus begins.
		p, err := s.store.ProjectByName(ctx, readProject)
		if err != nil {
			b.Fatal(err)
		}
		first, err := s.store.Traces(ctx, store.TraceQuery{ProjectID: p.ID, Ascending: true, Limit: 1})
		if err != nil || len(first) == 0 {
			b.Fatalf("resume a corpus of %d spans at %d: no first trace: %v", n, done, err)
		}
		begin = time.Unix(0, first[0].StartTime)
		b.Logf("resuming the corpus after %d spans", done)
	}
	// Agent traces hold 7 spans on average.
	traces := max(n/7, 1)
	step := corpusSpan / time.Duration(traces)
	main := agentgen.New(agentgen.Agent, 1, begin)
	others := make([]*agentgen.Generator, otherProjects)
	// A small corpus gives the other projects fewer traces.
	perOther := min(otherTraces, max(traces/(otherProjects*20), 1))
	left := make([]int, otherProjects)
	for i := range others {
		others[i] = agentgen.New(agentgen.Agent, uint64(i+2), begin)
		left[i] = perOther
	}
	every := max(traces/(otherProjects*perOther), 1)

	// A batch stored already comes with its root spans alone, for their
	// annotations.
	type batch struct {
		spans  []span.Span
		stored bool
	}
	batches := make(chan batch, 4)
	var genErr error
	go func() {
		defer close(batches)
		// One batch holds spans of several projects, a resource each, as
		// the ingest pipeline's batches do.
		pending := map[string][]agentgen.Span{}
		size, generated := 0, 0
		flush := func() {
			var out []span.Span
			stored := generated+size <= done
			for _, project := range slices.Sorted(maps.Keys(pending)) {
				spans := pending[project]
				if stored {
					for _, sp := range spans {
						if !sp.ParentID.IsValid() {
							out = append(out, span.Span{TraceID: sp.TraceID.String(), SpanID: sp.SpanID.String()})
						}
					}
					continue
				}
				d := otlp.Decode(agentgen.Traces(agentgen.Resource{ServiceName: "bench", Project: project}, spans), "")
				if d.Rejected > 0 {
					genErr = fmt.Errorf("%d spans rejected: %s", d.Rejected, d.Message)
				}
				out = append(out, d.Spans...)
			}
			if !stored {
				for i := range out {
					s.costs.PriceSpan(&out[i])
				}
			}
			if size > 0 {
				batches <- batch{out, stored}
			}
			clear(pending)
			generated += size
			size = 0
		}
		written := 0
		for k := 0; written < n; k++ {
			gen, name := main, readProject
			if o := (k / every) % otherProjects; k%every == every-1 && left[o] > 0 {
				gen, name = others[o], fmt.Sprintf("bench-%02d", o+1)
				left[o]--
			}
			t := gen.Trace()
			t = t.Shifted(begin.Add(time.Duration(k) * step).Sub(t.Spans[0].Start))
			version := fmt.Sprintf("v%d", 1+k%4)
			for i := range t.Spans {
				sp := &t.Spans[i]
				for _, a := range sp.Attrs {
					if a.Key == agentgen.KeySpanKind && a.Value.AsString() == "LLM" {
						sp.Attrs = append(sp.Attrs[:len(sp.Attrs):len(sp.Attrs)], attribute.String(span.AttrTemplateVersion, version))
						break
					}
				}
			}
			pending[name] = append(pending[name], t.Spans...)
			written += len(t.Spans)
			if size += len(t.Spans); size >= 5000 {
				flush()
			}
		}
		flush()
	}()
	stored := 0
	var anns []store.Annotation
	roots := 0
	for bt := range batches {
		if !bt.stored {
			if _, err := s.store.WriteSpans(ctx, bt.spans); err != nil {
				b.Fatal(err)
			}
		}
		for _, sp := range bt.spans {
			if sp.ParentID != "" {
				continue
			}
			roots++
			score := float64(roots % 3 / 2)
			label := []string{"incorrect", "correct"}[int(score)]
			switch {
			case roots%20 == 0:
				anns = append(anns, store.Annotation{Kind: store.SpanAnnotation, SpanID: sp.SpanID, Name: "correctness",
					Label: &label, Score: &score, AnnotatorKind: "LLM", Source: "API"})
			case roots%50 == 1:
				anns = append(anns, store.Annotation{Kind: store.TraceAnnotation, TraceID: sp.TraceID, Name: "helpful",
					Label: &label, Score: &score, AnnotatorKind: "HUMAN", Source: "APP"})
			}
		}
		if len(anns) >= 1000 {
			// Those of the batches stored already were stored with them.
			if !bt.stored {
				if _, err := s.store.UpsertAnnotations(ctx, anns); err != nil {
					b.Fatal(err)
				}
			}
			anns = anns[:0]
		}
		if bt.stored {
			continue
		}
		before := stored
		stored += len(bt.spans)
		// Recorded after the batch's annotations, so that a resumed load
		// writes again at most a batch it had written.
		if err := s.store.PutSetting(ctx, readProgressKey, fmt.Sprintf("%d:%d", n, done+stored)); err != nil {
			b.Fatal(err)
		}
		if stored/500_000 != before/500_000 {
			b.Logf("%d spans stored, %.0f spans/s", done+stored, float64(stored)/time.Since(t0).Seconds())
		}
	}
	if genErr != nil {
		b.Fatal(genErr)
	}
	if len(anns) > 0 {
		if _, err := s.store.UpsertAnnotations(ctx, anns); err != nil {
			b.Fatal(err)
		}
	}
	if o, ok := s.store.(interface{ Optimize(context.Context) error }); ok {
		if err := o.Optimize(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("corpus: %d spans stored in %v", stored, time.Since(t0).Round(time.Second))
}

// searchLag counts the stored spans not yet searchable, 0 where the store
// cannot say.
func searchLag(ctx context.Context, b *testing.B, st store.Store) int64 {
	l, ok := st.(interface {
		SearchLag(context.Context, int64) (int64, error)
	})
	if !ok {
		return 0
	}
	n, err := l.SearchLag(ctx, 0)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
