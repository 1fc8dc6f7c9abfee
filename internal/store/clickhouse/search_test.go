package clickhouse

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	ch "github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loupe-dev/loupe/internal/store/clickhouse/chtest"
	"github.com/loupe-dev/loupe/internal/store/storetest"
)

func TestSearchCondition(t *testing.T) {
	for _, tc := range []struct {
		typed, cond string
		params      map[string]string
	}{
		{"Refund", "(hasAllTokens(s.search, [{p3:String}]) AND position(s.search, {p4:String}) > 0)",
			map[string]string{"p3": "refund", "p4": " refund "}},
		{`"quick brown" fox quick`, "(hasAllTokens(s.search, [{p3:String}, {p4:String}, {p5:String}]) AND position(s.search, {p6:String}) > 0 AND position(s.search, {p7:String}) > 0 AND position(s.search, {p8:String}) > 0)",
			map[string]string{"p3": "quick", "p4": "brown", "p5": "fox", "p6": " quick brown ", "p7": " fox ", "p8": " quick "}},
		{"CAFÉ col:value", "(hasAllTokens(s.search, [{p3:String}, {p4:String}, {p5:String}]) AND position(s.search, {p6:String}) > 0 AND position(s.search, {p7:String}) > 0)",
			map[string]string{"p3": "cafe", "p4": "col", "p5": "value", "p6": " cafe ", "p7": " col value "}},
		{`( ) : * ^ - "" NOT AND`, "(hasAllTokens(s.search, [{p3:String}, {p4:String}]) AND position(s.search, {p5:String}) > 0 AND position(s.search, {p6:String}) > 0)",
			map[string]string{"p3": "not", "p4": "and", "p5": " not ", "p6": " and "}},
	} {
		cond, params, ok := searchCondition(tc.typed, 3)
		if !ok || cond != tc.cond || fmt.Sprint(params) != fmt.Sprint(tc.params) {
			t.Errorf("searchCondition(%q) = %s %v %v\nwant %s %v", tc.typed, cond, params, ok, tc.cond, tc.params)
		}
	}
	for _, typed := range []string{"", "   ", `"`, "*", "\x00", "- ^"} {
		if cond, _, ok := searchCondition(typed, 1); ok {
			t.Errorf("searchCondition(%q) = %s, want nothing to match", typed, cond)
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
		cond, params, ok := searchCondition(typed, 2)
		if !ok {
			return nil, nil
		}
		params["p1"] = "search"
		rows, err := conn.Query(ch.Context(ctx, ch.WithParameters(params)),
			"SELECT s.span_id FROM spans s FINAL WHERE s.project = {p1:String} AND "+cond+" ORDER BY s.start_time DESC")
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
	storetest.RunSearchCases(t, func(typed string) ([]string, error) { return search(ctx, typed) })

	// The index does the narrowing: a word in one span reads that span's
	// granules alone.
	cond, params, _ := searchCondition("eviction", 1)
	rows, err := conn.Query(ch.Context(ctx, ch.WithParameters(params)), "EXPLAIN indexes = 1 SELECT s.span_id FROM spans s WHERE "+cond)
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
