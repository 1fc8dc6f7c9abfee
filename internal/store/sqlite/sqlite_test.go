package sqlite_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestAuthShared runs the shared-database case on one handle: one process
// owns a SQLite file, but its key cache follows the same poll.
func TestAuthShared(t *testing.T) {
	s, err := sqlite.Open(context.Background(), t.TempDir(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.AuthShared(t, s, s)
}
