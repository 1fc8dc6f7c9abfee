// Command loupe-bench is Loupe's load generator: simulated AI applications
// that send agent-shaped traces through the OpenTelemetry Go SDK's OTLP
// exporters to a running server, and a report of what it acknowledged.
// It is a command of its own so that the server binary carries no
// client SDK.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/loupe-dev/loupe/internal/bench"
	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

const usage = `Usage: loupe-bench ingest [flags]

Drives a running Loupe (or any OTLP receiver) with simulated AI applications
and reports spans/s, MB/s, acknowledgement latency and the server's memory.
Run 'loupe-bench ingest --help' for the flags.
`

func main() {
	switch err := run(os.Args[1:], os.Stdout, os.Stderr); {
	case err == nil:
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "loupe-bench: %v\n", err)
		os.Exit(1)
	}
}

// errUsage marks an error already reported with the usage.
var errUsage = errors.New("usage error")

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "ingest" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help") {
			fmt.Fprint(stdout, usage)
			return nil
		}
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cfg := bench.DefaultConfig()
	fs := flag.NewFlagSet("loupe-bench ingest", flag.ContinueOnError)
	fs.SetOutput(stdout)
	summary := `Sends agent-shaped traces through the OpenTelemetry Go SDK's OTLP exporters from
--apps simulated applications, each with its own tracer provider and batch span
processor, for --duration. Refused requests (HTTP 503/429, gRPC
RESOURCE_EXHAUSTED) are counted, then resent after a short back-off. Exits
non-zero when no span was acknowledged.`
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: loupe-bench ingest [flags]\n\n%s\n\nFlags:\n", summary)
		fs.PrintDefaults()
	}
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
	fs.StringVar(&cfg.APIKey, "api-key", "", "API `key` sent as Authorization: Bearer, for a server with authentication on (default $PHOENIX_API_KEY)")
	asJSON := fs.Bool("json", false, "print the result as JSON")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loupe-bench ingest: unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	if cfg.APIKey == "" {
		cfg.APIKey = os.Getenv("PHOENIX_API_KEY")
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
