package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
)

// ErrNothingAcknowledged is returned with the result of a run in which the
// server acknowledged no span.
var ErrNothingAcknowledged = errors.New("the server acknowledged no span")

// Run drives the server as cfg says and reports what it measured. It stops
// generating after cfg.Duration, when cfg.Traces traces were sent, or when
// ctx ends, then waits at most cfg.Drain for queued spans to be acknowledged
// and counts those that were not as failed.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	// The SDK hands failed exports to a global handler that logs them; the
	// exporters here count them instead.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(error) {}))

	var sampler *rssSampler
	if cfg.PID > 0 {
		if _, err := readRSS(cfg.PID); err != nil {
			return Result{}, fmt.Errorf("read the memory of process %d: %w", cfg.PID, err)
		}
		sampler = &rssSampler{pid: cfg.PID}
	}

	st := &stats{}
	abort := make(chan struct{})
	apps := make([]*app, 0, cfg.Apps)
	for i := range cfg.Apps {
		a, err := newApp(&cfg, i, st, abort)
		if err != nil {
			close(abort)
			shutdown(apps, 0)
			return Result{}, err
		}
		apps = append(apps, a)
	}
	var pace *pacer
	if cfg.Rate > 0 {
		pace = newPacer(cfg.Rate)
	}
	left := newBudget(cfg.Traces)

	sampleCtx, stopSampling := context.WithCancel(context.Background())
	samplerDone := make(chan struct{})
	go func() {
		defer close(samplerDone)
		if sampler != nil {
			sampler.run(sampleCtx, 100*time.Millisecond)
		}
	}()

	start := time.Now()
	genCtx, stopGenerating := context.WithTimeout(ctx, cfg.Duration)
	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Go(func() { a.run(genCtx, left, pace, st) })
	}
	// Progress stops with the apps, which may run out of traces before
	// the duration ends.
	progressCtx, stopProgress := context.WithCancel(genCtx)
	var progress sync.WaitGroup
	if cfg.Progress != nil && cfg.ProgressEvery > 0 {
		progress.Go(func() { reportProgress(progressCtx, cfg.Progress, cfg.ProgressEvery, st, sampler) })
	}
	wg.Wait()
	stopProgress()
	progress.Wait()
	stopGenerating()
	if !shutdown(apps, cfg.Drain) {
		close(abort)
	}
	elapsed := time.Since(start)
	stopSampling()
	<-samplerDone

	res := newResult(&cfg, st, elapsed)
	if sampler != nil {
		sampler.sample()
		res.PeakRSSBytes = sampler.peak.Load()
	}
	if res.SpansAcked == 0 {
		return res, ErrNothingAcknowledged
	}
	return res, nil
}

// shutdown flushes and stops every app, giving up after timeout (0: at
// once), and reports whether all of them finished in time.
func shutdown(apps []*app, timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	var wg sync.WaitGroup
	for _, a := range apps {
		wg.Go(func() {
			a.tp.Shutdown(ctx) // a failed flush is already counted by the exporter
			a.close()
		})
	}
	wg.Wait()
	return ctx.Err() == nil
}
