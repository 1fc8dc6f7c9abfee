package sqlite

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
)

// Under sustained ingest the background checkpointer must still let the
// write-ahead log start over, or it would grow with every span stored.
func TestWALStaysBoundedUnderSustainedIngest(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.stopCheckpointer()
	c, err := s.openCheckpointConn()
	if err != nil {
		t.Fatal(err)
	}
	s.startCheckpointer(c, 256) // restart past 1 MiB

	res := agentgen.Resource{ServiceName: "wal", Project: "wal"}
	gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
	var peak int64
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		spans := otlp.Decode(agentgen.Traces(res, gen.Spans(500)), "").Spans
		if _, err := s.WriteSpans(ctx, spans); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(s.path + "-wal"); err == nil {
			peak = max(peak, fi.Size())
		}
	}
	db, err := os.Stat(s.path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("database %d MiB, log at most %d MiB", db.Size()>>20, peak>>20)
	if peak > db.Size()/2 {
		t.Errorf("the write-ahead log reached %d bytes for a %d-byte database: it is not starting over", peak, db.Size())
	}
}
