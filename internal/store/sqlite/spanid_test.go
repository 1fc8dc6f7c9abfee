package sqlite

import (
	"context"
	"database/sql"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/store"
)

// seedV9 writes, through the schema before migration 0010, a project, a
// trace, spans in three blocks of spans_span_id and an annotation.
func seedV9(t *testing.T, path string) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", dsn(path, "_pragma=journal_mode(WAL)"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	old := &Store{write: db, log: slog.New(slog.DiscardHandler)}
	if err := old.migrateTo(ctx, 9); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`INSERT INTO projects (id, name, created_at, updated_at) VALUES (7, 'p', 0, 0)`,
		`INSERT INTO traces (id, project_id, trace_id, start_time, end_time, span_count)
			VALUES (3, 7, '0102030405060708090a0b0c0d0e0f10', 100, 400, 3)`,
		`INSERT INTO spans (id, trace_rowid, project_id, span_id, parent_id, name, span_kind, start_time, end_time,
			status_code, status_message, attributes, cost_status)
			VALUES (5, 3, 7, 'a000000000000001', NULL, 'root', 'AGENT', 100, 400, 'OK', '', '{"k":1}', NULL),
			       (70000, 3, 7, 'a000000000000002', 'a000000000000001', 'llm', 'LLM', 200, 300, 'OK', '', '{}', 'no_price'),
			       (200000, 3, 7, 'a000000000000003', 'a000000000000001', 'tool', 'TOOL', 300, 350, 'ERROR', 'boom', '{}', NULL)`,
		`INSERT INTO span_annotations (span_rowid, name, label, annotator_kind, created_at, updated_at)
			VALUES (70000, 'correct', 'yes', 'HUMAN', 0, 0)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// openSeededV9 opens, and so migrates, a database seeded by seedV9.
func openSeededV9(t *testing.T) *Store {
	t.Helper()
	dir := t.TempDir()
	seedV9(t, filepath.Join(dir, FileName))
	s, err := Open(context.Background(), dir, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestMigrationKeepsSpansAndAnnotations(t *testing.T) {
	ctx := context.Background()
	s := openSeededV9(t)

	var version int
	if err := s.read.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version < 10 {
		t.Fatalf("user_version %d after opening, want at least 10", version)
	}
	// A database keeps the page size it was created with.
	if size := pragmaInt(t, s.read, "page_size"); size != 4096 {
		t.Errorf("page_size %d after opening a 4096-byte-page database", size)
	}
	if cache := pragmaInt(t, s.write, "cache_size"); cache != -32768 {
		t.Errorf("writer's cache_size %d on 4096-byte pages, want -32768 (32 MiB)", cache)
	}
	indexes := indexNames(t, s, "spans")
	want := []string{"spans_project_cost", "spans_project_errors", "spans_project_llm", "spans_project_roots", "spans_project_rowid", "spans_project_start_bucket",
		"spans_project_tokens", "spans_span_id", "spans_tool_model_calls", "spans_trace_parent", "spans_trace_span"}
	if !slices.Equal(indexes, want) {
		t.Errorf("indexes on spans: %v, want %v (no UNIQUE on span_id alone)", indexes, want)
	}

	sp, err := s.SpanByID(ctx, "a000000000000002")
	if err != nil {
		t.Fatal(err)
	}
	if sp.RowID != 70000 || sp.Name != "llm" || sp.ParentID != "a000000000000001" {
		t.Errorf("span after migration: row %d %q parent %q", sp.RowID, sp.Name, sp.ParentID)
	}
	var annotated int64
	if err := s.read.QueryRowContext(ctx, "SELECT span_rowid FROM span_annotations WHERE name = 'correct'").Scan(&annotated); err != nil {
		t.Fatalf("annotation after migration: %v", err)
	}
	if annotated != 70000 {
		t.Errorf("annotation points at span row %d, want 70000", annotated)
	}
	// The trigger that keeps search in step with deletes came back.
	var trigger int
	if err := s.read.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger' AND name = 'span_search_forget'").Scan(&trigger); err != nil || trigger != 1 {
		t.Errorf("span_search_forget trigger: %d, %v", trigger, err)
	}
	// Foreign keys are enforced again once the migrations are done.
	if _, err := s.write.ExecContext(ctx, `INSERT INTO span_annotations (span_rowid, name, annotator_kind, created_at, updated_at)
		VALUES (12345, 'orphan', 'HUMAN', 0, 0)`); err == nil {
		t.Error("an annotation of a missing span was accepted after migrating")
	}
}

// indexNames lists the indexes on table, by name.
func indexNames(t *testing.T, s *Store, table string) []string {
	t.Helper()
	return column[string](t, s, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name", table)
}

// column reads the one column query selects, a value a row.
func column[T any](t *testing.T, s *Store, query string, args ...any) []T {
	t.Helper()
	rows, err := s.read.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var values []T
	for rows.Next() {
		var v T
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		values = append(values, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return values
}

func TestSpanIDLookupProbesEveryBlock(t *testing.T) {
	ctx := context.Background()
	s := openSeededV9(t)

	ids := []string{"a000000000000001", "a000000000000002", "a000000000000003", "ffffffffffffffff"}
	got, err := s.ExistingSpanIDs(ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, ids[:3]) {
		t.Errorf("ExistingSpanIDs = %v, want %v", got, ids[:3])
	}
	recs, err := s.Spans(ctx, store.SpanQuery{ProjectID: 7, Limit: 10, SpanIDs: []string{"a000000000000003", "a000000000000001"}})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range recs {
		names = append(names, r.Name)
	}
	if !slices.Equal(names, []string{"tool", "root"}) {
		t.Errorf("spans by span_id[]: %v, want [tool root]", names)
	}
	if _, err := s.SpanByID(ctx, "ffffffffffffffff"); err == nil {
		t.Error("SpanByID found a span that was never stored")
	}
	label := "ok"
	ann, err := s.UpsertAnnotations(ctx, []store.Annotation{{Kind: store.SpanAnnotation, SpanID: "a000000000000003",
		Name: "checked", AnnotatorKind: "HUMAN", Label: &label}})
	if err != nil || len(ann) != 1 {
		t.Fatalf("annotate the span of the newest block: %v %v", ann, err)
	}
}

// A lookup must name the index's block expression exactly, or SQLite
// reads the whole table.
func TestBlockLookupsUseTheirIndexes(t *testing.T) {
	s := openTempStore(t)
	for _, tc := range []struct {
		lookup func(columns string, n int) string
		index  string
		id     string
	}{
		{spanIDLookup, "spans_span_id", "a000000000000001"},
		{traceIDLookup, "traces_trace_id", strings.Repeat("5", 32)},
	} {
		for _, n := range []int{1, 3} {
			args := make([]any, n)
			for i := range args {
				args[i] = tc.id
			}
			plan := queryPlan(t, s, tc.lookup("id", n), args...)
			if !strings.Contains(plan, "INDEX "+tc.index) {
				t.Errorf("lookup of %d ids does not use %s:\n%s", n, tc.index, plan)
			}
		}
	}
}

// A re-sent batch finds its stored spans through spans_span_id and their
// traces by row id, never by walking the traces.
func TestStoredSpansFoundThroughBlocks(t *testing.T) {
	s := openTempStore(t)
	plan := queryPlan(t, s, storedSpansSQL(2), "a000000000000001", "a000000000000002")
	if !strings.Contains(plan, "INDEX spans_span_id") || !strings.Contains(plan, "SEARCH t USING INTEGER PRIMARY KEY") ||
		strings.Contains(plan, "SCAN t") {
		t.Errorf("spans stored before are not looked up block by block, then their traces by row id:\n%s", plan)
	}
}
