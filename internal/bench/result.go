package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Result is what a run measured.
type Result struct {
	Protocol string  `json:"protocol"`
	SpanSize string  `json:"span_size"`
	Apps     int     `json:"apps"`
	Batch    int     `json:"batch"`
	Rate     float64 `json:"target_rate_spans_per_s,omitempty"`
	Seconds  float64 `json:"seconds"` // generation plus the final flush

	Traces       int64   `json:"traces"`
	SpansSent    int64   `json:"spans_sent"`
	SpansAcked   int64   `json:"spans_acknowledged"`
	SpansRefused int64   `json:"spans_refused"` // per refusal; refused spans were resent
	SpansFailed  int64   `json:"spans_failed"`
	Requests     int64   `json:"requests"`
	ReqsRefused  int64   `json:"requests_refused"`
	ReqsFailed   int64   `json:"requests_failed"`
	BytesSent    int64   `json:"bytes_sent"`
	BytesAcked   int64   `json:"bytes_acknowledged"`
	SpansPerSec  float64 `json:"spans_per_s"` // acknowledged
	MBPerSec     float64 `json:"mb_per_s"`    // acknowledged request bodies, 10^6 bytes
	AvgSpanBytes float64 `json:"avg_span_bytes"`
	AckP50Ms     float64 `json:"ack_p50_ms"`
	AckP99Ms     float64 `json:"ack_p99_ms"`
	AckMaxMs     float64 `json:"ack_max_ms"`
	PeakRSSBytes int64   `json:"server_peak_rss_bytes,omitempty"`
	FirstError   string  `json:"first_error,omitempty"`
}

func newResult(cfg *Config, st *stats, elapsed time.Duration) Result {
	r := Result{
		Protocol: cfg.Protocol, SpanSize: cfg.Shape.String(), Apps: cfg.Apps, Batch: cfg.Batch, Rate: cfg.Rate,
		Seconds:      elapsed.Seconds(),
		Traces:       st.traces.Load(),
		SpansSent:    st.spansSent.Load(),
		SpansAcked:   st.spansAcked.Load(),
		SpansRefused: st.spansRefused.Load(),
		Requests:     st.calls.Load(),
		ReqsRefused:  st.callsRefused.Load(),
		ReqsFailed:   st.callsFailed.Load(),
		BytesSent:    st.bytesSent.Load(),
		BytesAcked:   st.bytesAcked.Load(),
	}
	// Every span recorded and not acknowledged by the end of the drain was
	// given up on: refused until the run ended, or failed outright.
	r.SpansFailed = r.SpansSent - r.SpansAcked
	if s := elapsed.Seconds(); s > 0 {
		r.SpansPerSec = float64(r.SpansAcked) / s
		r.MBPerSec = float64(r.BytesAcked) / 1e6 / s
	}
	if r.SpansAcked > 0 {
		r.AvgSpanBytes = float64(r.BytesAcked) / float64(r.SpansAcked)
	}
	p50, p99, mx := st.latencies()
	r.AckP50Ms, r.AckP99Ms, r.AckMaxMs = ms(p50), ms(p99), ms(mx)
	st.mu.Lock()
	r.FirstError = st.firstErr
	st.mu.Unlock()
	return r
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// WriteJSON writes r as one JSON object.
func (r Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable writes r for a person to read.
func (r Result) WriteTable(w io.Writer) error {
	rate := "as fast as acknowledged"
	if r.Rate > 0 {
		rate = fmt.Sprintf("paced at %s spans/s", count(int64(r.Rate)))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "loupe-bench ingest: %s, %s spans, %d apps, batch %d, %s, %.1f s\n\n",
		r.Protocol, r.SpanSize, r.Apps, r.Batch, rate, r.Seconds)
	row := func(name, spans, requests string) { fmt.Fprintf(&b, "%-18s %14s %10s\n", name, spans, requests) }
	row("", "spans", "requests")
	row("sent", count(r.SpansSent), count(r.Requests))
	row("acknowledged", count(r.SpansAcked), count(r.Requests-r.ReqsRefused-r.ReqsFailed))
	row("refused (resent)", count(r.SpansRefused), count(r.ReqsRefused))
	row("failed", count(r.SpansFailed), count(r.ReqsFailed))
	fmt.Fprintf(&b, "\nthroughput         %s spans/s, %.1f MB/s (%.0f B per span on the wire)\n",
		count(int64(r.SpansPerSec+0.5)), r.MBPerSec, r.AvgSpanBytes)
	fmt.Fprintf(&b, "ack latency        p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", r.AckP50Ms, r.AckP99Ms, r.AckMaxMs)
	if r.PeakRSSBytes > 0 {
		fmt.Fprintf(&b, "server RSS         peak %.1f MiB\n", float64(r.PeakRSSBytes)/(1<<20))
	}
	if r.FirstError != "" {
		fmt.Fprintf(&b, "first error        %s\n", r.FirstError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// count writes n with thousands separators.
func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + count(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
