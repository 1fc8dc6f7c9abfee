package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
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
	s := openTempStore(t)
	s.stopCheckpointer()
	c, err := s.openCheckpointConn()
	if err != nil {
		t.Fatal(err)
	}
	s.startCheckpointer(c, (1<<20)/pageSize) // restart past 1 MiB
	start := time.Now()

	// Commits follow each other with no pause in which a passive checkpoint
	// could catch up on its own: the spans are generated once and written
	// again under new trace ids, which makes every span new.
	res := agentgen.Resource{ServiceName: "wal", Project: "wal"}
	gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
	spans := otlp.Decode(agentgen.Traces(res, gen.Spans(250)), "").Spans
	before, err := os.Stat(s.path)
	if err != nil {
		t.Fatal(err)
	}
	// The test stops as soon as the log has started over twice; a log that
	// never does fails it after 30 s, long enough for a starved machine.
	var peak int64
	var restarts uint32
	for round := 0; restarts < 2 && time.Since(start) < 30*time.Second; round++ {
		for i := range spans {
			spans[i].TraceID = fmt.Sprintf("%08x", round) + spans[i].TraceID[8:]
		}
		if _, err := s.WriteSpans(ctx, spans); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Stat(s.path + "-wal"); err == nil {
			peak = max(peak, fi.Size())
		}
		restarts = walRestarts(t, s.path+"-wal")
	}
	db, err := os.Stat(s.path)
	if err != nil {
		t.Fatal(err)
	}
	// How large the log gets between restarts depends on how fast the disk
	// takes a checkpoint, so the test counts restarts: a log that never
	// starts over keeps the count it had (0) while it grows by every commit.
	grew := db.Size() - before.Size()
	t.Logf("database grew %d KiB, log at most %d KiB, started over %d times", grew>>10, peak>>10, restarts)
	if restarts < 2 {
		t.Errorf("the write-ahead log started over %d times in %s of back-to-back commits; it reached %d KiB", restarts, time.Since(start).Round(time.Second), peak>>10)
	}
}

// openTempStore opens a new store in a directory of the test's own, closed
// when the test ends.
func openTempStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// walRestarts reads the checkpoint sequence number from the log's header,
// which SQLite increments each time a writer starts the log over.
func walRestarts(t *testing.T, path string) uint32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var header [16]byte
	if _, err := io.ReadFull(f, header[:]); err != nil {
		t.Fatalf("read the write-ahead log header: %v", err)
	}
	return binary.BigEndian.Uint32(header[12:16])
}

// A new database has large pages and is in WAL mode, and its checkpointer
// counts the restart threshold in those pages.
func TestNewDatabaseLayout(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	if size := pragmaInt(t, s.read, "page_size"); size != pageSize {
		t.Errorf("page_size %d, want %d", size, pageSize)
	}
	var mode string
	if err := s.read.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != "wal" {
		t.Errorf("journal_mode %q, want wal", mode)
	}
	if cache := pragmaInt(t, s.write, "cache_size"); cache != -8192 {
		t.Errorf("writer's cache_size %d, want -8192 (8 MiB)", cache)
	}
	if cache := pragmaInt(t, s.read, "cache_size"); cache != -2048 {
		t.Errorf("reader's cache_size %d, want -2048 (2 MiB)", cache)
	}
	if want := restartLogBytes / pageSize; s.ckpt.restartFrames != want {
		t.Errorf("checkpointer restarts the log past %d frames, want %d", s.ckpt.restartFrames, want)
	}
}

func pragmaInt(t *testing.T, db *sql.DB, name string) int {
	t.Helper()
	var v int
	if err := db.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
