package query

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The cases files testdata/exec/cases*.txt hold filters, one a line, each
// followed by "=>" and the ids it selects from the spans package storetest
// writes: every storage backend runs them there, and compiles them into the
// golden SQL of testdata/compile. Here they seed the fuzzer.

// grainCases are the cases of one grain's filters, in testdata/exec/<file>.
type grainCases struct {
	g    grain
	file string
}

var grainTests = []grainCases{
	{spanGrain, "cases.txt"},
	{traceGrain, "cases_traces.txt"},
	{sessionGrain, "cases_sessions.txt"},
}

// readFilters returns the filters of a cases file.
func readFilters(t testing.TB, file string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "exec", file))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if i := strings.LastIndex(line, "=>"); i >= 0 && !strings.HasPrefix(line, "#") {
			out = append(out, strings.TrimSpace(line[:i]))
		}
	}
	return out
}

// Long chains either compile or are refused with a clear error, and the SQL
// grows linearly with the filter even where an operand has to be tested
// before it is used. (Package storetest runs them.)
func TestLongFilters(t *testing.T) {
	ors := make([]string, 150)
	for i := range ors {
		ors[i] = "span_id == 's05'"
	}
	if _, err := Parse(strings.Join(ors, " or ")); err != nil {
		t.Errorf("150 alternatives: %v", err)
	}
	_, err := Parse(strings.Repeat("span_id == 's05' or ", 300) + "True")
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
		for _, d := range []Dialect{SQLite, Postgres(1), ClickHouse(1)} {
			where, _, err := Compile(e, d)
			if err != nil {
				t.Fatalf("%.40s…: %v", filter, err)
			}
			if len(where) > 200*len(filter) {
				t.Errorf("%.40s… for %s: %d bytes of SQL from %d of filter", filter, d, len(where), len(filter))
			}
		}
	}
}
