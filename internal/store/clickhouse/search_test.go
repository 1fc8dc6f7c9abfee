package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

func TestSearchCondition(t *testing.T) {
	for _, tc := range []struct {
		typed, cond string
		args        []string
	}{
		{"Refund", "hasAllTokens(s.search, [{p2:String}]) AND position(s.search, {p3:String}) > 0",
			[]string{"refund", " refund "}},
		{`"quick brown" fox quick`, "hasAllTokens(s.search, [{p2:String}, {p3:String}, {p4:String}]) AND position(s.search, {p5:String}) > 0 AND position(s.search, {p6:String}) > 0 AND position(s.search, {p7:String}) > 0",
			[]string{"quick", "brown", "fox", " quick brown ", " fox ", " quick "}},
		{"CAFÉ col:value", "hasAllTokens(s.search, [{p2:String}, {p3:String}, {p4:String}]) AND position(s.search, {p5:String}) > 0 AND position(s.search, {p6:String}) > 0",
			[]string{"cafe", "col", "value", " cafe ", " col value "}},
		{`( ) : * ^ - "" NOT AND`, "hasAllTokens(s.search, [{p2:String}, {p3:String}]) AND position(s.search, {p4:String}) > 0 AND position(s.search, {p5:String}) > 0",
			[]string{"not", "and", " not ", " and "}},
		{"東京", "hasAllTokens(s.search, [{p2:String}, {p3:String}]) AND position(s.search, {p4:String}) > 0",
			[]string{"東", "京", " 東 京 "}},
	} {
		w := &where{}
		w.arg("Int64", int64(1))
		if !w.search(tc.typed) {
			t.Errorf("search(%q) matches nothing", tc.typed)
			continue
		}
		var args []string
		for _, a := range w.args[1:] {
			args = append(args, a.(driver.NamedValue).Value.(string))
		}
		if w.conds[0] != tc.cond || fmt.Sprint(args) != fmt.Sprint(tc.args) {
			t.Errorf("search(%q) = %s %q\nwant %s %q", tc.typed, w.conds[0], args, tc.cond, tc.args)
		}
	}
	for _, typed := range []string{"", "   ", `"`, "*", "\x00", "- ^"} {
		w := &where{}
		if w.search(typed) || len(w.conds) > 0 || len(w.args) > 0 {
			t.Errorf("search(%q) = %v, want nothing to match", typed, w.conds)
		}
	}
}

var granules = regexp.MustCompile(`Granules: (\d+)/(\d+)`)

// TestSearchCases runs the shared search cases on a real ClickHouse, over
// a spans table with the search column and text index the store declares.
func TestSearchCases(t *testing.T) {
	conn := chtest.Conn(t, chtest.URL(t))
	ctx := context.Background()
	ddl := "CREATE TABLE spans (id Int64, project String, span_id String, start_time Int64, " + searchColumn + ", " + searchIndex +
		") ENGINE = ReplacingMergeTree ORDER BY (project, id) SETTINGS index_granularity = 2"
	if err := conn.Exec(ctx, ddl); err != nil {
		t.Fatalf("%s: %v", ddl, err)
	}
	// Each span in a part of its own, written twice, so the index has
	// parts to skip and a search must not match a span twice.
	for range 2 {
		for i, sp := range storetest.SearchSpans() {
			if err := conn.Exec(ctx, "INSERT INTO spans VALUES (?, ?, ?, ?, ?)", int64(i+1), sp.Project, sp.SpanID, sp.StartTime, searchText(&sp)); err != nil {
				t.Fatal(err)
			}
		}
	}
	search := func(ctx context.Context, typed string) ([]string, error) {
		w := &where{}
		w.add("s.project = " + w.arg("String", "search"))
		if !w.search(typed) {
			return nil, nil
		}
		rows, err := conn.Query(ctx, "SELECT s.span_id FROM spans s FINAL"+w.clause()+" ORDER BY s.start_time DESC", w.args...)
		if err != nil {
			return nil, fmt.Errorf("%w\n%s", err, w.clause())
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
	storetest.RunSearchCases(t, func(typed string) ([]string, error) { return search(ctx, typed) })

	// The index does the narrowing: a word in one span reads that span's
	// granules alone.
	w := &where{}
	w.search("eviction")
	rows, err := conn.Query(ctx, "EXPLAIN indexes = 1 SELECT s.span_id FROM spans s"+w.clause(), w.args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		plan.WriteString(line + "\n")
	}
	p := plan.String()
	_, skip, _ := strings.Cut(p, "Name: spans_search")
	var read, all int
	if m := granules.FindStringSubmatch(skip); m != nil {
		read, _ = strconv.Atoi(m[1])
		all, _ = strconv.Atoi(m[2])
	}
	// Its two copies may not be merged yet.
	if read < 1 || read > 2 || read >= all {
		t.Errorf("the text index does not narrow the search to the granules of its one span:\n%s", p)
	}
}
