package postgres_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
)

// TestServersShareKeys runs two servers with authentication on, one
// database and one secret: a key made on one works on the other, and a
// key revoked on one is refused by the other within about a second, its
// cache of verified keys notwithstanding.
func TestServersShareKeys(t *testing.T) {
	url := pgtest.URL(t)
	bin := e2etest.Build(t)
	a := e2etest.StartEnv(t, bin, e2etest.AuthEnv(), "--database", url)
	b := e2etest.StartEnv(t, bin, e2etest.AuthEnv(), "--database", url)

	id, key := a.SystemKey(t, "shared")
	body := e2etest.SharedRequest([]e2etest.SharedSpan{{Trace: 1, N: 0}, {Trace: 1, N: 1}}, time.Now().Add(-time.Minute))
	// Sent to b a few times (a span is stored once), so that b has the
	// key cached well before the revocation.
	for range 3 {
		if err := e2etest.PostTraces(b, key, body); err != nil {
			t.Fatalf("b refuses a key made on a: %v", err)
		}
		time.Sleep(500 * time.Millisecond)
	}
	a.Token = key
	var spans e2etest.Page[struct{}]
	a.GetJSON(t, "/v1/projects/shared-1/spans", &spans)
	if len(spans.Data) != 2 {
		t.Errorf("a lists %d of the spans b took, want 2", len(spans.Data))
	}

	if code, out := a.Do(t, "DELETE", "/v1/system/api_keys/"+id, e2etest.AdminSecret, nil); code != http.StatusNoContent {
		t.Fatalf("revoke on a: %d %s", code, out)
	}
	revoked := time.Now()
	for {
		err := e2etest.PostTraces(b, key, body)
		if err == e2etest.ErrUnauthorized {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if time.Since(revoked) > 2*time.Second {
			t.Fatalf("b still takes the key %v after a revoked it", time.Since(revoked))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("b refused the key %v after a revoked it", time.Since(revoked).Round(10*time.Millisecond))
	a.Stop(t)
	b.Stop(t)
}
