package web

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/store"
)

func TestTickLabels(t *testing.T) {
	const ms, s, m, h = int64(1e6), int64(1e9), int64(60e9), int64(3600e9)
	tests := []struct {
		from, to int64
		width    float64
		want     string
	}{
		// The trace that drew "14 m 0318 m 44 s": a clock, labels apart.
		{0, 18*m + 44*s, 240, "0 5 m 10 m 15 m"},
		{0, 18*m + 44*s, 900, "0 1 m 2 m 3 m 4 m 5 m 6 m 7 m 8 m 9 m 10 m 11 m 12 m 13 m 14 m 15 m 16 m 17 m 18 m"},
		{0, 800 * ms, 240, "0 200 ms 400 ms 600 ms"},
		{0, 4200 * ms, 240, "0 1 s 2 s 3 s 4 s"},
		{0, 4200 * ms, 600, "0 0.5 s 1.0 s 1.5 s 2.0 s 2.5 s 3.0 s 3.5 s 4.0 s"},
		{0, 18400 * ms, 240, "0 5 s 10 s 15 s"},
		{0, 3 * h, 240, "0 1 h 2 h 3 h"},
		{0, 90 * m, 240, "0 30 m 1 h 1 h 30 m"},
		{0, 5000, 240, "0 1 µs 2 µs 3 µs 4 µs"},
		// A zoomed window labels its own stretch, in the trace's units.
		{14*m + 2*s, 14*m + 2*s + 800*ms, 300, "14:02.0 14:02.5"},
		{95 * s, 97 * s, 120, "1:35 1:36 1:37"},
		{14*m + 2*s, 14*m + 4*s, 240, "14:02 14:03 14:04"},
		{0, 0, 240, "0"},
	}
	for _, tc := range tests {
		ticks := axisTicks(tc.from, tc.to, tc.width)
		var labels []string
		right := -1e9
		for _, tk := range ticks {
			labels = append(labels, tk.Label)
			w := float64(len([]rune(tk.Label))) * tickCharPx
			x := tk.Pct / 100 * tc.width
			left := x - w/2
			if tk.Start {
				left = x
			}
			if tk.Edge {
				left = x - w
			}
			if left < right {
				t.Errorf("axisTicks(%d, %d, %v): %q overlaps the label before it", tc.from, tc.to, tc.width, tk.Label)
			}
			right = left + w
		}
		if got := strings.Join(labels, " "); got != tc.want {
			t.Errorf("axisTicks(%v, %v, %v) = %q, want %q", time.Duration(tc.from), time.Duration(tc.to), tc.width, got, tc.want)
		}
	}
}

func bigTreeSpans(t *testing.T) *spanTree {
	t.Helper()
	var spans []store.TreeSpan
	for _, s := range bigTrace("big", bigTraceStart()) {
		spans = append(spans, store.TreeSpan{SpanID: s.SpanID, ParentID: s.ParentID, Name: s.Name,
			Status: string(s.StatusCode), StartTime: s.StartTime, EndTime: s.EndTime})
	}
	return buildTree(spans)
}

func TestTreeFoldsRepeatedSiblings(t *testing.T) {
	tree := bigTreeSpans(t)
	rows, _ := tree.window(windowQuery{Depth: -1})
	want := []string{"0:+agent.run", "1:plan", "1:load_tickets", "1:step×50"}
	if diff := cmp.Diff(want, treeShape(rows)); diff != "" {
		t.Errorf("the big trace (-want +got):\n%s", diff)
	}
	step := rows[3]
	if step.Failed != 1 || !step.ErrBelow || step.Desc != 50*65 || step.P95 != int64(19*time.Second) {
		t.Errorf("the fold of steps = %+v, want 1 failed, 3,250 spans, p95 19 s", step)
	}
	// Opening load_tickets: its 2,000 fetches are one row.
	rows, _ = tree.window(windowQuery{Parent: bigSpanID(3), Depth: -1})
	if len(rows) != 1 || !rows[0].Fold || rows[0].Count != bigTickets || rows[0].Failed != 2 || rows[0].P95 != 63*int64(time.Millisecond) {
		t.Errorf("children of load_tickets = %+v, want fetch_ticket ×2,000, 2 failed, p95 63 ms", rows)
	}
}

func TestTreeOpensTheWayToADeepSpan(t *testing.T) {
	tree := bigTreeSpans(t)
	// The first failing fetch, 700 down a list of 2,000: the fold opens, the
	// 700 before it wait behind one row, and it is drawn.
	f1, _ := bigFailedTickets()
	rows, _ := tree.window(windowQuery{Depth: -1, Selected: bigTicketID(f1)})
	shape := treeShape(rows)
	want := []string{"0:+agent.run", "1:plan", "1:+load_tickets", "2:+fetch_ticket×2000", "3:…700", "3:fetch_ticket"}
	if diff := cmp.Diff(want, shape[:6]); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if !rows[5].Selected || !rows[5].Error {
		t.Errorf("row 5 = %+v, want the selected failing fetch", rows[5])
	}
	if len(rows) > treeRowBudget+10 {
		t.Errorf("%d rows, want about the budget", len(rows))
	}
	if last := shape[len(shape)-1]; last != "1:step×50" {
		t.Errorf("last row %q, want the steps' fold", last)
	}
	// The failing score in step 37: that step's fold opens, the way down is drawn.
	st, j := bigFailedScore()
	rows, _ = tree.window(windowQuery{Depth: -1, Selected: bigScoreID(st, j)})
	found := false
	for _, r := range rows {
		found = found || r.Selected && r.SpanID == bigScoreID(st, j)
	}
	if !found {
		t.Errorf("the failing score is not drawn: %v", treeShape(rows))
	}
}

func TestTreeErrorsOnly(t *testing.T) {
	tree := bigTreeSpans(t)
	rows, _ := tree.window(windowQuery{Depth: -1, View: viewErrors})
	want := []string{"0:+agent.run", "1:+load_tickets", "2:fetch_ticket", "2:fetch_ticket", "1:+step", "2:+tool.search_docs", "3:+retrieval", "4:score_doc"}
	if diff := cmp.Diff(want, treeShape(rows)); diff != "" {
		t.Errorf("errors only (-want +got):\n%s", diff)
	}
	if rows[0].Children != 2 || rows[0].Desc != 7 {
		t.Errorf("root in errors only: %d children, %d below; want 2 and 7", rows[0].Children, rows[0].Desc)
	}
	// Failures listed top to bottom for n and N.
	f1, f2 := bigFailedTickets()
	st, j := bigFailedScore()
	var ids []string
	for _, w := range strings.Fields(tree.failureList()) {
		ids = append(ids, w[strings.IndexByte(w, ':')+1:])
	}
	if diff := cmp.Diff([]string{bigTicketID(f1), bigTicketID(f2), bigScoreID(st, j)}, ids); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
}

func TestBigTracePages(t *testing.T) {
	e := newEnv(t)
	e.write(bigTrace("big", bigTraceStart())...)
	page := "/projects/big/traces/" + bigTraceID
	body := e.mustGet(page)
	f1, _ := bigFailedTickets()
	contains(t, "the big trace", body, `data-failures="`, `aria-selected="true" data-id="`+bigTicketID(f1)+`"`,
		"fetch_ticket", "×"+groupDigits(2000), "2 failed", "p95 63 ms", "step", "×50")
	// A search runs over every span, including ones no row shows.
	body = e.mustGet(page + "/search?q=" + url.QueryEscape("blue UMBRELLA"))
	contains(t, "search", body, `data-id="`+bigUmbrellaSpan()+`"`, "<mark>blue umbrella</mark>", "input.value", "1 span")
	body = e.mustGet(page + "/search?q=" + url.QueryEscape("did not answer"))
	contains(t, "search of exceptions", body, "2 spans", `data-id="`+bigTicketID(f1)+`"`)
	// Without a script, the search box submits to the page.
	body = e.mustGet(page + "?find=umbrella")
	contains(t, "page with a search", body, `value="umbrella"`, `data-id="`+bigUmbrellaSpan()+`"`)
	for _, c := range []struct{ path, want string }{
		{page + "/search?q=", "Type something"},
		{page + "/search?q=" + strings.Repeat("x", 201), "too long"},
		{page + "/tree?offset=-1", "offset"},
		{page + "/tree?limit=x", "limit"},
	} {
		code, body := e.get(c.path)
		if code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("GET %s = %d %q, want 400 saying %q", c.path, code, body, c.want)
		}
	}
	// The errors-only view, and a fold's members, served to the script.
	body = e.mustGet(page + "?view=errors")
	contains(t, "errors only", body, `data-view="errors"`, "score_doc")
	lacks(t, "errors only", body, ">plan<")
	body = e.mustGet(fmt.Sprintf("%s/tree?parent=%s&offset=0&limit=%d&depth=2&nofold=1", page, bigSpanID(3), bigTickets))
	if n := strings.Count(body, `class="row`); n != treeRowBudget+1 {
		t.Errorf("the fold's members: %d rows, want the budget and a show-more row", n)
	}
}

func TestTraceWithoutErrorsHasNoErrorsView(t *testing.T) {
	e := newEnv(t)
	spans := agentRun("p", agentTrace, "s1", time.Now().Add(-time.Hour))
	e.write(spans[:4]...) // without the failing call
	page := "/projects/p/traces/" + agentTrace
	lacks(t, "a trace without errors", e.mustGet(page), "Errors only", "data-action=\"next-failure\"")
	contains(t, "its errors-only view", e.mustGet(page+"?view=errors"), "No span of this trace failed.")
}
