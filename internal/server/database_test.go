package server

import (
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
