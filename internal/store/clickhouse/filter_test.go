package clickhouse

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"
	"github.com/jackc/pgx/v5"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
	"github.com/loupe-dev/loupe/internal/store/postgres"
	"github.com/loupe-dev/loupe/internal/store/postgres/pgtest"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

// Every value a filter can hold reaches ClickHouse as the parameter it was,
// whatever it contains.
func TestParametersRoundTrip(t *testing.T) {
	conn := chtest.Conn(t, chtest.URL(t))
	for _, v := range []any{
		"plain", "", `' OR 1=1 --`, `\' OR 1=1 --`, `\N`, `\\`, "tab\there", "new\nline", "nul\x00byte", `{p1:String}`,
		"東京 é", "\r\x01\b", int64(-7), int64(1) << 62, 0.1, -2.5e-9, 1e300, 42.0, true, false, nil,
	} {
		args, err := namedArgs([]any{sql.Named("p1", v)})
		if err != nil {
			t.Fatal(err)
		}
		typ := map[string]string{"string": "String", "int64": "Int64", "float64": "Float64", "bool": "Bool", "<nil>": "Nullable(String)"}[fmt.Sprintf("%T", v)]
		var got *string
		if err := conn.QueryRow(context.Background(), "SELECT toString({p1:"+typ+"})", args...).Scan(&got); err != nil {
			t.Fatalf("%q: %v", v, err)
		}
		var want *string
		switch v := v.(type) {
		case nil:
		case string:
			want = &v
		case bool:
			s := fmt.Sprint(v)
			want = &s
		default:
			// The number as ClickHouse writes it.
			var s string
			if err := conn.QueryRow(context.Background(), "SELECT toString(CAST("+fmt.Sprint(v)+" AS "+typ+"))").Scan(&s); err != nil {
				t.Fatal(err)
			}
			want = &s
		}
		if (got == nil) != (want == nil) || got != nil && *got != *want {
			t.Errorf("%T %#v came back as %v", v, v, got)
		}
	}
}

func mustParse(t *testing.T, filter string) query.Expr {
	t.Helper()
	e, err := query.Parse(filter)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// contractTables are the tables compiled filters read, with the column
// names and meanings of PostgreSQL's and the types the ClickHouse store
// gives them; the test copies PostgreSQL's rows into them.
var contractTables = []struct{ name, columns, order string }{
	{"spans", `id Int64, trace_rowid Int64, project_id Int64, span_id String, parent_id Nullable(String), name String,
		span_kind LowCardinality(String), start_time Int64, end_time Int64, status_code LowCardinality(String), status_message String,
		model_name Nullable(String), provider Nullable(String), session_id Nullable(String), user_id Nullable(String),
		input_value Nullable(String), input_mime_type Nullable(String), output_value Nullable(String), output_mime_type Nullable(String),
		prompt_tokens Nullable(Int64), completion_tokens Nullable(Int64), total_tokens Nullable(Int64), cache_read_tokens Nullable(Int64),
		cache_write_tokens Nullable(Int64), reasoning_tokens Nullable(Int64), attributes String, events Nullable(String),
		cost_total Nullable(Float64), cost_prompt Nullable(Float64), cost_completion Nullable(Float64), error_group Nullable(String)`, "project_id, id"},
	{"traces", `id Int64, project_id Int64, trace_id String, session_rowid Nullable(Int64), start_time Int64, end_time Int64,
		root_span_id Nullable(String), span_count Int64, error_count Int64, llm_span_count Int64, prompt_tokens Int64,
		completion_tokens Int64, total_tokens Int64, user_id Nullable(String), cost_total Float64, cost_prompt Float64, cost_completion Float64`, "project_id, id"},
	{"sessions", `id Int64, project_id Int64, session_id String, start_time Int64, end_time Int64, trace_count Int64,
		prompt_tokens Int64, completion_tokens Int64, total_tokens Int64, user_id Nullable(String), cost_total Float64`, "project_id, id"},
	{"span_annotations", `span_rowid Int64, name String, label Nullable(String), score Nullable(Float64), explanation Nullable(String), identifier String`, "span_rowid, name, identifier"},
	{"trace_annotations", `trace_rowid Int64, name String, label Nullable(String), score Nullable(Float64), explanation Nullable(String), identifier String`, "trace_rowid, name, identifier"},
	{"session_annotations", `session_rowid Int64, name String, label Nullable(String), score Nullable(Float64), explanation Nullable(String), identifier String`, "session_rowid, name, identifier"},
}

// TestFilterCasesOnContractTables runs the compiled SQL of every filter case
// on a real ClickHouse, over tables holding what the PostgreSQL store wrote
// for the cases' spans, column for column: the SQL means on ClickHouse what
// it means on PostgreSQL, apart from the store that fills the tables.
func TestFilterCasesOnContractTables(t *testing.T) {
	list := contractTablesList(t)
	storetest.RunFilterCases(t, list)

	// Long chains and deep nesting run like any other filter.
	ors := strings.Repeat("span_id == 's05' or ", 149) + "span_id == 's05'"
	for _, tc := range []struct{ filter, want string }{
		{ors, "s05"},
		{"calc.neg" + strings.Repeat(" % 5", 60) + " == -2", "s11"},
		{strings.Repeat("float(str(", 40) + "calc.neg" + strings.Repeat("))", 40) + " == -7", "s11"},
	} {
		got, err := list(context.Background(), storetest.FilterGrains()[0], mustParse(t, tc.filter))
		if err != nil || len(got) != 1 || got[0] != tc.want {
			t.Errorf("%.40s…: %v, %v; want [%s]", tc.filter, got, err, tc.want)
		}
	}
}

// FuzzFilterSQL runs whatever parses on a real ClickHouse over the contract
// tables: ClickHouse never rejects the SQL of a filter the check passes.
func FuzzFilterSQL(f *testing.F) {
	storetest.FuzzFilterLists(f, contractTablesList(f))
}

// contractTablesList fills the contract tables and returns what lists a
// filter's selection from them.
func contractTablesList(t testing.TB) func(ctx context.Context, g storetest.FilterGrain, e query.Expr) ([]string, error) {
	conn := chtest.Conn(t, chtest.URL(t))
	pgURL := pgtest.URL(t)
	ctx := context.Background()
	pg, err := postgres.Open(ctx, pgURL, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	pid := storetest.WriteFilterFixture(t, pg)

	src, err := pgx.Connect(ctx, pgURL)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(ctx)
	for _, tbl := range contractTables {
		ddl := "CREATE TABLE " + tbl.name + " (" + tbl.columns + ") ENGINE = ReplacingMergeTree ORDER BY (" + tbl.order + ")"
		if err := conn.Exec(ctx, ddl); err != nil {
			t.Fatalf("%s: %v", ddl, err)
		}
		var names []string
		for _, col := range strings.Split(tbl.columns, ",") {
			names = append(names, strings.Fields(col)[0])
		}
		// JSONB columns are copied as their text, as the store keeps them.
		sel := strings.Join(names, ", ")
		sel = strings.Replace(sel, "attributes", "attributes::text AS attributes", 1)
		sel = strings.Replace(sel, "events", "events::text AS events", 1)
		rows, err := src.Query(ctx, "SELECT row_to_json(x)::text FROM (SELECT "+sel+" FROM "+tbl.name+") x")
		if err != nil {
			t.Fatal(err)
		}
		var data strings.Builder
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			data.WriteString(line + "\n")
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		if data.Len() == 0 {
			t.Fatalf("no rows in PostgreSQL's %s", tbl.name)
		}
		if err := conn.Exec(ctx, "INSERT INTO "+tbl.name+" FORMAT JSONEachRow\n"+data.String()); err != nil {
			t.Fatalf("copy %s: %v", tbl.name, err)
		}
	}
	// The copy twice over: a row written again must not be matched twice,
	// nor change what a filter selects.
	for _, tbl := range contractTables {
		if err := conn.Exec(ctx, "INSERT INTO "+tbl.name+" SELECT * FROM "+tbl.name); err != nil {
			t.Fatal(err)
		}
	}

	// These tables have PostgreSQL's layout, roll-ups in the rows, which
	// the dialect reads as it is.
	list := func(ctx context.Context, g storetest.FilterGrain, e query.Expr) ([]string, error) {
		cond, args, err := g.Compile(e, query.ClickHouse(2))
		if err != nil {
			return nil, fmt.Errorf("%v: %w", err, store.ErrInvalidArgument)
		}
		named, err := namedArgs(args)
		if err != nil {
			return nil, err
		}
		rows, err := conn.Query(ctx, selects[g.Name()]+"("+cond+")", append([]any{ch.Named("p1", pid)}, named...)...)
		if err != nil {
			return nil, fmt.Errorf("%w\n%s", err, cond)
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
	return list
}

// selects list what a filter of each grain selects from the contract tables.
var selects = map[string]string{
	"span":    "SELECT s.span_id FROM spans s FINAL WHERE s.project_id = {p1:Int64} AND ",
	"trace":   "SELECT tr.trace_id FROM traces tr FINAL WHERE tr.project_id = {p1:Int64} AND ",
	"session": "SELECT se.session_id FROM sessions se FINAL WHERE se.project_id = {p1:Int64} AND ",
}
