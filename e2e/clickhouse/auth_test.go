package clickhouse_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
)

// TestServersShareKeys runs two servers with authentication on, on two
// nodes of a three-shard cluster: a user made on one logs in there and
// makes a key, which ingests through the other; a key revoked on one, and
// the key of a user deleted on one, are refused by the other within about
// a second, its cache of verified keys notwithstanding.
func TestServersShareKeys(t *testing.T) {
	urls := chtest.Cluster(t)
	bin := e2etest.Build(t)
	a := e2etest.StartEnv(t, bin, e2etest.AuthEnv(), "--database", urls[0])
	b := e2etest.StartEnv(t, bin, e2etest.AuthEnv(), "--database", urls[2])

	keyID, key := a.UserKey(t, "ada", "MEMBER")
	_, other := a.UserKey(t, "bea", "MEMBER")
	body := e2etest.SharedRequest([]e2etest.SharedSpan{{Trace: 1, N: 0}, {Trace: 1, N: 1}}, time.Now().Add(-time.Minute))
	// Sent to b a few times (a span is stored once), so that b has the
	// keys cached well before they stop working.
	for range 3 {
		for _, k := range []string{key, other} {
			if err := e2etest.PostTraces(b, k, body); err != nil {
				t.Fatalf("b refuses a key made on a: %v", err)
			}
		}
		time.Sleep(500 * time.Millisecond)
	}
	a.Token = key
	var spans e2etest.Page[struct{}]
	a.GetJSON(t, "/v1/projects/shared-1/spans", &spans)
	if len(spans.Data) != 2 {
		t.Errorf("a lists %d of the spans b took, want 2", len(spans.Data))
	}

	refused := func(what, key string) {
		t.Helper()
		at := time.Now()
		for {
			err := e2etest.PostTraces(b, key, body)
			if err == e2etest.ErrUnauthorized {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if time.Since(at) > 3*time.Second { // a poll (1 s) and the reads of a loaded cluster
				t.Fatalf("b still takes the key %v after %s on a", time.Since(at), what)
			}
			time.Sleep(50 * time.Millisecond)
		}
		t.Logf("b refused the key %v after %s on a", time.Since(at).Round(10*time.Millisecond), what)
	}
	if code, out := a.Do(t, "DELETE", "/v1/user/api_keys/"+keyID, e2etest.AdminSecret, nil); code != http.StatusNoContent {
		t.Fatalf("revoke on a: %d %s", code, out)
	}
	refused("its revocation", key)

	var users struct {
		Data []struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"data"`
	}
	code, out := a.Do(t, "GET", "/v1/users", e2etest.AdminSecret, nil)
	if code != http.StatusOK || json.Unmarshal(out, &users) != nil {
		t.Fatalf("list users: %d %s", code, out)
	}
	for _, u := range users.Data {
		if u.Username == "bea" {
			if code, out := a.Do(t, "DELETE", "/v1/users/"+u.ID, e2etest.AdminSecret, nil); code != http.StatusNoContent {
				t.Fatalf("delete user on a: %d %s", code, out)
			}
		}
	}
	refused("its user's deletion", other)
	a.Stop(t)
	b.Stop(t)
}
