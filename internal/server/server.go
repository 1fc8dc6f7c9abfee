// Package server wires Loupe together: the store, the ingest pipeline, the
// OTLP receivers, the REST API and the UI, run as one group that starts and
// stops together.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"

	"github.com/loupe-dev/loupe/internal/api"
	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/ingest"
	"github.com/loupe-dev/loupe/internal/metrics"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/pricing"
	"github.com/loupe-dev/loupe/internal/retention"
	"github.com/loupe-dev/loupe/internal/route"
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
	// decodeSlots and bodies are shared by the OTLP receivers: decoding
	// is CPU work, and request bodies are memory.
	decodeSlots otlp.DecodeSlots
	bodies      *otlp.Budget
	httpLn      net.Listener
	grpcLn      net.Listener
	http        *http.Server
	grpc        *grpc.Server
	cert        *certificate // the listeners' TLS certificate, nil without TLS
	api         *api.API
	ui          *web.Handler
	auth        *auth.Service // nil when authentication is off
	// surfaces are the route tables of the HTTP listener: the OTLP
	// receiver's, the REST API's, the UI's and the server's own.
	surfaces []*route.Table
	costs    *costing.Service
	metrics  *metrics.Metrics
	sweeper  *retention.Sweeper
	dbWhere  string // where the data lives, for the log
	dbPath   string // the SQLite file, if any
	// retentionPending is set when the retention flags could not be stored
	// at start: Run stores them once the database takes writes.
	retentionPending bool
	// bootstrapPending is set when the first admin could not be created at
	// start: Run creates it once the database takes writes.
	bootstrapPending bool
}

// New opens the store and binds the listeners, so that a bad address or an
// unusable data directory fails before anything runs.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	tlsConfig, cert, err := newTLS(cfg.TLS, log)
	if err != nil {
		return nil, err
	}
	st, where, file, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	s := &Server{cfg: cfg, log: log, store: st, dbWhere: where, dbPath: file, cert: cert,
		decodeSlots: otlp.NewDecodeSlots(runtime.GOMAXPROCS(0)), bodies: otlp.NewBudget(int64(cfg.InflightBytes))}
	if err := applyDefaultRetention(ctx, st, cfg); err != nil {
		if !errors.Is(err, store.ErrUnavailable) {
			st.Close()
			return nil, err
		}
		// The policy is stored once the database takes writes (Run).
		log.Warn("the database takes no writes now; the retention flags apply once it does", "err", err)
		s.retentionPending = true
	}
	s.sweeper = &retention.Sweeper{Store: st, Log: log, Interval: cfg.RetentionInterval}
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
	// The hooks reach the metrics and the UI, made below, only once
	// batches are written, which Run starts.
	s.pipeline = ingest.New(ingest.Config{
		MaxQueueSpans: cfg.QueueSpans, MaxQueueBytes: int64(cfg.QueueBytes), MaxBatchSpans: cfg.BatchSpans,
	}, st, log, ingest.Hooks{
		OnStored: func(took time.Duration, stored *store.WriteResult) { s.metrics.ObserveCommit(took, stored) },
		OnCommit: func([]int64) { s.ui.Notify() },
	}, s.costs)
	if err := s.pipeline.CheckWritable(ctx); err != nil {
		// Reads and the UI work still; ingest is answered as unavailable
		// until writes work again, which the pipeline notices by itself.
		log.Warn("the database takes no writes: serving reads only until it does")
	}
	s.metrics = metrics.New(&s.pipeline.Stats, s.pipeline.QueueDepth, s.databaseFiles)
	s.metrics.WatchBodies(s.bodies.Used, s.bodies.Refused)

	if s.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.HTTPAddr, err)
	}
	if s.grpcLn, err = net.Listen("tcp", cfg.GRPCAddr); err != nil {
		s.httpLn.Close()
		st.Close()
		return nil, fmt.Errorf("listen on %s: %w", cfg.GRPCAddr, err)
	}

	if s.auth, s.bootstrapPending, err = newAuth(ctx, st, cfg, log); err != nil {
		s.httpLn.Close()
		s.grpcLn.Close()
		st.Close()
		return nil, err
	}
	otlpHTTP := &otlp.HTTPHandler{Ingest: s.pipeline, MaxBodyBytes: int64(cfg.MaxBodyBytes), Slots: s.decodeSlots,
		Budget: s.bodies, Log: log}
	s.api = &api.API{Store: st, Ingest: s.pipeline, Costs: s.costs, Auth: s.auth, Log: log, QueryTimeout: cfg.QueryTimeout}
	s.api.Pending.Log = log
	s.ui = web.New(web.Config{Store: st, Log: log, GRPCAddr: s.GRPCAddr(), GRPCTLS: cfg.TLS.ForGRPC(), Costs: s.costs,
		RetentionInterval: cfg.RetentionInterval, QueryTimeout: cfg.QueryTimeout, Auth: s.auth, SSO: s.singleSignOn(log)})
	// Each surface is guarded by what its routes need (see guard).
	s.surfaces = []*route.Table{
		otlpHTTP.Handler(s.guard(auth.HTTPOptions{})...),
		s.api.Handler(s.guard(auth.HTTPOptions{Need: api.Access, Open: api.Open})...),
		s.ui.Handler(s.guard(auth.HTTPOptions{Pages: true, Need: web.Access, Open: web.Open})...),
		s.ownRoutes(),
	}
	s.http = &http.Server{
		// Every request, whichever surface serves it, is marked with the
		// version, refused when a page on another site sends it to change
		// something, and given a deadline for its body.
		Handler:           withVersionHeader(withCrossOriginProtection(withBodyDeadline(s.routes(), otlp.ReceiveTimeout))),
		ReadHeaderTimeout: 10 * time.Second,
		// Bodies have their own deadline (withBodyDeadline): a server-wide
		// ReadTimeout would also end long answers such as exports and live
		// views.
		IdleTimeout: idleTimeout,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	if cfg.TLS.ForHTTP() {
		s.http.TLSConfig = tlsConfig.Clone()
	}
	svc := &otlp.GRPCService{Ingest: s.pipeline, Slots: s.decodeSlots, Budget: s.bodies,
		MaxRecvBytes: int(cfg.GRPCMaxRecvBytes), Log: log}
	grpcOpts := append(append(svc.ServerOptions(), s.grpcGuard()...),
		grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: idleTimeout}))
	if cfg.TLS.ForGRPC() {
		grpcOpts = append(grpcOpts, grpc.Creds(credentials.NewTLS(tlsConfig.Clone())))
	}
	s.grpc = grpc.NewServer(grpcOpts...)
	svc.Register(s.grpc)
	return s, nil
}

// HTTPAddr and GRPCAddr are the bound addresses (useful with port 0).
func (s *Server) HTTPAddr() string { return s.httpLn.Addr().String() }
func (s *Server) GRPCAddr() string { return s.grpcLn.Addr().String() }

// HTTPURL is the base URL of the HTTP listener.
func (s *Server) HTTPURL() string {
	if s.cfg.TLS.ForHTTP() {
		return "https://" + s.HTTPAddr()
	}
	return "http://" + s.HTTPAddr()
}

// routes composes the surfaces New made into one mux, which routes as if
// their routes were all its own.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	for _, t := range s.surfaces {
		t.Mount(mux)
	}
	return mux
}

// Routes lists every route of the HTTP listener, of every surface.
func (s *Server) Routes() []route.Route {
	var out []route.Route
	for _, t := range s.surfaces {
		out = append(out, t.Routes()...)
	}
	return out
}

// ownRoutes are the server's own routes, which tell how it is.
func (s *Server) ownRoutes() *route.Table {
	return route.NewTable([]route.Route{
		route.Handle("GET /metrics", s.metrics.Handler()),
		route.HandleFunc("GET /healthz", healthz),
		route.HandleFunc("GET /readyz", s.readyz),
	}, s.ownGuard()...)
}

func healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "OK")
}

// withCrossOriginProtection refuses the state-changing requests (POST,
// PUT, DELETE, PATCH) that a page on another site makes a visitor's
// browser send to this server, on every surface: the browser says where a
// request comes from (Sec-Fetch-Site, else Origin), and only this server's
// own pages may write. Clients that are not browsers (exporters, the
// Phoenix client, curl) send neither header and pass: they cannot ride on
// a visitor's browser.
func withCrossOriginProtection(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Refused: this request came from a page on another site. Loupe accepts changes only from its own pages and from clients that are not browsers.", http.StatusForbidden)
	}))
	return cop.Handler(next)
}

// idleTimeout closes connections, HTTP and gRPC, left idle this long.
const idleTimeout = 2 * time.Minute

// withBodyDeadline gives a request's body d to arrive, so that a client
// trickling one byte at a time cannot hold a connection, its goroutine and
// the memory its body was granted. The deadline is lifted once the body
// is read, leaving the answer, however long, unbounded.
func withBodyDeadline(next http.Handler, d time.Duration) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(time.Now().Add(d)) == nil {
				r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
			}
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody lifts the read deadline when the body has been read.
type deadlineBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	done bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.done {
		b.done = true
		b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// readiness is the body of /readyz. Reason and Since are set when not
// ready; neither says more than a client needs to decide where to send.
type readiness struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	Since  string `json:"since,omitempty"` // RFC 3339, when writes began failing
}

// readyz answers 200 while the database answers and takes writes, and 503
// with the reason otherwise: a load balancer then sends spans elsewhere
// while this server serves reads.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	body, status := readiness{Status: "ready"}, http.StatusOK
	if err := s.store.Ping(ctx); err != nil {
		body, status = readiness{Status: "not ready", Reason: "database unavailable"}, http.StatusServiceUnavailable
	} else if h := s.pipeline.WriteHealth(); h.Failing {
		body, status = readiness{Status: "not ready", Reason: "writes are failing", Since: h.Since.UTC().Format(time.RFC3339)},
			http.StatusServiceUnavailable
		if h.Unavailable() {
			body.Reason += ": storage unavailable"
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(body)
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
	grpcAs, clients := "OTLP/gRPC", ""
	if s.cfg.TLS.ForGRPC() {
		grpcAs = "OTLP/gRPC over TLS"
	}
	if s.cfg.TLS.VerifyClient {
		clients = "; client certificates required"
	}
	s.log.Info(fmt.Sprintf("loupe %s listening on %s (UI, REST, OTLP/HTTP) and %s (%s)%s; data in %s",
		Version, s.HTTPURL(), s.GRPCAddr(), grpcAs, clients, s.dbWhere))
	s.warnIfOpen()

	pipelineCtx, stopPipeline := context.WithCancel(context.Background())
	defer stopPipeline()
	pipelineDone := make(chan error, 1)
	go func() { pipelineDone <- s.pipeline.Run(pipelineCtx) }()

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		serve := s.http.Serve
		if s.http.TLSConfig != nil {
			// The certificate comes from TLSConfig.GetCertificate.
			serve = func(ln net.Listener) error { return s.http.ServeTLS(ln, "", "") }
		}
		if err := serve(s.httpLn); !errors.Is(err, http.ErrServerClosed) {
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
	if s.cert != nil {
		g.Go(func() error {
			s.cert.watch(gctx, certCheckInterval)
			return nil
		})
	}
	if s.retentionPending {
		g.Go(func() error {
			s.whenWritable(gctx, "store the default retention policy of the flags", func(ctx context.Context) error {
				return applyDefaultRetention(ctx, s.store, s.cfg)
			})
			return nil
		})
	}
	if s.auth != nil {
		g.Go(func() error { return s.auth.Run(gctx) })
		if s.bootstrapPending {
			g.Go(func() error {
				s.whenWritable(gctx, "create the first admin", s.auth.Bootstrap)
				return nil
			})
		}
	}
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

// whenWritable runs write once the database takes writes, trying as often
// as ingest checks it, and logs how it went: what needed writes at start
// (the retention flags, the first admin) is done this way when the
// database took none then.
func (s *Server) whenWritable(ctx context.Context, what string, write func(context.Context) error) {
	tick := time.NewTicker(ingest.DefaultCheckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := write(ctx)
		if err == nil {
			s.log.Info("done now that the database takes writes: " + what)
			return
		}
		if !errors.Is(err, store.ErrUnavailable) && ctx.Err() == nil {
			s.log.Error(what, "err", err)
			return
		}
	}
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
