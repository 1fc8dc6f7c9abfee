package server

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDatabase(t *testing.T) {
	tests := []struct {
		in      string
		want    database
		wantErr string
	}{
		{"", database{}, ""},
		{"postgres://u:p@db:5432/loupe", database{postgresURL: "postgres://u:p@db:5432/loupe"}, ""},
		{"postgresql://db/phoenix", database{postgresURL: "postgresql://db/phoenix"}, ""},
		{"sqlite:////var/lib/loupe/x.db", database{sqliteFile: "/var/lib/loupe/x.db"}, ""},
		{"sqlite:///x.db?mode=rwc", database{sqliteFile: "x.db"}, ""},
		{"sqlite:///data/x.db", database{sqliteFile: "data/x.db"}, ""},
		{"sqlite:///my data/x.db", database{sqliteFile: "my data/x.db"}, ""},
		{"sqlite:///my%20data/what%3F%231.db", database{sqliteFile: "my data/what?#1.db"}, ""},
		{"sqlite:///100%25.db", database{sqliteFile: "100%.db"}, ""},
		{"sqlite:///100%.db", database{sqliteFile: "100%.db"}, ""},
		{"sqlite:////tmp/%41.db", database{sqliteFile: "/tmp/A.db"}, ""},
		{"sqlite:///", database{}, "name a database file"},
		{"sqlite:///:memory:", database{}, "name a database file"},
		{"mysql://db/x", database{}, "use postgres://"},
	}
	for _, tc := range tests {
		got, err := parseDatabase(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseDatabase(%q) error = %v, want one saying %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseDatabase(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestDatabaseAndRetentionConfig(t *testing.T) {
	cfg, err := parse(t, nil, map[string]string{
		"PHOENIX_SQL_DATABASE_URL":              "postgresql://phx/db",
		"PHOENIX_DEFAULT_RETENTION_POLICY_DAYS": "14",
		"LOUPE_RETENTION_INTERVAL":              "5m",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "postgresql://phx/db" || cfg.RetentionDays != (Optional[float64]{14, true}) ||
		cfg.RetentionTraces.Valid || cfg.RetentionInterval.Minutes() != 5 {
		t.Errorf("config from Phoenix's variables = %+v", cfg)
	}
	cfg, err = parse(t, []string{"--database", "sqlite:////tmp/x.db", "--retention-traces", "1000"}, map[string]string{
		"LOUPE_DATABASE_URL": "postgres://loupe/db", "LOUPE_RETENTION_DAYS": "7.5", "PHOENIX_DEFAULT_RETENTION_POLICY_DAYS": "14",
	})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Database != "sqlite:////tmp/x.db" || cfg.RetentionDays.Value != 7.5 || cfg.RetentionTraces != (Optional[int64]{1000, true}) {
		t.Errorf("config from flags and LOUPE_ variables = %+v", cfg)
	}
	for _, args := range [][]string{{"--retention-days", "-1"}, {"--retention-traces", "1.5"}, {"--retention-interval", "0s"}, {"--database", "redis://x"}} {
		if _, err := parse(t, args, nil); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestOpenSQLiteByURL opens --database sqlite:/// files named relative to
// the working directory, with characters that mean something in a URI.
func TestOpenSQLiteByURL(t *testing.T) {
	tests := []struct{ url, file string }{
		{"sqlite:///loupe.db", "loupe.db"},
		{"sqlite:///data/loupe.db", "data/loupe.db"},
		{"sqlite:///my data/loupe.db", "my data/loupe.db"},
		{"sqlite:///what%3F/%231%25.db", "what?/#1%.db"},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			work := t.TempDir()
			t.Chdir(work)
			st, _, file, err := openStore(context.Background(), Config{Database: tc.url}, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatalf("open %s: %v", tc.url, err)
			}
			st.Close()
			want := filepath.Join(work, tc.file)
			if file != want {
				t.Errorf("open %s: file %q, want %q", tc.url, file, want)
			}
			if _, err := os.Stat(want); err != nil {
				t.Errorf("open %s: %v", tc.url, err)
			}
		})
	}
}
