package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/loupe-dev/loupe/internal/bench"
	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

const benchUsage = `Usage: loupe bench ingest [flags]

Drives a running Loupe (or any OTLP receiver) with simulated AI applications
and reports spans/s, MB/s, acknowledgement latency and the server's memory.
`

func runBench(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ingest" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
			fmt.Fprint(stdout, benchUsage)
			return nil
		}
		fmt.Fprint(stderr, benchUsage)
		return errUsage
	}
	cfg := bench.DefaultConfig()
	fs := newFlagSet("bench ingest", `Sends agent-shaped traces through the OpenTelemetry Go SDK's OTLP exporters from
--apps simulated applications, each with its own tracer provider and batch span
processor, for --duration. Refused requests (HTTP 503/429, gRPC
RESOURCE_EXHAUSTED) are counted, then resent after a short back-off. Exits
non-zero when no span was acknowledged.`, stdout)
	fs.StringVar(&cfg.URL, "url", cfg.URL, "OTLP/HTTP base `URL` of the server")
	fs.StringVar(&cfg.GRPCAddr, "grpc", cfg.GRPCAddr, "OTLP/gRPC `host:port` of the server")
	fs.StringVar(&cfg.Protocol, "protocol", cfg.Protocol, "`protocol` to export with: http or grpc")
	fs.IntVar(&cfg.Apps, "apps", cfg.Apps, "simulated applications sending at once")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "how long to send")
	fs.Int64Var(&cfg.Traces, "traces", cfg.Traces, "stop after this many traces in all (0: no cap)")
	fs.StringVar(&cfg.Project, "project", cfg.Project, "project `name` the spans go to")
	spanSize := fs.String("span-size", cfg.Shape.String(), "agent (about 1.5 KB spans: LLM calls, tools, retrieval) or small (about 200 B)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "spans per export request")
	fs.Float64Var(&cfg.Rate, "rate", cfg.Rate, "target spans/s over all apps, evenly paced (0: as fast as the server acknowledges)")
	fs.IntVar(&cfg.PID, "pid", cfg.PID, "server process `id` whose peak RSS to report (0: none)")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "generator seed (0: from the clock)")
	fs.DurationVar(&cfg.Drain, "drain", cfg.Drain, "after --duration, how long to wait for queued spans to be acknowledged")
	fs.DurationVar(&cfg.ProgressEvery, "progress", cfg.ProgressEvery, "print the rate acknowledged so far this often, on standard error (0: never)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	shape, err := agentgen.ParseShape(*spanSize)
	if err != nil {
		return fmt.Errorf("--span-size: %w", err)
	}
	cfg.Shape = shape
	cfg.Progress = stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := bench.Run(ctx, cfg)
	if err != nil && !errors.Is(err, bench.ErrNothingAcknowledged) {
		return err
	}
	if *asJSON {
		if werr := res.WriteJSON(stdout); werr != nil {
			return werr
		}
	} else if werr := res.WriteTable(stdout); werr != nil {
		return werr
	}
	return err
}
