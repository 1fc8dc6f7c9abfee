package query

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestExecPostgres runs cases.txt against PostgreSQL when
// LOUPE_TEST_POSTGRES_URL names a database, through the psql client so the
// package needs no driver. Each run works in a schema of its own and drops it.
func TestExecPostgres(t *testing.T) {
	dsn := os.Getenv("LOUPE_TEST_POSTGRES_URL")
	if dsn == "" {
		if os.Getenv("LOUPE_E2E_REQUIRE") == "1" {
			t.Fatal("LOUPE_TEST_POSTGRES_URL is required (LOUPE_E2E_REQUIRE=1)")
		}
		t.Skip("LOUPE_TEST_POSTGRES_URL is not set; scripts/postgres.sh starts a PostgreSQL for these tests")
	}
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Skip("psql is not installed")
	}
	schema := fmt.Sprintf("loupe_query_test_%d", os.Getpid())
	var script strings.Builder
	fmt.Fprintf(&script, "SET client_min_messages = warning;\nDROP SCHEMA IF EXISTS %[1]s CASCADE;\nCREATE SCHEMA %[1]s;\nSET search_path = %[1]s;\n", schema)
	for _, name := range []string{"schema_postgres.sql", "fixture.sql"} {
		b, err := os.ReadFile(filepath.Join("testdata", "exec", name))
		if err != nil {
			t.Fatal(err)
		}
		script.Write(b)
		script.WriteString("\n")
	}
	type pgCase struct {
		execCase
		file string
	}
	var cases []pgCase
	for _, gc := range grainTests {
		for _, tc := range readCases(t, gc.file) {
			cases = append(cases, pgCase{tc, gc.file})
			i := len(cases) - 1
			e, err := Parse(tc.filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.filter, err)
			}
			where, args, err := compileAs(e, Postgres(1), gc.g)
			if err != nil {
				t.Fatalf("Compile(%q): %v", tc.filter, err)
			}
			alias := gc.id[:strings.Index(gc.id, ".")]
			fmt.Fprintf(&script, "PREPARE q%d AS SELECT 'case %d:' || coalesce(string_agg(%s, ' ' ORDER BY %s), '') FROM %s WHERE %s.project_id = 1 AND %s;\n",
				i, i, gc.id, gc.id, gc.from, alias, where)
			execute(&script, i, args)
		}
	}
	fmt.Fprintf(&script, "DROP SCHEMA %s CASCADE;\n", schema)

	path := filepath.Join(t.TempDir(), "cases.sql")
	if err := os.WriteFile(path, []byte(script.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(psql, "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=0", "-f", path, dsn)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, stderr.String())
	}
	got := map[int][]string{}
	for _, line := range strings.Split(string(out), "\n") {
		rest, ok := strings.CutPrefix(line, "case ")
		if !ok {
			continue
		}
		num, ids, _ := strings.Cut(rest, ":")
		n, _ := strconv.Atoi(num)
		var list []string
		list = append(list, strings.Fields(ids)...)
		slices.Sort(list)
		got[n] = list
	}
	for i, tc := range cases {
		ids, ok := got[i]
		if !ok {
			t.Errorf("%s:%d: %s: no result from PostgreSQL", tc.file, tc.line, tc.filter)
			continue
		}
		if d := cmp.Diff(tc.want, ids); d != "" {
			t.Errorf("%s:%d: %s (-want +got):\n%s", tc.file, tc.line, tc.filter, d)
		}
	}
	if t.Failed() {
		t.Logf("psql errors:\n%s", stderr.String())
	}
}

// execute runs prepared statement q<i> with args.
func execute(script *strings.Builder, i int, args []any) {
	fmt.Fprintf(script, "EXECUTE q%d", i)
	if len(args) > 0 {
		lits := make([]string, len(args))
		for j, a := range args {
			lits[j] = pgLiteral(a)
		}
		script.WriteString("(" + strings.Join(lits, ", ") + ")")
	}
	script.WriteString(";\n")
}

// pgLiteral writes an argument as an SQL literal for EXECUTE; the values
// come from the test's own filters.
func pgLiteral(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(v, "'", "''") + "'"
	case nil:
		return "NULL"
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}
