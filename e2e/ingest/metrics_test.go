package ingest_test

import (
	"context"
	"math"
	"net/http"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /metrics = %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics is not valid Prometheus text: %v", err)
	}
	return fams
}

// value sums the samples of a family whose labels include want.
func value(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f, ok := fams[name]
	if !ok {
		return math.NaN()
	}
	var sum float64
	for _, m := range f.Metric {
		match := true
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				match = false
			}
		}
		if !match {
			continue
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

func TestMetricsEndpoint(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	ctx := context.Background()
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(strings.TrimPrefix(srv.HTTPURL, "http://")), otlptracehttp.WithInsecure(),
		otlptracehttp.WithHeaders(map[string]string{"x-project-name": "metered"}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exp))
	const runs = 3
	for i := 0; i < runs; i++ {
		emitAgentRun(ctx, tp, "s")
	}
	tp.Shutdown(ctx)

	fams := scrape(t, srv.HTTPURL)
	checks := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"loupe_spans_stored_total", nil, 5 * runs},
		{"loupe_spans_received_total", nil, 5 * runs},
		{"loupe_project_spans_total", map[string]string{"project": "metered", "kind": "LLM"}, 2 * runs},
		{"loupe_project_spans_total", map[string]string{"project": "metered", "status": "ERROR"}, runs},
		{"loupe_llm_tokens_total", map[string]string{"model": "gpt-4o-mini", "type": "prompt"}, 120 * runs},
		{"loupe_llm_tokens_total", map[string]string{"model": "gpt-4o-mini", "type": "cache_read"}, 64 * runs},
		// The failing call names no model, so it has no price.
		{"loupe_llm_unpriced_spans_total", map[string]string{"project": "metered", "model": ""}, runs},
		{"loupe_llm_span_duration_seconds", map[string]string{"model": "gpt-4o-mini"}, runs},
		{"loupe_requests_refused_total", nil, 0},
		{"loupe_ingest_queue_spans", nil, 0},
	}
	for _, c := range checks {
		if got := value(fams, c.name, c.labels); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// gpt-4o-mini at $0.15/M input, $0.075/M cached input, $0.60/M output:
	// (120-64)×0.15 + 64×0.075 + 30×0.60 = 8.4 + 4.8 + 18 = $31.2 per million calls.
	wantCost := runs * 31.2e-6
	if got := value(fams, "loupe_llm_cost_usd_total", map[string]string{"model": "gpt-4o-mini"}); math.Abs(got-wantCost) > 1e-12 {
		t.Errorf("cost = %g, want %g", got, wantCost)
	}
	if got := value(fams, "loupe_database_size_bytes", nil); got <= 0 {
		t.Errorf("database size = %v", got)
	}
	if got := value(fams, "loupe_batch_commit_seconds", nil); got < 1 {
		t.Errorf("no batch commit observed: %v", got)
	}
	if got := value(fams, "loupe_write_seconds_total", nil); !(got > 0) {
		t.Errorf("writer time = %v, want more than 0 after a write", got)
	}
	// The trace's cost in the REST API agrees.
	var traces struct {
		Data []struct {
			TotalCost     float64 `json:"total_cost"`
			UnpricedSpans int     `json:"unpriced_spans"`
		}
	}
	srv.GetJSON(t, "/v1/projects/metered/traces", &traces)
	for _, tr := range traces.Data {
		if math.Abs(tr.TotalCost-31.2e-6) > 1e-12 || tr.UnpricedSpans != 1 {
			t.Errorf("trace cost %g with %d unpriced spans, want 31.2e-6 and 1", tr.TotalCost, tr.UnpricedSpans)
		}
	}
	srv.Stop(t)
}
