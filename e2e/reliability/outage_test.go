package reliability_test

import (
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/diskfull"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

// outage runs applications sending over both protocols while breakDown
// and restore, called a few seconds apart, take the storage away and give
// it back; then checks that every span produced is stored and that
// /readyz said "not ready" meanwhile.
//
// The applications produce about 60 spans a second each: while storage
// is away an exporter retries one batch with growing pauses (5 s, then
// more), and its processor queues what is produced meanwhile, up to 2,048
// spans; past that the SDK itself drops spans, which no server can help.
func outage(t *testing.T, srv *e2etest.Server, breakDown, restore func(), away time.Duration) {
	t.Helper()
	const perFleet, over = 9_600, 20 * time.Second
	apps := map[string]*fleet{
		"outage-http": newFleet(t, srv, "http", "outage-http", 8),
		"outage-grpc": newFleet(t, srv, "grpc", "outage-grpc", 8),
	}
	var wg sync.WaitGroup
	for _, f := range apps {
		wg.Add(1)
		go func() { defer wg.Done(); f.produce(perFleet, over) }()
	}

	time.Sleep(4 * time.Second)
	var notReady atomic.Bool
	stopWatching := watchReadiness(srv, &notReady)
	breakDown()
	time.Sleep(away)
	restore()
	wg.Wait()
	for _, f := range apps {
		f.shutdown(t)
	}
	stopWatching()

	for project, f := range apps {
		if got := storedSpans(t, srv, project); got != f.produced {
			t.Errorf("%s: stored %d of the %d spans produced", project, got, f.produced)
		}
	}
	if !notReady.Load() {
		t.Error("/readyz never said not ready while the storage was away")
	}
	if body := srv.GetText(t, "/readyz"); body == "" {
		t.Error("/readyz is not ready after the storage came back")
	}
}

// watchReadiness polls /readyz, noting a 503, until the returned function
// is called.
func watchReadiness(srv *e2etest.Server, notReady *atomic.Bool) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		client := &http.Client{Timeout: 3 * time.Second}
		for {
			if resp, err := client.Get(srv.HTTPURL + "/readyz"); err == nil {
				if resp.StatusCode == http.StatusServiceUnavailable {
					notReady.Store(true)
				}
				resp.Body.Close()
			}
			select {
			case <-done:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	return func() { close(done); <-finished }
}

// TestDatabaseRestartLosesNothing stops PostgreSQL for 8 s under load, as
// an upgrade or a failover does.
func TestDatabaseRestartLosesNothing(t *testing.T) {
	cluster := pgtest.NewCluster(t)
	srv := e2etest.Start(t, e2etest.Build(t), "--database", cluster.URL)
	outage(t, srv, func() { cluster.Stop(t) }, func() { cluster.Start(t) }, 8*time.Second)
	srv.Stop(t)
}

// TestFullDiskLosesNothing fills the data directory's disk under load for
// 8 s, then frees it, as an operator clearing space does.
func TestFullDiskLosesNothing(t *testing.T) {
	disk := diskfull.Mount(t, 256<<20)
	srv := e2etest.Start(t, e2etest.Build(t), "--data-dir", filepath.Join(disk, "data"))
	var free func()
	outage(t, srv, func() { free = diskfull.Fill(t, disk) }, func() { free() }, 8*time.Second)
	srv.Stop(t)
}
