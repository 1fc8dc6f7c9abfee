package query

import (
	"database/sql"
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzParse checks, for any input: Parse never panics and fails only with
// *Error; what parses prints to a canonical form that parses back to the same
// tree; and it compiles for every dialect, or fails with *Error, into SQL
// whose placeholders match its arguments. (storetest.FuzzFilters runs the
// SQL.)
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.in)
	}
	for _, tc := range parseErrors {
		f.Add(tc.in)
	}
	for _, tc := range checkErrors {
		f.Add(tc.in)
	}
	for _, tc := range limitErrors {
		f.Add(tc.in)
	}
	for _, gc := range grainTests {
		for _, filter := range readFilters(f, gc.file) {
			f.Add(filter)
		}
	}
	for _, tc := range grainErrors {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			checkError(t, src, err)
			return
		}
		canon := e.String()
		again, err := Parse(canon)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", canon, src, err)
		}
		if d := cmp.Diff(e, again, ignorePos); d != "" {
			t.Fatalf("canonical form %q of %q parses to another tree:\n%s", canon, src, d)
		}
		if again.String() != canon {
			t.Fatalf("canonical form is not stable: %q then %q", canon, again.String())
		}

		for _, gc := range grainTests {
			fuzzCompile(t, src, e, gc)
		}
	})
}

// fuzzCompile compiles e as a filter of gc's grain for every dialect.
func fuzzCompile(t *testing.T, src string, e Expr, gc grainCases) {
	for _, d := range []Dialect{SQLite, Postgres(7), ClickHouse(3)} {
		where, args, err := compileAs(e, d, gc.g)
		if err != nil {
			checkError(t, src, err)
			if _, cerr := checkAs(e, gc.g); cerr == nil && err.Error() != "the filter is too large" {
				t.Fatalf("Compile(%q) as a %s filter failed with %v but the check passed", src, gc.g, err)
			}
			return
		}
		checkPlaceholders(t, d, where, args)
	}
}

func checkError(t *testing.T, src string, err error) {
	t.Helper()
	var qe *Error
	if !errors.As(err, &qe) {
		t.Fatalf("error for %q is %T, not *Error: %v", src, err, err)
	}
	if qe.Column < 0 || qe.Column > utf8.RuneCountInString(src)+1 {
		t.Fatalf("error for %q points at column %d, outside the filter: %v", src, qe.Column, err)
	}
	if qe.Msg == "" {
		t.Fatalf("error for %q has no message", src)
	}
}

var (
	pgPlaceholder = regexp.MustCompile(`\$(\d+)::`)
	chPlaceholder = regexp.MustCompile(`\{(p\d+):(Int64|Float64|Bool|String|Nullable\(String\))\}`)
)

func checkPlaceholders(t *testing.T, d Dialect, where string, args []any) {
	t.Helper()
	if d.kind == clickhouseKind {
		checkNamed(t, d, where, args)
		return
	}
	if d.kind == sqliteKind {
		if n := strings.Count(where, "?"); n != len(args) {
			t.Fatalf("%d placeholders for %d args in %s", n, len(args), where)
		}
		return
	}
	seen := map[int]bool{}
	for _, m := range pgPlaceholder.FindAllStringSubmatch(where, -1) {
		n, _ := strconv.Atoi(m[1])
		if n < d.firstParam || n >= d.firstParam+len(args) {
			t.Fatalf("$%d outside $%d..$%d in %s", n, d.firstParam, d.firstParam+len(args)-1, where)
		}
		seen[n] = true
	}
	if len(seen) != len(args) {
		t.Fatalf("%d distinct placeholders for %d args in %s", len(seen), len(args), where)
	}
}

// checkNamed checks ClickHouse's parameters: each argument is named pN
// within the dialect's numbers, used in the SQL with the type of its value,
// and every name used has an argument.
func checkNamed(t *testing.T, d Dialect, where string, args []any) {
	t.Helper()
	named := map[string]any{}
	for i, a := range args {
		na, ok := a.(sql.NamedArg)
		if !ok {
			t.Fatalf("argument %d is %T, not sql.NamedArg", i, a)
		}
		if want := "p" + strconv.Itoa(d.firstParam+i); na.Name != want {
			t.Fatalf("argument %d is named %s, want %s", i, na.Name, want)
		}
		named[na.Name] = na.Value
	}
	used := map[string]bool{}
	for _, m := range chPlaceholder.FindAllStringSubmatch(where, -1) {
		v, ok := named[m[1]]
		if !ok {
			t.Fatalf("{%s:%s} has no argument in %s", m[1], m[2], where)
		}
		if chType(v) != m[2] {
			t.Fatalf("{%s:%s} holds %T", m[1], m[2], v)
		}
		used[m[1]] = true
	}
	if n := strings.Count(where, "{p"); n != len(chPlaceholder.FindAllString(where, -1)) {
		t.Fatalf("a placeholder of unknown form in %s", where)
	}
	if len(used) != len(args) {
		t.Fatalf("%d distinct placeholders for %d args in %s", len(used), len(args), where)
	}
}
