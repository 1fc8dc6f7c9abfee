package reliability_test

import (
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestOverloadLosesNothing sends from 64 applications at once into a
// queue that holds a few of their batches: the requests wait for room (or,
// past what the server holds, are refused and sent again), and every span
// is delivered.
func TestOverloadLosesNothing(t *testing.T) {
	bin := e2etest.Build(t)
	for _, protocol := range []string{"grpc", "http"} {
		t.Run(protocol, func(t *testing.T) {
			t.Parallel()
			srv := e2etest.Start(t, bin, "--queue-spans", "2000")
			apps := newFleet(t, srv, protocol, "overload", 64)
			apps.produce(21_000, 0)
			apps.shutdown(t)
			if got := storedSpans(t, srv, "overload"); got != apps.produced {
				t.Errorf("stored %d of the %d spans produced", got, apps.produced)
			}
			if metrics := srv.GetText(t, "/metrics"); strings.Contains(metrics, "loupe_requests_waited_total 0\n") {
				t.Errorf("no request waited for room in the queue: the test did not overload the server")
			}
			srv.Stop(t)
		})
	}
}
