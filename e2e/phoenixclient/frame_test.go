package phoenixclient_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
	"github.com/loupe-dev/loupe/internal/bench/agentgen"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestSpansFrame reads the spans DataFrame of agent spans through the
// client, every column and value of it, and compares it with
// testdata/agent_frame.json: the load generator's agent traces, with
// messages, tool calls, retrieved documents, JSON metadata and tool
// parameters, token counts and errors, from a fixed seed and start.
func TestSpansFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end test; skipped in -short mode")
	}
	python := e2etest.Python(t, "arize-phoenix-client", "pandas")
	srv := e2etest.Start(t, e2etest.Build(t))
	gen := agentgen.New(agentgen.Agent, 7, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC))
	srv.SendSpans(t, "frame", gen.Spans(48))

	script, err := filepath.Abs("frame_dump.py")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, python, script, srv.HTTPURL, "frame")
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "PHOENIX_") })
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("frame_dump.py: %v\nstderr:\n%s", err, stderr.String())
	}
	golden := filepath.Join("testdata", "agent_frame.json")
	if *update {
		if err := os.WriteFile(golden, stdout.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), stdout.String()); diff != "" {
		t.Errorf("the DataFrame differs from %s (-want +got):\n%s", golden, diff)
	}
}
