package web

import (
	"fmt"
	"math"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/store"
)

func TestHumanDuration(t *testing.T) {
	tests := []struct {
		ns   int64
		want string
	}{
		{0, "0 ns"}, {-5, "0 ns"}, {850, "850 ns"}, {12_300, "12 µs"}, {4_250_000, "4.2 ms"}, {5_000_000, "5 ms"},
		{310_400_000, "310 ms"}, {4_200_000_000, "4.2 s"}, {18_000_000_000, "18 s"}, {125_000_000_000, "2 m 05 s"},
		{int64(3*time.Hour + 7*time.Minute), "3 h 07 m"},
	}
	for _, tc := range tests {
		if got := humanDuration(tc.ns); got != tc.want {
			t.Errorf("humanDuration(%d) = %q, want %q", tc.ns, got, tc.want)
		}
	}
}

func TestNumbers(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{{0, "0"}, {999, "999"}, {1000, "1\u202f000"}, {12480, "12\u202f480"}, {-1234567, "-1\u202f234\u202f567"}}
	for _, tc := range tests {
		if got := groupDigits(tc.n); got != tc.want {
			t.Errorf("groupDigits(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	pcts := []struct {
		part, whole int64
		want        string
	}{{0, 10, "0%"}, {1, 0, "0%"}, {1, 3, "33%"}, {1, 24, "4.2%"}, {1, 1000, "0.1%"}, {5, 10, "50%"}}
	for _, tc := range pcts {
		if got := percent(tc.part, tc.whole); got != tc.want {
			t.Errorf("percent(%d, %d) = %q, want %q", tc.part, tc.whole, got, tc.want)
		}
	}
}

func TestParseTimeRange(t *testing.T) {
	now := time.Date(2026, 5, 1, 10, 37, 42, 0, time.UTC)
	tests := []struct {
		query string
		want  timeRange
	}{
		{"", timeRange{Preset: "7d", Start: time.Date(2026, 4, 24, 10, 0, 0, 0, time.UTC)}},
		{"range=15m", timeRange{Preset: "15m", Start: time.Date(2026, 5, 1, 10, 22, 0, 0, time.UTC)}},
		{"range=1h", timeRange{Preset: "1h", Start: time.Date(2026, 5, 1, 9, 37, 0, 0, time.UTC)}},
		{"range=12h", timeRange{Preset: "12h", Start: time.Date(2026, 4, 30, 22, 0, 0, 0, time.UTC)}},
		{"range=bogus", timeRange{Preset: "7d", Start: time.Date(2026, 4, 24, 10, 0, 0, 0, time.UTC)}},
		{"range=custom&start=2026-04-01T08:00&end=2026-04-02T09:30", timeRange{Preset: "custom",
			Start: time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC), End: time.Date(2026, 4, 2, 9, 30, 0, 0, time.UTC)}},
		{"start=2026-04-01T08:00", timeRange{Preset: "custom", Start: time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)}},
		{"range=custom&start=junk", timeRange{Preset: "7d", Start: time.Date(2026, 4, 24, 10, 0, 0, 0, time.UTC)}},
	}
	for _, tc := range tests {
		q, _ := url.ParseQuery(tc.query)
		if diff := cmp.Diff(tc.want, parseTimeRange(q, now)); diff != "" {
			t.Errorf("parseTimeRange(%q) (-want +got):\n%s", tc.query, diff)
		}
	}
}

func TestPageURL(t *testing.T) {
	u := pageURL{Path: "/projects/p", Query: url.Values{"range": {"1h"}, "cursor": {"42"}, "sort": {"latency"}}}
	tests := []struct{ got, want string }{
		{u.With("dir", "asc"), "/projects/p?dir=asc&range=1h&sort=latency"},
		{u.With("sort", ""), "/projects/p?range=1h"},
		{u.With("cursor", "7"), "/projects/p?cursor=7&range=1h&sort=latency"},
		{u.At("/projects/p/spans", "sort", ""), "/projects/p/spans?range=1h"},
		{u.RangeQuery(), "?range=1h"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestGRPCTarget(t *testing.T) {
	tests := []struct{ addr, host, want string }{
		{"127.0.0.1:4317", "localhost:6006", "127.0.0.1:4317"},
		{"0.0.0.0:4317", "loupe.internal:6006", "loupe.internal:4317"},
		{":4317", "10.0.0.5", "10.0.0.5:4317"},
		{"[::]:4317", "[fd00::1]:6006", "[fd00::1]:4317"},
	}
	for _, tc := range tests {
		if got := grpcTarget(tc.addr, tc.host); got != tc.want {
			t.Errorf("grpcTarget(%q, %q) = %q, want %q", tc.addr, tc.host, got, tc.want)
		}
	}
}

// treeShape writes rows as "depth:name" ("+" marks an open row, "…n" a
// "show more" row for n spans).
func treeShape(rows []treeRow) []string {
	var out []string
	for _, r := range rows {
		switch {
		case r.More:
			out = append(out, fmt.Sprintf("%d:…%d", r.Depth, r.Remaining))
		case r.Fold:
			open := ""
			if r.Open {
				open = "+"
			}
			out = append(out, fmt.Sprintf("%d:%s%s×%d", r.Depth, open, r.Name, r.Count))
		case r.Open:
			out = append(out, fmt.Sprintf("%d:+%s", r.Depth, r.Name))
		default:
			out = append(out, fmt.Sprintf("%d:%s", r.Depth, r.Name))
		}
	}
	return out
}

func ts(id, parent, name string, start, end int64, status string) store.TreeSpan {
	return store.TreeSpan{SpanID: id, ParentID: parent, Name: name, StartTime: start, EndTime: end, Status: status}
}

func TestTreeSmall(t *testing.T) {
	tree := buildTree([]store.TreeSpan{
		ts("a", "", "agent", 0, 1000, "OK"),
		ts("b", "a", "llm", 10, 400, "OK"),
		ts("c", "a", "tool", 420, 700, "OK"),
		ts("d", "c", "retrieval", 430, 600, "ERROR"),
		ts("x", "gone", "orphan", 800, 900, "OK"),
	})
	rows, ok := tree.window(windowQuery{Depth: -1, Selected: "d"})
	if !ok {
		t.Fatal("window failed")
	}
	want := []string{"0:+agent", "1:llm", "1:+tool", "2:retrieval", "0:orphan"}
	if diff := cmp.Diff(want, treeShape(rows)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if !rows[0].ErrBelow || !rows[2].ErrBelow || rows[1].ErrBelow || !rows[3].Error {
		t.Errorf("error marks: %+v", rows)
	}
	if !rows[3].Selected || !rows[4].Orphan {
		t.Errorf("selected, orphan: %+v", rows)
	}
	if rows[0].Left != 0 || rows[0].Width != 100 || rows[2].Left != 42 || math.Abs(rows[2].Width-28) > 1e-9 {
		t.Errorf("bars: root %v+%v, tool %v+%v", rows[0].Left, rows[0].Width, rows[2].Left, rows[2].Width)
	}
	if diff := cmp.Diff([]tick{{Pct: 0, Label: "0", Start: true}, {Pct: 50, Label: "0.5 µs"}, {Pct: 100, Label: "1.0 µs", Edge: true}}, tree.ticks()); diff != "" {
		t.Errorf("ticks (-want +got):\n%s", diff)
	}
}

func TestTreeHuge(t *testing.T) {
	// A root with 2000 children, each with 3 children of its own, and one
	// big child holding 300 spans: 8301 spans.
	var spans []store.TreeSpan
	spans = append(spans, ts("root", "", "root", 0, 1e9, "OK"))
	big := "c0"
	for i := range 2000 {
		c := fmt.Sprintf("c%d", i)
		spans = append(spans, ts(c, "root", c, int64(i), int64(i)+10, "OK"))
		n := 3
		if c == big {
			n = 300
		}
		for j := range n {
			spans = append(spans, ts(fmt.Sprintf("%s.%d", c, j), c, "leaf", int64(i), int64(i)+1, "OK"))
		}
	}
	tree := buildTree(spans)
	rows, _ := tree.window(windowQuery{Depth: -1})
	if len(rows) > treeRowBudget+2 {
		t.Fatalf("%d rows drawn, want at most the budget", len(rows))
	}
	shape := treeShape(rows)
	if shape[0] != "0:+root" || shape[1] != "1:c0" || shape[2] != "1:+c1" || shape[3] != "2:leaf" {
		t.Errorf("first rows = %v: want the root open, the 300-span child closed, small ones open", shape[:4])
	}
	if last := rows[len(rows)-1]; !last.More || last.ParentID != "root" || last.Offset+last.Remaining != 2000 {
		t.Errorf("last row = %+v, want a show-more row for the rest of root's children", last)
	}
	// The rest of the list, from where the first window stopped.
	more, ok := tree.window(windowQuery{Parent: "root", Offset: rows[len(rows)-1].Offset, Depth: -1})
	if !ok || len(more) == 0 || more[0].Depth != 1 {
		t.Fatalf("show more = %v, %v", ok, treeShape(more[:1]))
	}
	// Opening the closed child draws its children.
	// Opening the closed child draws its 300 leaves as one fold, and
	// opening the fold draws them one below it.
	kids, _ := tree.window(windowQuery{Parent: "c0", Depth: -1})
	if len(kids) != 1 || !kids[0].Fold || kids[0].Count != 300 || kids[0].Depth != 2 {
		t.Errorf("children of c0 = %+v, want one fold of 300 at depth 2", kids)
	}
	kids, _ = tree.window(windowQuery{Parent: "c0", Offset: 0, Limit: 300, Depth: 3, NoFold: true})
	if len(kids) != 300 || kids[0].Depth != 3 || kids[0].Fold {
		t.Errorf("the fold's members = %d rows at depth %d, want 300 at depth 3", len(kids), kids[0].Depth)
	}
	// A selected span deep in a closed subtree opens the way to it.
	rows, _ = tree.window(windowQuery{Depth: -1, Selected: "c0.7"})
	found := false
	for _, r := range rows {
		found = found || r.Selected && r.SpanID == "c0.7"
	}
	if !found {
		t.Error("the selected span is not drawn")
	}
	if _, ok := tree.window(windowQuery{Parent: "missing", Depth: -1}); ok {
		t.Error("window of an unknown parent succeeded")
	}
}

func TestTreeCycleDoesNotHang(t *testing.T) {
	tree := buildTree([]store.TreeSpan{
		ts("a", "", "root", 0, 10, "OK"),
		ts("b", "c", "b", 1, 2, "OK"),
		ts("c", "b", "c", 1, 2, "OK"),
		ts("self", "self", "self", 3, 4, "OK"),
	})
	rows, _ := tree.window(windowQuery{Depth: -1, Selected: "b"})
	if diff := cmp.Diff([]string{"0:root", "0:self"}, treeShape(rows)); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func TestPlural(t *testing.T) {
	tests := []struct {
		n         any
		one, many string
		want      string
	}{
		{0, "span", "spans", "0 spans"},
		{1, "span", "spans", "1 span"},
		{int64(1), "model call has", "model calls have", "1 model call has"},
		{int64(2), "model call has", "model calls have", "2 model calls have"},
		{int32(12480), "token", "tokens", "12\u202f480 tokens"},
		{uint64(1), "entry", "entries", "1 entry"},
		{-1, "day", "days", "-1 days"},
	}
	for _, tc := range tests {
		got, err := pluralOf(tc.n, tc.one, tc.many)
		if err != nil || got != tc.want {
			t.Errorf("plural(%v, %q, %q) = %q, %v; want %q", tc.n, tc.one, tc.many, got, err, tc.want)
		}
	}
	if _, err := pluralOf("3", "span", "spans"); err == nil {
		t.Error("plural of a string: no error")
	}
}
