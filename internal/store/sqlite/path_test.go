package sqlite

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
)

// TestDSN checks the URIs the driver is given: relative paths stay
// relative, and what SQLite would read as the end of the path or an
// escape is escaped.
func TestDSN(t *testing.T) {
	tests := []struct {
		path   string
		params []string
		want   string
	}{
		{"/var/lib/loupe/loupe.db", nil, "file:/var/lib/loupe/loupe.db"},
		{"/var/lib/loupe/loupe.db", []string{"_txlock=immediate", "_pragma=busy_timeout(10000)"},
			"file:/var/lib/loupe/loupe.db?_txlock=immediate&_pragma=busy_timeout(10000)"},
		{"data/loupe.db", nil, "file:data/loupe.db"},
		{"loupe.db", nil, "file:loupe.db"},
		{"./data/../loupe.db", nil, "file:loupe.db"},
		{"//srv/loupe.db", nil, "file:/srv/loupe.db"},
		{"my data/loupe.db", nil, "file:my%20data/loupe.db"},
		{"what?/loupe.db", []string{"a=1"}, "file:what%3F/loupe.db?a=1"},
		{"#1/loupe.db", nil, "file:%231/loupe.db"},
		{"100%/loupe.db", nil, "file:100%25/loupe.db"},
		{"%41/loupe.db", nil, "file:%2541/loupe.db"},
		{"données/loupe.db", nil, "file:donn%C3%A9es/loupe.db"},
	}
	for _, tc := range tests {
		if got := dsn(tc.path, tc.params...); got != tc.want {
			t.Errorf("dsn(%q, %q) = %q, want %q", tc.path, tc.params, got, tc.want)
		}
	}
}

// TestOpenPaths opens a store in data directories named relative to the
// working directory and with characters that mean something in a URI, and
// checks that the database is where the name says.
func TestOpenPaths(t *testing.T) {
	for _, dir := range []string{"data", "./data2", "my data", "what?", "#1", "100%", "%41", "a&b=c;d", "données"} {
		t.Run(dir, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			s, err := Open(context.Background(), dir, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("Open(%q): %v", dir, err)
			}
			if _, err := s.CreateProject(context.Background(), "p", ""); err != nil {
				t.Error(err)
			}
			if err := s.Close(); err != nil {
				t.Error(err)
			}
			want := filepath.Join(work, dir, FileName)
			if s.Path() != want {
				t.Errorf("Path() = %q, want %q", s.Path(), want)
			}
			if fi, err := os.Stat(want); err != nil || fi.Size() == 0 {
				t.Errorf("no database at %s: %v", want, err)
			}
			entries, err := os.ReadDir(work)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != filepath.Clean(dir) {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("working directory holds %q, want only %q", names, filepath.Clean(dir))
			}
		})
	}
}
