// Package bench is Loupe's load generator: simulated applications send
// agent-shaped traces through the real OpenTelemetry SDK exporters to a
// running server, and the run reports throughput, acknowledgement latency and
// the server's memory.
package bench

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

// Config is one load run.
type Config struct {
	URL      string         // OTLP/HTTP base URL; spans go to URL + /v1/traces
	GRPCAddr string         // OTLP/gRPC host:port
	Protocol string         // "http" or "grpc"
	Apps     int            // simulated applications, each with its own SDK pipeline
	Duration time.Duration  // how long to generate spans
	Traces   int64          // stop after this many traces in all; 0 for no cap
	Project  string         // openinference.project.name of every span
	Shape    agentgen.Shape // how big the spans are
	Batch    int            // spans per export request
	Rate     float64        // target spans/s over all apps; 0 sends as fast as the server acknowledges
	PID      int            // server process whose RSS is sampled; 0 for none
	Seed     uint64         // generator seed; 0 picks one from the clock
	Drain    time.Duration  // after Duration, how long to wait for queued spans to be acknowledged
	APIKey   string         // sent as "Authorization: Bearer <key>" when set, for a server with authentication on
	// Progress, when set, gets a line every ProgressEvery while spans are sent.
	Progress      io.Writer
	ProgressEvery time.Duration
}

// DefaultConfig is what `loupe-bench ingest` does with no flags.
func DefaultConfig() Config {
	return Config{
		URL:      "http://127.0.0.1:6006",
		GRPCAddr: "127.0.0.1:4317",
		Protocol: "http",
		Apps:     8,
		Duration: 20 * time.Second,
		Project:  "loupe-bench",
		Shape:    agentgen.Agent,
		Batch:    512,
		Drain:    15 * time.Second,

		ProgressEvery: 10 * time.Second,
	}
}

// Validate checks the fields together.
func (c *Config) Validate() error {
	var errs []error
	switch c.Protocol {
	case "http":
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("--url %q: want an http:// or https:// base URL", c.URL))
		}
	case "grpc":
		if c.GRPCAddr == "" {
			errs = append(errs, errors.New("--grpc must not be empty"))
		}
	default:
		errs = append(errs, fmt.Errorf("--protocol %q: use http or grpc", c.Protocol))
	}
	if c.Apps <= 0 || c.Batch <= 0 {
		errs = append(errs, errors.New("--apps and --batch must be positive"))
	}
	if c.Duration <= 0 || c.Drain <= 0 {
		errs = append(errs, errors.New("--duration and --drain must be positive"))
	}
	if c.Traces < 0 || c.Rate < 0 || c.PID < 0 || c.ProgressEvery < 0 {
		errs = append(errs, errors.New("--traces, --rate, --pid and --progress must not be negative"))
	}
	if c.Project == "" {
		errs = append(errs, errors.New("--project must not be empty"))
	}
	return errors.Join(errs...)
}
