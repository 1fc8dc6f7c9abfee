// Package server wires Loupe together: the store, the ingest pipeline, the
// OTLP receivers, the REST API and the UI, run as one group that starts and
// stops together.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"

	"github.com/loupe-dev/loupe/internal/api"
	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/metrics"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/pricing"
	"github.com/loupe-dev/loupe/internal/retention"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/web"
)

// Version is Loupe's version, set at build time with -ldflags.
var Version = "0.1.0-dev"

// Server is a running Loupe.
type Server struct {
	cfg      Config
	log      *slog.Logger
	store    store.Store
	pipeline *ingest.Pipeline
	// decodeSlots is shared by the OTLP receivers: decoding is CPU work.
	decodeSlots otlp.DecodeSlots
	httpLn      net.Listener
	grpcLn      net.Listener
	http        *http.Server
	grpc        *grpc.Server
	api         *api.API
	costs       *costing.Service
	metrics     *metrics.Metrics
	sweeper     *retention.Sweeper
	dbWhere     string // where the data lives, for the log
	dbPath      string // the SQLite file, if any
}

// New opens the store and binds the listeners, so that a bad address or an
// unusable data directory fails before anything runs.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	st, where, file, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if err := applyDefaultRetention(ctx, st, cfg); err != nil {
		st.Close()
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, store: st, dbWhere: where, dbPath: file,
		decodeSlots: otlp.NewDecodeSlots(runtime.GOMAXPROCS(0))}
	s.sweeper = &retention.Sweeper{Store: st, Log: log, Interval: cfg.RetentionInterval}
	s.pipeline = ingest.New(ingest.Config{
		MaxQueueSpans: cfg.QueueSpans, MaxQueueBytes: int64(cfg.QueueBytes), MaxBatchSpans: cfg.BatchSpans,
	}, st, log)
	var fileprices []pricing.Entry
	if cfg.PricesFile != "" {
		if fileprices, err = pricing.LoadFile(cfg.PricesFile); err != nil {
			st.Close()
			return nil, err
		}
	}
	if s.costs, err = costing.New(ctx, st, fileprices, log); err != nil {
		st.Close()
		return nil, err
	}
	s.pipeline.SetPricer(s.costs)
	s.metrics = metrics.New(&s.pipeline.Stats, s.pipeline.QueueDepth, s.databaseFiles)
	s.pipeline.OnStored = s.metrics.ObserveCommit
	s.api = &api.API{Store: st, Ingest: s.pipeline, Costs: s.costs, Log: log, QueryTimeout: cfg.QueryTimeout}
	s.api.Pending.Log = log

	if s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	if s.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		s.httpLn.Close()
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.GRPCAddr, err)
	}
	s.http = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	s.grpc = grpc.NewServer(otlp.ServerOptions(int(cfg.GRPCMaxRecvBytes))...)
	(&otlp.GRPCService{Ingest: s.pipeline, Slots: s.decodeSlots, Log: log}).Register(s.grpc)
	return s, nil
}

// HTTPAddr and GRPCAddr are the bound addresses (useful with port 0).
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }
func (s *Server) GRPCAddr() string { return s.grpcLn.Addr().String() }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	(&otlp.HTTPHandler{Ingest: s.pipeline, MaxBodyBytes: int64(s.cfg.MaxBodyBytes), Slots: s.decodeSlots, Log: s.log}).Routes(mux)
	s.api.Routes(mux)
	ui := web.New(web.Config{Store: s.store, Log: s.log, GRPCAddr: s.GRPCAddr(), Costs: s.costs, RetentionInterval: s.cfg.RetentionInterval,
		QueryTimeout: s.cfg.QueryTimeout})
	s.pipeline.OnCommit = func([]int64) { ui.Notify() }
	ui.Routes(mux)
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, "OK")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.store.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "{\"error\":%q}", "database unavailable")
			return
		}
		fmt.Fprint(w, "{}")
	})
	return withVersionHeader(mux)
}

// databaseFiles are the files of an embedded database, for its size.
func (s *Server) databaseFiles() []string {
	if s.dbPath == "" {
		return nil
	}
	return []string{s.dbPath, s.dbPath + "-wal", s.dbPath + "-shm"}
}

// withVersionHeader marks every response as Phoenix's are, so Phoenix
// clients find the server version they check features against.
func withVersionHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("x-phoenix-server-version", api.PhoenixVersion)
		next.ServeHTTP(w, r)
	})
}

// Run serves until ctx is cancelled, then stops accepting requests, lets
// in-flight ones finish (their spans are written), drains the queue and
// closes the database.
func (s *Server) Run(ctx context.Context) error {
	s.log.Info(fmt.Sprintf("loupe %s listening on http://%s (UI, REST, OTLP/HTTP) and %s (OTLP/gRPC); data in %s",
		Version, s.HTTPAddr(), s.GRPCAddr(), s.dbWhere))

	pipelineCtx, stopPipeline := context.WithCancel(context.Background())
	defer stopPipeline()
	pipelineDone := make(chan error, 1)
	go func() { pipelineDone <- s.pipeline.Run(pipelineCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := s.http.Serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("HTTP server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		if err := s.grpc.Serve(s.grpcLn); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			return fmt.Errorf("gRPC server: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		return s.api.Pending.Run(gctx, s.store)
	})
	g.Go(func() error {
		return s.costs.Run(gctx)
	})
	g.Go(func() error {
		return s.sweeper.Run(gctx)
	})
	g.Go(func() error {
		<-gctx.Done()
		s.shutdown()
		return nil
	})
	err := g.Wait()

	stopPipeline()
	if perr := <-pipelineDone; perr != nil && err == nil {
		err = perr
	}
	if cerr := s.store.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("close database: %w", cerr)
	}
	s.log.Debug("stopped")
	return err
}

func (s *Server) shutdown() {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	done := make(chan struct{})
	go func() {
		s.grpc.GracefulStop()
		close(done)
	}()
	if err := s.http.Shutdown(ctx); err != nil {
		s.log.Warn("HTTP shutdown did not finish in time", "err", err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		s.grpc.Stop()
	}
}
