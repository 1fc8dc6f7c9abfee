package query

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Placeholders, arguments and their order must agree in both dialects.
func TestPlaceholders(t *testing.T) {
	e, err := Parse(`span_kind == 'LLM' and metadata['topic'] == 'billing' and name in ['a', 'LLM']`)
	if err != nil {
		t.Fatal(err)
	}
	sqlText, args, err := Compile(e, Postgres(4))
	if err != nil {
		t.Fatal(err)
	}
	// A repeated value is bound once and its $N reused.
	wantArgs := []any{"LLM", "metadata", "topic", "metadata.topic", "billing", "a"}
	if fmt.Sprint(args) != fmt.Sprint(wantArgs) {
		t.Errorf("args = %v, want %v", args, wantArgs)
	}
	for n := 4; n < 4+len(wantArgs); n++ {
		if !strings.Contains(sqlText, "$"+strconv.Itoa(n)+"::") {
			t.Errorf("$%d missing from %s", n, sqlText)
		}
	}
	if strings.Contains(sqlText, "$3") || strings.Contains(sqlText, "$10") {
		t.Errorf("placeholder outside $4..$9 in %s", sqlText)
	}

	sqlText, args, err = Compile(e, SQLite)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(sqlText, "?"); n != len(args) {
		t.Errorf("SQLite: %d placeholders, %d args", n, len(args))
	}

	// ClickHouse names them pN, numbered as PostgreSQL's, each typed.
	sqlText, args, err = Compile(e, ClickHouse(4))
	if err != nil {
		t.Fatal(err)
	}
	var named []any
	for i, a := range args {
		na := a.(sql.NamedArg)
		if want := "p" + strconv.Itoa(4+i); na.Name != want {
			t.Errorf("ClickHouse argument %d named %s, want %s", i, na.Name, want)
		}
		named = append(named, na.Value)
	}
	if fmt.Sprint(named) != fmt.Sprint(wantArgs) {
		t.Errorf("ClickHouse args = %v, want %v", named, wantArgs)
	}
	for _, p := range []string{"{p4:String}", "{p9:String}"} {
		if !strings.Contains(sqlText, p) {
			t.Errorf("%s missing from %s", p, sqlText)
		}
	}
	checkNamed(t, ClickHouse(4), sqlText, args)
}

// TestCompileLimits builds its tree by hand: Parse refuses a filter this
// large (maxTerms) before it could reach the compiler's own limits, which
// stay for trees built otherwise.
func TestCompileLimits(t *testing.T) {
	list := &ListExpr{}
	for i := range maxParams + 1 {
		list.Elems = append(list.Elems, &StringLit{Value: fmt.Sprint(i)})
	}
	e := &CompareExpr{X: &Name{Name: "name"}, Ops: []CmpOp{In}, OpPos: []Pos{0}, Ys: []Expr{list}}
	if _, _, err := Compile(e, SQLite); err == nil || err.Error() != "the filter is too large" {
		t.Errorf("got %v, want 'the filter is too large'", err)
	}
}

// A store that keeps attributes in another form reads every attribute
// through its own expression, whatever the filter reaches them by.
func TestAttributesText(t *testing.T) {
	e, err := Parse(`metadata['topic'] == 'billing' and llm.token_count.prompt > 5 and 'x' in attributes and tool.name == 't'`)
	if err != nil {
		t.Fatal(err)
	}
	sqlText, _, err := Compile(e, SQLite.WithAttributesText("unpack(s.attributes)"))
	if err != nil {
		t.Fatal(err)
	}
	bare := strings.ReplaceAll(sqlText, "unpack(s.attributes)", "")
	if strings.Contains(bare, "attributes") {
		t.Errorf("attributes read directly in %s", sqlText)
	}
	if n := strings.Count(sqlText, "unpack(s.attributes)"); n < 4 {
		t.Errorf("attributes read through the expression %d times, want one per condition at least: %s", n, sqlText)
	}
}

func TestLooksUpIDs(t *testing.T) {
	d := SQLite.WithSpanRows(func(n int) string { return "SELECT id FROM span_ids LIMIT " + strconv.Itoa(n) })
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{"trace_id == '0af7651916cd43dd8448eb211c80319c'", true},
		{"span_id in ['b7ad6b7169203331', '00f067aa0ba902b7'] and latency_ms > 10", true},
		{"context.span_id == 'b7ad6b7169203331'", true},
		{"trace_id != '0af7651916cd43dd8448eb211c80319c'", false},
		{"span_kind == 'LLM' and latency_ms > 4000", false},
		{"parent_id == 'b7ad6b7169203331'", false},
		{"trace_id == '0af7651916cd43dd8448eb211c80319c' or status_code == 'ERROR'", false},
		{"trace_id == '0af7651916cd43dd8448eb211c80319c' or span_id == 'b7ad6b7169203331'", true},
		{"(trace_id == '0af7651916cd43dd8448eb211c80319c' or status_code == 'ERROR') and span_id == 'b7ad6b7169203331'", true},
		{"not (trace_id == '0af7651916cd43dd8448eb211c80319c' and latency_ms > 10)", false},
	} {
		e, err := Parse(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if got := LooksUpIDs(e, d); got != tc.want {
			t.Errorf("LooksUpIDs(%s) = %v, want %v", tc.expr, got, tc.want)
		}
	}
}
