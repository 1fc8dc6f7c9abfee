// Package cli implements the loupe command line.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/loupe-dev/loupe/internal/server"
	"github.com/loupe-dev/loupe/internal/sso"
)

const usage = `Loupe is an LLM observability server: it receives OpenTelemetry traces from AI
applications (OpenInference and OTel GenAI conventions, as Arize Phoenix does),
stores them, and shows what each model was shown and what it returned.

Usage:
  loupe [serve] [flags]     run the server (the default command)
  loupe spans [flags]       print a project's spans from a running server (--filter, --format jsonl|csv|table)
  loupe traces [flags]      print a project's traces from a running server
  loupe annotate [flags]    add a label, score or explanation to a span, trace or session
  loupe version             print the version
  loupe help [command]      show help

Run 'loupe serve --help' for the server's flags. The load generator is a
command of its own, loupe-bench.
`

// Run runs the command line and returns the process exit code.
func Run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		fmt.Fprint(stdout, usage)
		return 0
	}
	var err error
	switch cmd {
	case "serve":
		err = runServe(args, stdout, stderr)
	case "bench":
		fmt.Fprintln(stderr, "loupe: the load generator is a command of its own: loupe-bench ingest (go run ./cmd/loupe-bench ingest --help)")
		return 2
	case "spans":
		err = runSpans(args, stdout, stderr)
	case "traces":
		err = runTraces(args, stdout, stderr)
	case "annotate":
		err = runAnnotate(args, stdout, stderr)
	case "version":
		fmt.Fprintf(stdout, "loupe %s\n", server.Version)
	case "help":
		if len(args) > 0 {
			return Run(append(args[:1:1], "--help"), stdout, stderr)
		}
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "loupe: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "loupe: %v\n", err)
	return 1
}

// errUsage marks an error already reported with the command's usage.
var errUsage = errors.New("usage error")

func newFlagSet(name, summary string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stdout)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: loupe %s [flags]\n\n%s\n\nFlags:\n", name, summary)
		fs.PrintDefaults()
	}
	return fs
}

func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "loupe %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

func runServe(args []string, stdout, stderr io.Writer) error {
	cfg := server.DefaultConfig()
	fs := newFlagSet("serve", `Runs Loupe: the UI, the REST API and OTLP/HTTP on --http-addr, OTLP/gRPC on
--grpc-addr, with an embedded SQLite database in --data-dir, or PostgreSQL when
--database names one (several servers can share it). Every flag can also be set
by its environment variable; the flag wins.`, stdout)
	cfg.RegisterFlags(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if err := cfg.ApplyEnv(fs, os.Getenv); err != nil {
		return err
	}
	var err error
	if cfg.IdentityProviders, err = sso.FromEnv(os.Environ()); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel, cfg.LogFormat)
	tuneRuntime(int64(cfg.MemoryLimit), os.Getenv)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// gcPercentUnderLimit is the garbage collector's pace (GOGC) while a memory
// limit is set.
const gcPercentUnderLimit = 400

// tuneRuntime sets the runtime's memory limit unless GOMEMLIMIT is set and,
// under a limit, collects garbage less often unless GOGC is set. The limit
// bounds the heap, not the collector's pace: GOGC 400 took 8-13% off the
// server's CPU per span, ingest rose by about as much, and the peak under
// overload stayed where the limit holds it (BENCHMARKS.md).
func tuneRuntime(memoryLimit int64, getenv func(string) string) {
	if memoryLimit > 0 && getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(memoryLimit)
	}
	if debug.SetMemoryLimit(-1) < math.MaxInt64 && getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercentUnderLimit)
	}
}

func newLogger(w io.Writer, level, format string) *slog.Logger {
	var lvl slog.Level
	switch strings.ToLower(level) {
	case "debug":
		lvl = slog.LevelDebug
	case "warn", "warning":
		lvl = slog.LevelWarn
	case "error":
		lvl = slog.LevelError
	default:
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
