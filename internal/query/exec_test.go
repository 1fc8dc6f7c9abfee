package query

import (
	"bufio"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

// execCase is one line of testdata/exec/cases.txt.
type execCase struct {
	line   int
	filter string
	want   []string // span_ids, sorted
}

// grainCases are the cases of one grain's filters: testdata/exec/<file>,
// whose lines end in the ids the filter must select from fixture.sql, run
// with sel, and compiled into testdata/compile/<dialect><golden>.golden.
type grainCases struct {
	g      grain
	file   string
	golden string
	// id is the column of the ids the cases list, and from the table the
	// filter is over.
	id, from string
}

var grainTests = []grainCases{
	{spanGrain, "cases.txt", "", "s.span_id", "spans s"},
	{traceGrain, "cases_traces.txt", "_traces", "tr.trace_id", "traces tr"},
	{sessionGrain, "cases_sessions.txt", "_sessions", "se.session_id", "sessions se"},
}

func (gc grainCases) sel(where string) string {
	alias := gc.id[:strings.Index(gc.id, ".")]
	return "SELECT " + gc.id + " FROM " + gc.from + " WHERE " + alias + ".project_id = 1 AND " + where + " ORDER BY " + gc.id
}

func readExecCases(t testing.TB) []execCase { return readCases(t, "cases.txt") }

func readCases(t testing.TB, file string) []execCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "exec", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []execCase
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndex(line, "=>")
		if i < 0 {
			t.Fatalf("%s:%d: no '=>'", file, n)
		}
		var want []string // nil when empty, as selectSpanIDs returns
		want = append(want, strings.Fields(line[i+2:])...)
		slices.Sort(want)
		out = append(out, execCase{line: n, filter: strings.TrimSpace(line[:i]), want: want})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func openFixtureDB(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one connection, so every query sees the one in-memory database
	t.Cleanup(func() { db.Close() })
	for _, name := range []string{"schema_sqlite.sql", "fixture.sql"} {
		b, err := os.ReadFile(filepath.Join("testdata", "exec", name))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	return db
}

// TestExecSQLite runs every filter in the cases files (spans, traces,
// sessions) against a real SQLite database and compares the rows it
// returns, which shows that the SQL means what the filter says.
func TestExecSQLite(t *testing.T) {
	db := openFixtureDB(t)
	for _, gc := range grainTests {
		for _, tc := range readCases(t, gc.file) {
			t.Run(gc.g.String()+"/"+tc.filter, func(t *testing.T) {
				got, err := selectIDs(db, gc, tc.filter)
				if err != nil {
					t.Fatalf("%s:%d: %v", gc.file, tc.line, err)
				}
				if d := cmp.Diff(tc.want, got); d != "" {
					t.Errorf("%s:%d: %s (-want +got):\n%s", gc.file, tc.line, tc.filter, d)
				}
			})
		}
	}
}

func selectSpanIDs(db *sql.DB, filter string) ([]string, error) {
	return selectIDs(db, grainTests[0], filter)
}

func selectIDs(db *sql.DB, gc grainCases, filter string) ([]string, error) {
	e, err := Parse(filter)
	if err != nil {
		return nil, err
	}
	where, args, err := compileAs(e, SQLite, gc.g)
	if err != nil {
		return nil, err
	}
	rows, err := db.Query(gc.sel(where), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// TestInjection feeds values and keys written to break out of SQL strings:
// they must match nothing they should not, and never reach the SQL text.
func TestInjection(t *testing.T) {
	db := openFixtureDB(t)
	payloads := []string{
		`' OR 1=1 --`,
		`" OR 1=1 --`,
		`') OR ('1'='1`,
		`'; DROP TABLE spans; --`,
		`$."x" OR 1=1`,
		`\' OR 1=1 --`,
		"x'\x00 OR 1=1",
		`%' OR '%'='`,
	}
	templates := []string{
		`name == %s`,
		`name != %s and span_id == 's01'`,
		`%s in name`,
		`name in [%s, 'nope']`,
		`attributes[%s] is not None`,
		`attributes[%s] == 1`,
		`metadata[%s] == 'x'`,
		`metadata['a'][%s] == 'x'`,
		`annotations[%s].label == 'x'`,
		`annotations[%s]`,
		`trace_annotations[%s].score > 0`,
		`span_kind == %s`,
	}
	for _, p := range payloads {
		for _, tmpl := range templates {
			filter := strings.Replace(tmpl, "%s", quote(p), 1)
			e, err := Parse(filter)
			if err != nil {
				t.Fatalf("Parse(%q): %v", filter, err)
			}
			for _, d := range []Dialect{SQLite, Postgres(1)} {
				sqlText, _, err := Compile(e, d)
				if err != nil {
					t.Fatalf("Compile(%q): %v", filter, err)
				}
				if strings.Contains(sqlText, p) || strings.Contains(sqlText, "1=1") || strings.Contains(sqlText, "DROP") || strings.Contains(sqlText, "OR '") {
					t.Errorf("%s SQL for %q carries the payload: %s", d, filter, sqlText)
				}
			}
			got, err := selectSpanIDs(db, filter)
			if err != nil {
				t.Fatalf("%q: %v", filter, err)
			}
			var want []string
			if strings.HasPrefix(tmpl, "name != ") {
				want = []string{"s01"}
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("%q returned extra rows (-want +got):\n%s", filter, d)
			}
		}
	}
	var n int
	if err := db.QueryRow("SELECT count(*) FROM spans").Scan(&n); err != nil || n != 20 {
		t.Errorf("spans table has %d rows (%v) after the payloads, want 20", n, err)
	}
}

// Long chains either run or are refused with a clear error, never with a
// database error, and the SQL grows linearly with the filter even where an
// operand has to be tested before it is used.
func TestLongFilters(t *testing.T) {
	db := openFixtureDB(t)
	ors := make([]string, 150)
	for i := range ors {
		ors[i] = "span_id == 's05'"
	}
	got, err := selectSpanIDs(db, strings.Join(ors, " or "))
	if err != nil || len(got) != 1 {
		t.Errorf("150 alternatives: %v, %v", got, err)
	}
	_, err = Parse(strings.Repeat("span_id == 's05' or ", 300) + "True")
	if err == nil || !strings.HasPrefix(err.Error(), "the filter is nested too deeply at column") ||
		!strings.HasSuffix(err.Error(), "; write long lists of alternatives as x in [...]") {
		t.Errorf("300 alternatives: %v", err)
	}
	for _, filter := range []string{
		"calc.neg" + strings.Repeat(" % 5", 60) + " == -2",
		strings.Repeat("float(str(", 40) + "calc.neg" + strings.Repeat("))", 40) + " == -7",
	} {
		e, err := Parse(filter)
		if err != nil {
			t.Fatal(err)
		}
		where, _, err := Compile(e, SQLite)
		if err != nil {
			t.Fatalf("%.40s…: %v", filter, err)
		}
		if len(where) > 200*len(filter) {
			t.Errorf("%.40s…: %d bytes of SQL from %d of filter", filter, len(where), len(filter))
		}
		got, err := selectSpanIDs(db, filter)
		if err != nil || len(got) != 1 || got[0] != "s11" {
			t.Errorf("%.40s…: %v, %v; want [s11]", filter, got, err)
		}
	}
}
