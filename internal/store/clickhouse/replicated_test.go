package clickhouse

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// updateGolden reads -update, which a test helper this package imports
// already defines.
func updateGolden() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// TestSchemaDDL pins the DDL of every migration in each layout, so that a
// change to any table's engine, on one node, sharded or replicated, shows
// in testdata.
func TestSchemaDDL(t *testing.T) {
	for _, tc := range []struct {
		golden string
		store  *Store
	}{
		{"ddl-single.sql", &Store{}},
		{"ddl-cluster.sql", &Store{cluster: "loupe"}},
		{"ddl-replicated.sql", &Store{cluster: "loupe", replicated: true}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b strings.Builder
			for _, m := range migrations {
				for _, stmt := range tc.store.statements(m) {
					b.WriteString(stmt)
					b.WriteString(";\n\n")
				}
			}
			path := filepath.Join("testdata", tc.golden)
			if updateGolden() {
				if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if b.String() != string(want) {
				t.Errorf("DDL differs from %s (run with -update and review the diff)", path)
			}
		})
	}
}

// TestReplicatedEngines checks every table of every migration: replicated,
// its local table gets the Replicated variant of its engine with the
// shard's Keeper path and the engine's own arguments, and nothing else of
// its definition changes.
func TestReplicatedEngines(t *testing.T) {
	plain := &Store{cluster: "loupe"}
	repl := &Store{cluster: "loupe", replicated: true}
	for _, m := range migrations {
		for _, tb := range m.tables {
			name, args, _ := strings.Cut(tb.engine, "(")
			want := "Replicated" + name + "('/clickhouse/tables/{shard}/{database}/" + tb.name + "_local', '{replica}'"
			if args != "" {
				want += ", " + args // args keeps the closing parenthesis
			} else {
				want += ")"
			}
			p, r := plain.createTable(tb), repl.createTable(tb)
			if !strings.Contains(r[0], "ENGINE = "+want+" ") {
				t.Errorf("%s: %s\nwant ENGINE = %s", tb.name, r[0], want)
			}
			if back := strings.Replace(r[0], "ENGINE = "+want, "ENGINE = "+tb.engine, 1); back != p[0] {
				t.Errorf("%s: replicated DDL differs beyond the engine:\n%s\nwant\n%s", tb.name, back, p[0])
			}
			if len(r) != 2 || r[1] != p[1] {
				t.Errorf("%s: the Distributed table differs: %q, want %q", tb.name, r[1:], p[1:])
			}
		}
	}
}

// TestReplicatedNeedsCluster: replicated tables on one node are refused
// before any connection, naming the options, from the flag or the URL.
func TestReplicatedNeedsCluster(t *testing.T) {
	for _, tc := range []struct {
		url string
		cfg Config
	}{
		{"clickhouse://127.0.0.1:1/default?replicated=1", Config{}},
		{"clickhouse://127.0.0.1:1/default?replicated=true", Config{}},
		{"clickhouse://127.0.0.1:1/default", Config{Replicated: true}},
	} {
		_, err := Open(context.Background(), tc.url, tc.cfg, nil)
		if !errors.Is(err, errReplicatedNeedsCluster) {
			t.Errorf("Open(%s, %+v) = %v, want %v", tc.url, tc.cfg, err, errReplicatedNeedsCluster)
		}
	}
	if !strings.Contains(errReplicatedNeedsCluster.Error(), "--clickhouse-cluster") ||
		!strings.Contains(errReplicatedNeedsCluster.Error(), "--clickhouse-replicated") {
		t.Errorf("%v: want it to name both options", errReplicatedNeedsCluster)
	}
}

func TestParseURLReplicated(t *testing.T) {
	for _, tc := range []struct {
		url     string
		want    Config
		wantErr string
	}{
		{"clickhouse://h:9000/db", Config{}, ""},
		{"clickhouse://h:9000/db?cluster=c", Config{Cluster: "c"}, ""},
		{"clickhouse://h:9000/db?cluster=c&replicated=1", Config{Cluster: "c", Replicated: true}, ""},
		{"clickhouse://h:9000/db?cluster=c&replicated=false", Config{Cluster: "c"}, ""},
		{"clickhouse://h:9000/db?cluster=c&replicated=yes", Config{}, "replicated=yes: want 1 or 0"},
	} {
		opts, got, err := ParseURL(tc.url)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseURL(%s) error %v, want %q", tc.url, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("ParseURL(%s): %v", tc.url, err)
		}
		if got != tc.want {
			t.Errorf("ParseURL(%s) = %+v, want %+v", tc.url, got, tc.want)
		}
		if _, ok := opts.Settings["replicated"]; ok {
			t.Errorf("ParseURL(%s): replicated passed on to the driver as a setting", tc.url)
		}
	}
}
