package store

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/loupe-dev/loupe/internal/span"
)

// MetricsReader answers the Metrics tab and the prompt version report: a
// project's traces, annotations and prompt versions over a time range, each
// read with queries bounded by that range (end 0 leaves it open).
type MetricsReader interface {
	// TraceSeries buckets the traces that started in [start, end) by start
	// time. Counts, tokens and cost are exact; latency percentiles come
	// from at most SeriesLatencySample traces, the newest in range. Tokens
	// and cost are the traces' own roll-ups, so a bucket may be a minute,
	// where the hourly usage roll-ups could not go below an hour.
	TraceSeries(ctx context.Context, projectID, start, end, bucket int64) (TraceSeries, error)
	// AnnotationScoreSeries is the mean score of each span annotation name
	// per bucket of span start time, over spans that started in [start, end).
	AnnotationScoreSeries(ctx context.Context, projectID, start, end, bucket int64) ([]ScorePoint, error)
	// PromptVersionReport compares the prompt template versions
	// (llm.prompt_template.version) of a project's LLM spans that started
	// in [start, end). Usage comes from the hourly roll-ups, exact; latency
	// and annotations from at most PromptVersionSample LLM spans, the newest
	// in range.
	PromptVersionReport(ctx context.Context, projectID, start, end int64) (PromptVersionReport, error)
	// DocumentScores reads the document evaluations a project's retrieval
	// metrics come from, as Phoenix counts them: document annotations with
	// a score, by annotator LLM, on spans that started in [start, end),
	// with the number of documents each span returned. At most
	// DocumentScoreSample annotations are read, those of the newest spans.
	DocumentScores(ctx context.Context, projectID, start, end int64) (DocumentScores, error)
}

// DocumentScoreSample bounds the annotations DocumentScores reads.
const DocumentScoreSample = 20_000

// DocumentScores are the document evaluations of retriever (and reranker)
// spans, grouped by span and annotation name, newest span first.
type DocumentScores struct {
	Retrievals []RetrievalScores
	// Sampled says annotations of older spans in range were left out.
	Sampled bool
}

// RetrievalScores are one annotation name's scores of one span's documents.
type RetrievalScores struct {
	SpanID    string
	Start     int64 // the span's start, unix ns
	Name      string
	Documents int // documents the span returned (retrieval.documents, or reranker.output_documents)
	// Scores by document position; positions past Documents are left out.
	Scores map[int]float64
}

// DocumentScore is one document annotation as a backend reads it.
type DocumentScore struct {
	SpanRowID int64
	SpanID    string
	Start     int64
	Name      string
	Position  int
	Score     float64
}

// GroupDocumentScores puts a backend's rows (newest span first) together
// with each span's document count, by span row id.
func GroupDocumentScores(rows []DocumentScore, documents map[int64]int, limit int) DocumentScores {
	out := DocumentScores{Sampled: len(rows) >= limit}
	type key struct {
		row  int64
		name string
	}
	at := map[key]int{}
	for _, r := range rows {
		n := documents[r.SpanRowID]
		if r.Position < 0 || r.Position >= n {
			continue
		}
		k := key{r.SpanRowID, r.Name}
		i, ok := at[k]
		if !ok {
			i = len(out.Retrievals)
			at[k] = i
			out.Retrievals = append(out.Retrievals, RetrievalScores{SpanID: r.SpanID, Start: r.Start, Name: r.Name,
				Documents: n, Scores: map[int]float64{}})
		}
		out.Retrievals[i].Scores[r.Position] = r.Score
	}
	// Rows come newest span first, in any order within a span (the stores
	// walk their indexes backwards); a span's names read in order.
	for i := 0; i < len(out.Retrievals); {
		j := i + 1
		for j < len(out.Retrievals) && out.Retrievals[j].SpanID == out.Retrievals[i].SpanID {
			j++
		}
		slices.SortFunc(out.Retrievals[i:j], func(a, b RetrievalScores) int { return cmp.Compare(a.Name, b.Name) })
		i = j
	}
	return out
}

// DocumentListPrefix is the attribute prefix of the documents a span of
// this kind returned, which document annotations number.
func DocumentListPrefix(kind string) string {
	if kind == "RERANKER" {
		return "reranker.output_documents."
	}
	return "retrieval.documents."
}

// SeriesLatencySample bounds the traces TraceSeries reads for percentiles:
// enough for a month of a busy project at a few traces a minute, and a
// read that costs the same however much more there is.
const SeriesLatencySample = 50_000

// PromptVersionSample bounds the LLM spans PromptVersionReport reads. Their
// version is in the attributes, so each costs more than a trace row.
const PromptVersionSample = 20_000

// Bucket is the start of the bucket holding t: buckets are aligned to
// multiples of their width since the epoch (UTC), so a day bucket starts at
// midnight UTC whatever the range.
func Bucket(t, width int64) int64 {
	if t < 0 {
		return t - (width+t%width)%width
	}
	return t - t%width
}

// CheckBucket rejects a bucket width a series cannot use.
func CheckBucket(width int64) error {
	if width <= 0 {
		return fmt.Errorf("%w: bucket width must be positive, got %d", ErrInvalidArgument, width)
	}
	return nil
}

// TraceSeries is a project's traces per time bucket.
type TraceSeries struct {
	Buckets []TraceBucket // buckets with traces, oldest first
	Traces  int64         // traces in range
	// LatencySample is how many traces the percentiles read: all of them,
	// unless there are more than SeriesLatencySample.
	LatencySample int64
}

// Sampled reports whether the percentiles left traces out (the oldest).
func (s TraceSeries) Sampled() bool { return s.LatencySample < s.Traces }

// TraceBucket sums the traces that started in one bucket. A trace is an
// error when any of its spans is, else it has its root span's status;
// a trace whose root has not arrived counts as unset.
type TraceBucket struct {
	Start                     int64 // unix ns
	Traces, OK, Errors, Unset int64
	// Tokens are the sums over counted model calls of Prompt, Completion, Total,
	// CacheRead and Reasoning; the other counts are not kept per trace.
	Tokens   span.TokenCounts
	Cost     float64 // USD over priced counted model calls
	Unpriced int64   // counted model calls whose model has no price
	Latency  SeriesLatency
}

// SeriesLatency holds latency percentiles in nanoseconds over Sample
// traces of a bucket; Sample 0 means the bucket's traces were not read.
type SeriesLatency struct {
	P50, P90, P99 int64
	Sample        int64
}

// LatencyAt is the latency of a trace that started at Start.
type LatencyAt struct {
	Start, Latency int64
}

// BucketLatencies computes the percentiles of each bucket from a sample of
// trace latencies, and sets them on the series' buckets. Backends read the
// sample; the arithmetic is the same for all of them.
func BucketLatencies(series *TraceSeries, sample []LatencyAt, width int64) {
	by := map[int64][]int64{}
	for _, l := range sample {
		b := Bucket(l.Start, width)
		by[b] = append(by[b], l.Latency)
	}
	for i := range series.Buckets {
		lat := by[series.Buckets[i].Start]
		if len(lat) == 0 {
			continue
		}
		slices.Sort(lat)
		series.Buckets[i].Latency = SeriesLatency{
			P50:    percentile(lat, 0.5),
			P90:    percentile(lat, 0.9),
			P99:    percentile(lat, 0.99),
			Sample: int64(len(lat)),
		}
	}
	series.LatencySample = int64(len(sample))
}

// ScorePoint is the mean score of one annotation name in one bucket. Each
// span counts once: its own scores (several annotators) are averaged first.
type ScorePoint struct {
	Start int64 // unix ns
	Name  string
	Mean  float64
	Spans int64 // spans with a score of this name
}

// PromptVersionReport compares the prompt template versions of a project.
type PromptVersionReport struct {
	Versions []PromptVersion // by version, highest first ("v10" after "v9")
	// Sample is how many LLM spans in range were read for latency and
	// annotations; Sampled says there were more (the older ones were left out).
	Sample  int64
	Sampled bool
	// Unversioned counts the sampled LLM spans without a template version.
	Unversioned int64
}

// PromptVersion is one template version's usage, speed and judgements.
type PromptVersion struct {
	Version string
	// Template is the template text of the version's newest sampled span
	// (llm.prompt_template.template), "" when it has none.
	Template string
	// Usage is exact: model calls, tokens and cost from the hourly roll-ups,
	// so the range is rounded to whole hours.
	Usage Usage
	// Spans and Traces count the sampled LLM spans of this version and the
	// traces they belong to; Errors, those spans whose status is ERROR.
	Spans, Traces, Errors int64
	Latency               SeriesLatency // over the sampled LLM spans
	// Annotations summarise the span annotations on the sampled LLM spans
	// and the trace annotations on their traces, by name.
	Annotations []PromptAnnotation
}

// Annotation finds the summary of one annotation name.
func (v PromptVersion) Annotation(name string) (PromptAnnotation, bool) {
	for _, a := range v.Annotations {
		if a.Name == name {
			return a, true
		}
	}
	return PromptAnnotation{}, false
}

// PromptAnnotation summarises one annotation name over the spans and
// traces of a prompt version. Each annotated span or trace counts once:
// several annotators' scores and labels are averaged within it first.
type PromptAnnotation struct {
	Name       string
	Count      int64 // annotated spans and traces
	ScoreCount int64 // those with a score
	MeanScore  float64
	// ScoreSD is the sample standard deviation of the per-span (or trace)
	// mean scores, 0 below two: with ScoreCount, what an interval of the
	// mean and a test between versions need.
	ScoreSD float64
	Labels  []LabelShare // most common first
}

// NewestOfVersions is, for each version of a sample (newest first), the row
// id of its newest span: the span whose template the report shows.
func NewestOfVersions(sample []VersionedSpan) map[int64]string {
	out := map[int64]string{}
	seen := map[string]bool{}
	for _, s := range sample {
		if s.Version != "" && !seen[s.Version] {
			seen[s.Version] = true
			out[s.RowID] = s.Version
		}
	}
	return out
}

// SetTemplates gives each version the template text read for its newest
// span: templates by span row id, newest as NewestOfVersions returned.
func (r *PromptVersionReport) SetTemplates(newest map[int64]string, templates map[int64]string) {
	byVersion := map[string]string{}
	for id, v := range newest {
		byVersion[v] = templates[id]
	}
	for i := range r.Versions {
		r.Versions[i].Template = byVersion[r.Versions[i].Version]
	}
}

// LabelShare is the share of the labelled spans and traces that carry a label.
type LabelShare struct {
	Label    string
	Fraction float64
}

// VersionedSpan is an LLM span of a prompt version report's sample.
type VersionedSpan struct {
	RowID, TraceRowID int64
	Latency           int64
	Version           string // empty when the span has none
	Error             bool   // its status is ERROR
}

// EntityAnnotation is one annotation of a span or trace (by row id), as a
// prompt version report reads it.
type EntityAnnotation struct {
	Trace bool  // a trace annotation; else a span annotation
	RowID int64 // the span's or trace's row id
	Name  string
	Score *float64
	Label *string
}

// BuildPromptVersionReport puts together what a backend read: the sample
// of LLM spans (newest first, limit asked for), the annotations of its
// spans and traces, and the usage by prompt version.
func BuildPromptVersionReport(sample []VersionedSpan, limit int, anns []EntityAnnotation, usage []Usage) PromptVersionReport {
	rep := PromptVersionReport{Sample: int64(len(sample)), Sampled: len(sample) >= limit}
	type acc struct {
		v       PromptVersion
		lat     []int64
		traces  map[int64]bool
		entity  map[entityKey]*entityScores
		ordered []entityKey
	}
	byVersion := map[string]*acc{}
	get := func(version string) *acc {
		a := byVersion[version]
		if a == nil {
			a = &acc{v: PromptVersion{Version: version}, traces: map[int64]bool{}, entity: map[entityKey]*entityScores{}}
			byVersion[version] = a
		}
		return a
	}
	spanVersion := map[int64]string{}
	traceVersions := map[int64][]string{}
	for _, s := range sample {
		if s.Version == "" {
			rep.Unversioned++
			continue
		}
		a := get(s.Version)
		a.v.Spans++
		if s.Error {
			a.v.Errors++
		}
		a.lat = append(a.lat, s.Latency)
		spanVersion[s.RowID] = s.Version
		if !a.traces[s.TraceRowID] {
			a.traces[s.TraceRowID] = true
			traceVersions[s.TraceRowID] = append(traceVersions[s.TraceRowID], s.Version)
		}
	}
	add := func(version string, an EntityAnnotation) {
		a := get(version)
		k := entityKey{an.Trace, an.RowID, an.Name}
		e := a.entity[k]
		if e == nil {
			e = &entityScores{labels: map[string]int{}}
			a.entity[k] = e
			a.ordered = append(a.ordered, k)
		}
		if an.Score != nil {
			e.sum += *an.Score
			e.scores++
		}
		if an.Label != nil && *an.Label != "" {
			e.labels[*an.Label]++
			e.labelled++
		}
	}
	for _, an := range anns {
		if an.Trace {
			for _, v := range traceVersions[an.RowID] {
				add(v, an)
			}
		} else if v, ok := spanVersion[an.RowID]; ok {
			add(v, an)
		}
	}
	for _, u := range usage {
		get(u.Key).v.Usage = u
	}
	for _, a := range byVersion {
		a.v.Traces = int64(len(a.traces))
		if len(a.lat) > 0 {
			slices.Sort(a.lat)
			a.v.Latency = SeriesLatency{P50: percentile(a.lat, 0.5), P90: percentile(a.lat, 0.9),
				P99: percentile(a.lat, 0.99), Sample: int64(len(a.lat))}
		}
		a.v.Annotations = summarizeEntities(a.entity, a.ordered)
		rep.Versions = append(rep.Versions, a.v)
	}
	slices.SortFunc(rep.Versions, func(x, y PromptVersion) int { return CompareVersions(y.Version, x.Version) })
	return rep
}

type entityKey struct {
	trace bool
	rowID int64
	name  string
}

type entityScores struct {
	sum      float64
	scores   int
	labels   map[string]int
	labelled int
}

// summarizeEntities averages within each span or trace, then across them.
func summarizeEntities(entities map[entityKey]*entityScores, order []entityKey) []PromptAnnotation {
	type acc struct {
		PromptAnnotation
		scoreSum float64
		scoreSq  float64
		labelSum map[string]float64
		labelled int
	}
	byName := map[string]*acc{}
	for _, k := range order {
		e := entities[k]
		a := byName[k.name]
		if a == nil {
			a = &acc{PromptAnnotation: PromptAnnotation{Name: k.name}, labelSum: map[string]float64{}}
			byName[k.name] = a
		}
		a.Count++
		if e.scores > 0 {
			a.ScoreCount++
			m := e.sum / float64(e.scores)
			a.scoreSum += m
			a.scoreSq += m * m
		}
		if e.labelled > 0 {
			a.labelled++
			for l, n := range e.labels {
				a.labelSum[l] += float64(n) / float64(e.labelled)
			}
		}
	}
	out := make([]PromptAnnotation, 0, len(byName))
	for _, a := range byName {
		if a.ScoreCount > 0 {
			a.MeanScore = a.scoreSum / float64(a.ScoreCount)
		}
		if n := float64(a.ScoreCount); n > 1 {
			// Σ(x-m)² = Σx² - n·m², clamped against rounding below 0.
			a.ScoreSD = math.Sqrt(max(0, (a.scoreSq-n*a.MeanScore*a.MeanScore)/(n-1)))
		}
		for l, sum := range a.labelSum {
			a.Labels = append(a.Labels, LabelShare{Label: l, Fraction: sum / float64(a.labelled)})
		}
		slices.SortFunc(a.Labels, func(x, y LabelShare) int {
			return cmp.Or(cmp.Compare(y.Fraction, x.Fraction), cmp.Compare(x.Label, y.Label))
		})
		out = append(out, a.PromptAnnotation)
	}
	slices.SortFunc(out, func(x, y PromptAnnotation) int { return cmp.Compare(x.Name, y.Name) })
	return out
}

// CompareVersions orders version strings as people number them: runs of
// digits compare as numbers, so "v9" < "v10" and "1.2" < "1.10".
func CompareVersions(a, b string) int {
	for a != "" && b != "" {
		da, db := isDigit(a[0]), isDigit(b[0])
		if da && db {
			na, ra := digitRun(a)
			nb, rb := digitRun(b)
			if c := cmp.Or(cmp.Compare(len(na), len(nb)), cmp.Compare(na, nb)); c != 0 {
				return c
			}
			a, b = ra, rb
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// digitRun splits off the leading digits, without leading zeros.
func digitRun(s string) (run, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	run = s[:i]
	for len(run) > 1 && run[0] == '0' {
		run = run[1:]
	}
	return run, s[i:]
}
