// Package metrics exposes Loupe's own health and the LLM usage it sees in
// Prometheus format at /metrics, so existing dashboards and alerts can watch
// ingest, cost and errors.
package metrics

import (
	"net/http"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// Metrics holds Loupe's collectors in their own registry.
type Metrics struct {
	reg *prometheus.Registry

	commit     prometheus.Histogram
	spans      *prometheus.CounterVec
	tokens     *prometheus.CounterVec
	cost       *prometheus.CounterVec
	unpriced   *prometheus.CounterVec
	llmLatency *prometheus.HistogramVec
}

// New registers the collectors. stats and queue come from the ingest
// pipeline; dbFiles are the database files whose sizes are reported (none
// for a database on another machine).
func New(stats *ingest.Stats, queueDepth func() int, dbFiles func() []string) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	counter := func(name, help string, f func() int64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return float64(f()) }))
	}
	counter("loupe_spans_received_total", "Spans in requests accepted into the ingest queue.", stats.SpansReceived.Load)
	counter("loupe_spans_stored_total", "Spans stored (new to the database).", stats.SpansStored.Load)
	counter("loupe_spans_duplicate_total", "Spans received again and not stored twice.", stats.SpansDuplicate.Load)
	counter("loupe_spans_failed_total", "Spans whose write failed; their requests were answered with an error.", stats.SpansFailed.Load)
	counter("loupe_requests_waited_total", "Export requests that waited for room in the ingest queue before they were decoded.", stats.RequestsWaited.Load)
	counter("loupe_requests_refused_total", "Export requests refused because the ingest queue stayed full as long as they could wait (HTTP 503, gRPC RESOURCE_EXHAUSTED).", stats.RequestsRefused.Load)
	counter("loupe_batches_total", "Write transactions committed or attempted.", stats.Batches.Load)
	reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "loupe_write_seconds_total",
		Help: "Time the single writer spent writing batches, not counting the wait for the disk; a rate near 1 means ingest is held by the writer."},
		func() float64 { return time.Duration(stats.CommitNanos.Load()).Seconds() }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "loupe_ingest_queue_spans",
		Help: "Spans accepted and not yet stored."}, func() float64 { return float64(queueDepth()) }))
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "loupe_database_size_bytes",
		Help: "Size of the database files on this machine."}, func() float64 {
		var n int64
		for _, f := range dbFiles() {
			if fi, err := os.Stat(f); err == nil {
				n += fi.Size()
			}
		}
		return float64(n)
	}))
	m := &Metrics{reg: reg,
		commit: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "loupe_batch_commit_seconds",
			Help:    "Time to write and commit one batch of spans.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5}}),
		spans: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loupe_project_spans_total",
			Help: "Spans stored, by project, OpenInference kind and status."}, []string{"project", "kind", "status"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loupe_llm_tokens_total",
			Help: "Tokens of model calls (LLM and embedding spans, each call once), by project, model and type (prompt, completion, cache_read, cache_write, reasoning)."},
			[]string{"project", "model", "type"}),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loupe_llm_cost_usd_total",
			Help: "Cost of model calls (each once) in USD at the prices in force when they arrived, by project and model."}, []string{"project", "model"}),
		unpriced: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "loupe_llm_unpriced_spans_total",
			Help: "Model calls with tokens whose model has no price, by project and model."}, []string{"project", "model"}),
		llmLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "loupe_llm_span_duration_seconds",
			Help:    "Duration of LLM calls (each once), by project and model.",
			Buckets: []float64{.1, .25, .5, 1, 2, 4, 8, 16, 32, 64}}, []string{"project", "model"}),
	}
	reg.MustRegister(m.commit, m.spans, m.tokens, m.cost, m.unpriced, m.llmLatency)
	return m
}

// WatchBodies reports the memory held by export request bodies not yet
// decoded, and the requests refused for want of it.
func (m *Metrics) WatchBodies(held, refused func() int64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "loupe_request_bodies_bytes",
		Help: "Memory held by export request bodies being received or waiting to be decoded."},
		func() float64 { return float64(held()) }))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "loupe_requests_refused_bodies_total",
		Help: "Export requests refused because the bodies held at once were at --inflight-size (HTTP 503, gRPC RESOURCE_EXHAUSTED)."},
		func() float64 { return float64(refused()) }))
}

// Handler serves the metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// ObserveCommit records one batch write. Tokens, cost and latency count
// each model call once, as the roll-ups do (package rollup): a wrapper is
// left out. Counters cannot go down, so a wrapper that arrives before the
// call inside it is counted, and the call, when it comes, is not.
func (m *Metrics) ObserveCommit(took time.Duration, res *store.WriteResult) {
	m.commit.Observe(took.Seconds())
	for _, sp := range res.New {
		v := &sp.View
		m.spans.WithLabelValues(sp.Project, string(v.Kind), string(sp.StatusCode)).Inc()
		if (v.Kind != span.KindLLM && v.Kind != span.KindEmbedding) || res.Uncounted[sp] {
			continue
		}
		model := v.ModelName
		for _, t := range []struct {
			name string
			n    int64
		}{{"prompt", v.Tokens.Prompt}, {"completion", v.Tokens.Completion}, {"cache_read", v.Tokens.CacheRead},
			{"cache_write", v.Tokens.CacheWrite}, {"reasoning", v.Tokens.Reasoning}} {
			if t.n > 0 {
				m.tokens.WithLabelValues(sp.Project, model, t.name).Add(float64(t.n))
			}
		}
		switch v.Cost.Status {
		case span.CostPriced:
			m.cost.WithLabelValues(sp.Project, model).Add(v.Cost.Total)
		case span.CostNoPrice:
			m.unpriced.WithLabelValues(sp.Project, model).Inc()
		}
		if v.Kind == span.KindLLM {
			m.llmLatency.WithLabelValues(sp.Project, model).Observe(sp.Latency().Seconds())
		}
	}
}
