package web

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// The tree of a trace is drawn as a window of flat rows: a page never holds
// more than treeRowBudget of them, whatever the size of the trace. Subtrees
// small enough are open; bigger ones are closed with a count and load their
// children when opened; long child lists end with a "show more" row.
const (
	treeRowBudget = 500
	// openSubtreeLimit is the largest subtree shown open by default.
	openSubtreeLimit = 200
)

type treeNode struct {
	s        store.TreeSpan
	children []int32
	errKids  []int32 // the children drawn in the errors-only view
	depth    int32
	ord      int32 // position in the tree read top to bottom (pre-order)
	desc     int32 // descendants
	errDesc  int32 // descendants drawn in the errors-only view
	errBelow bool  // a descendant has status ERROR
	orphan   bool  // its parent never arrived
}

func (n *treeNode) failed() bool { return n.s.Status == string(span.StatusError) }

// spanTree is a trace's spans as a tree, on one time axis.
type spanTree struct {
	nodes      []treeNode
	byID       map[string]int32
	roots      []int32
	errRoots   []int32
	failures   []int32 // failing spans, top to bottom
	start, end int64
}

func buildTree(spans []store.TreeSpan) *spanTree {
	t := &spanTree{nodes: make([]treeNode, len(spans)), byID: make(map[string]int32, len(spans))}
	for i, s := range spans {
		t.nodes[i].s = s
		t.byID[s.SpanID] = int32(i)
		if i == 0 || s.StartTime < t.start {
			t.start = s.StartTime
		}
		if s.EndTime > t.end {
			t.end = s.EndTime
		}
	}
	// spans come in start order, so children lists are in start order too.
	for i, s := range spans {
		p, ok := t.byID[s.ParentID]
		switch {
		case s.ParentID == "":
			t.roots = append(t.roots, int32(i))
		case !ok || p == int32(i):
			t.nodes[i].orphan = true
			t.roots = append(t.roots, int32(i))
		default:
			t.nodes[p].children = append(t.nodes[p].children, int32(i))
		}
	}
	// Depths, order and subtree sizes, iteratively: a trace can be deeper
	// than is comfortable to recurse. Spans caught in a parent cycle are
	// never reached from a root and so never drawn.
	order := make([]int32, 0, len(spans))
	stack := make([]int32, 0, 64)
	for i := len(t.roots) - 1; i >= 0; i-- {
		stack = append(stack, t.roots[i])
	}
	seen := make([]bool, len(spans))
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		t.nodes[n].ord = int32(len(order))
		order = append(order, n)
		if t.nodes[n].failed() {
			t.failures = append(t.failures, n)
		}
		kids := t.nodes[n].children
		for i := len(kids) - 1; i >= 0; i-- {
			t.nodes[kids[i]].depth = t.nodes[n].depth + 1
			stack = append(stack, kids[i])
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		n := &t.nodes[order[i]]
		for _, c := range n.children {
			child := &t.nodes[c]
			n.desc += 1 + child.desc
			if child.failed() || child.errBelow {
				n.errBelow = true
				n.errKids = append(n.errKids, c)
				n.errDesc += 1 + child.errDesc
			}
		}
	}
	for _, r := range t.roots {
		if n := &t.nodes[r]; n.failed() || n.errBelow {
			t.errRoots = append(t.errRoots, r)
		}
	}
	return t
}

// treeView is what the tree draws: every span, or only the failing spans
// and their ancestors.
type treeView int

const (
	viewAll treeView = iota
	viewErrors
)

func parseTreeView(s string) treeView {
	if s == "errors" {
		return viewErrors
	}
	return viewAll
}

func (v treeView) String() string {
	if v == viewErrors {
		return "errors"
	}
	return ""
}

func (t *spanTree) kids(n int32, v treeView) []int32 {
	if v == viewErrors {
		return t.nodes[n].errKids
	}
	return t.nodes[n].children
}

func (t *spanTree) descendants(n int32, v treeView) int32 {
	if v == viewErrors {
		return t.nodes[n].errDesc
	}
	return t.nodes[n].desc
}

// foldMin is the shortest run of same-named siblings drawn as one row.
const foldMin = 5

// treeRow is one row of the drawn tree: a span; a fold, standing for a run
// of siblings of one name; or a "show more" marker for part of a long child
// list.
type treeRow struct {
	store.TreeSpan
	Ord      int32
	Depth    int
	Children int
	Desc     int
	Open     bool // its children (or a fold's members) follow it
	Error    bool
	ErrBelow bool
	Orphan   bool
	Selected bool
	Left     float64 // waterfall bar position and width, % of the trace
	Width    float64

	// A fold: Count siblings of ParentID from Offset, all named Name, of
	// which Failed failed or hold a failure; P95 of their durations.
	Fold   bool
	Count  int
	Failed int
	P95    int64

	// A "show more" row: Remaining children of ParentID from Offset,
	// drawn at Depth; NoFold inside an open fold.
	More      bool
	Offset    int
	Remaining int
	NoFold    bool
}

// windowQuery says which rows a window draws: the roots of the trace
// (Parent "") or Limit children of Parent from Offset (all when Limit is
// 0), at Depth (the list's own depth when negative), keeping Selected and
// its ancestors open and drawn.
type windowQuery struct {
	Parent   string
	Offset   int
	Limit    int
	Depth    int
	NoFold   bool
	View     treeView
	Selected string
}

// windower emits the rows of one window.
type windower struct {
	t        *spanTree
	view     treeView
	budget   int
	selected map[int32]bool // the selected span and its ancestors: always open
	sel      int32
	rows     []treeRow
}

// window draws the rows q asks for; false when its parent is no span of
// the trace.
func (t *spanTree) window(q windowQuery) ([]treeRow, bool) {
	w := &windower{t: t, view: q.View, budget: treeRowBudget, selected: map[int32]bool{}, sel: -1}
	if i, ok := t.byID[q.Selected]; ok {
		w.sel = i
		for n, steps := i, 0; steps < len(t.nodes); steps++ {
			w.selected[n] = true
			p, ok := t.byID[t.nodes[n].s.ParentID]
			if !ok || t.nodes[n].orphan {
				break
			}
			n = p
		}
	}
	list, depth := t.roots, 0
	if q.View == viewErrors {
		list = t.errRoots
	}
	if q.Parent != "" {
		p, ok := t.byID[q.Parent]
		if !ok {
			return nil, false
		}
		list, depth = t.kids(p, q.View), int(t.nodes[p].depth)+1
	}
	if q.Depth >= 0 {
		depth = q.Depth
	}
	offset := min(max(q.Offset, 0), len(list))
	end := len(list)
	if q.Limit > 0 {
		end = min(end, offset+q.Limit)
	}
	w.emitList(q.Parent, list, offset, end, depth, !q.NoFold)
	return w.rows, true
}

// onPath finds the first of list[from:end] on the way to the selected span.
func (w *windower) onPath(list []int32, from, end int) int {
	if len(w.selected) == 0 {
		return -1
	}
	for k := from; k < end; k++ {
		if w.selected[list[k]] {
			return k
		}
	}
	return -1
}

func (w *windower) more(parent string, from, to, depth int, fold bool) {
	w.rows = append(w.rows, treeRow{TreeSpan: store.TreeSpan{ParentID: parent}, Depth: depth,
		More: true, Offset: from, Remaining: to - from, NoFold: !fold})
}

func (w *windower) emitList(parent string, list []int32, offset, end, depth int, fold bool) {
	for i := offset; i < end; {
		k := w.onPath(list, i, end)
		j := i + 1 // the unit drawn next: one span, or a fold
		if fold {
			if r := w.run(list, i, end); r-i >= foldMin {
				j = r
			}
		}
		// Past the budget a fold is still drawn: it takes one row, as the
		// "show more" row standing for it would.
		if w.budget <= 0 && k < 0 && j-i == 1 {
			w.more(parent, i, end, depth, fold)
			return
		}
		// The way to the selected span is drawn whatever the budget; far
		// down a long list, the siblings before it wait behind a "show
		// more" row rather than push it out of sight.
		if k >= j && (w.budget <= 0 || k-i > w.budget/2) {
			s := k
			if fold {
				if r := w.runStart(list, i, k); w.run(list, r, end)-r >= foldMin {
					s = r
				}
			}
			w.more(parent, i, s, depth, fold)
			i = s
			continue
		}
		if j-i > 1 {
			w.emitFold(parent, list, i, j, depth)
		} else {
			w.emit(list[i], depth)
		}
		i = j
	}
}

// runStart is the start of the run of siblings named as list[k], from i on.
func (w *windower) runStart(list []int32, i, k int) int {
	name := w.t.nodes[list[k]].s.Name
	for k > i && w.t.nodes[list[k-1]].s.Name == name {
		k--
	}
	return k
}

// run is the end of the run of siblings named as list[i].
func (w *windower) run(list []int32, i, end int) int {
	name := w.t.nodes[list[i]].s.Name
	j := i + 1
	for j < end && w.t.nodes[list[j]].s.Name == name {
		j++
	}
	return j
}

func (w *windower) emitFold(parent string, list []int32, from, to, depth int) {
	first := &w.t.nodes[list[from]]
	row := treeRow{TreeSpan: store.TreeSpan{ParentID: parent, Name: first.s.Name, Kind: first.s.Kind,
		StartTime: first.s.StartTime, EndTime: first.s.EndTime}, Ord: first.ord, Depth: depth,
		Fold: true, Offset: from, Count: to - from}
	durations := make([]int64, 0, to-from)
	for _, c := range list[from:to] {
		n := &w.t.nodes[c]
		durations = append(durations, max(n.s.EndTime-n.s.StartTime, 0))
		row.StartTime = min(row.StartTime, n.s.StartTime)
		row.EndTime = max(row.EndTime, n.s.EndTime)
		if n.failed() || n.errBelow {
			row.Failed++
		}
		row.Desc += 1 + int(w.t.descendants(c, w.view))
	}
	row.P95 = p95(durations)
	row.ErrBelow = row.Failed > 0
	row.Left, row.Width = w.t.bar(row.TreeSpan)
	row.Open = w.onPath(list, from, to) >= 0
	w.budget--
	w.rows = append(w.rows, row)
	if row.Open {
		w.emitList(parent, list, from, to, depth+1, false)
	}
}

func (w *windower) emit(i int32, depth int) {
	n := &w.t.nodes[i]
	w.budget--
	kids, desc := w.t.kids(i, w.view), w.t.descendants(i, w.view)
	row := treeRow{
		TreeSpan: n.s, Ord: n.ord, Depth: depth, Children: len(kids), Desc: int(desc),
		Error: n.failed(), ErrBelow: n.errBelow, Orphan: n.orphan, Selected: i == w.sel,
	}
	row.Left, row.Width = w.t.bar(n.s)
	full := int(desc) <= min(w.budget, openSubtreeLimit)
	partial := depth == 0 || w.selected[i]
	row.Open = len(kids) > 0 && (full || partial)
	w.rows = append(w.rows, row)
	if row.Open {
		w.emitList(n.s.SpanID, kids, 0, len(kids), depth+1, true)
	}
}

// p95 is the 95th percentile of durations by nearest rank; it sorts them.
func p95(durations []int64) int64 {
	if len(durations) == 0 {
		return 0
	}
	slices.Sort(durations)
	return durations[(len(durations)*95+99)/100-1]
}

// bar places a span on the trace's time axis, in percent.
func (t *spanTree) bar(s store.TreeSpan) (left, width float64) {
	total := float64(t.end - t.start)
	if total <= 0 {
		return 0, 100
	}
	left = float64(s.StartTime-t.start) / total * 100
	width = float64(max(s.EndTime-s.StartTime, 0)) / total * 100
	return left, max(width, 0.25)
}

// tick is a label on the time axis.
type tick struct {
	Pct   float64
	Label string
	Start bool // at the left edge: drawn to the right of its place
	Edge  bool // at the right edge: drawn to the left of its place
}

// axisWidth is the width, in pixels, the waterfall's axis is drawn for
// before a script measures it: its share of a 1440-pixel window.
const axisWidth = 240

func (t *spanTree) ticks() []tick { return axisTicks(0, t.end-t.start, axisWidth) }

// tickSteps are the spacings an axis may use, in nanoseconds: 1, 2 and 5
// of each power of ten below a second, then what clocks count in.
var tickSteps = func() []int64 {
	var out []int64
	for p := int64(1); p < 1e9; p *= 10 {
		out = append(out, p, 2*p, 5*p)
	}
	s, m, h := int64(1e9), int64(60e9), int64(3600e9)
	out = append(out, s, 2*s, 5*s, 10*s, 15*s, 30*s, m, 2*m, 5*m, 10*m, 15*m, 30*m, h, 2*h, 3*h, 6*h, 12*h, 24*h)
	for d := 2 * 24 * h; d < 1<<62/10; d *= 10 {
		out = append(out, d, 5*d/2, 5*d)
	}
	return out
}()

// Pixels a tick label takes per character, and between two labels: the
// axis font is 10.5 px.
const (
	tickCharPx = 6.5
	tickGapPx  = 18
)

// axisTicks labels the window [from, to) of a trace (nanoseconds from its
// start) drawn width pixels wide. The spacing is the smallest whose labels
// do not touch, and every label is written in the same units. The script
// (trace.js, axisTicks) does the same when the axis is resized or zoomed.
func axisTicks(from, to int64, width float64) []tick {
	if to <= from || width <= 0 {
		return []tick{{Pct: 0, Label: "0"}}
	}
	for _, step := range tickSteps {
		if float64(to-from)/float64(step) > width/tickGapPx+1 {
			continue // labels closer than the gap between them
		}
		if ticks, ok := layTicks(from, to, width, step); ok {
			return ticks
		}
	}
	return []tick{{Pct: 0, Label: tickLabel(from, tickSteps[len(tickSteps)-1], to)}}
}

// layTicks places a label at every multiple of step in [from, to]; false
// when two would touch. A label that would stick out on the left starts at
// the axis' start; on the right, ends at its end, or is left out when that
// makes it touch the one before.
func layTicks(from, to int64, width float64, step int64) ([]tick, bool) {
	var out []tick
	right := math.Inf(-1) // where the last label ends
	for v := (from + step - 1) / step * step; v <= to; v += step {
		label := tickLabel(v, step, to)
		x := float64(v-from) / float64(to-from) * width
		w := float64(len([]rune(label))) * tickCharPx
		t := tick{Pct: float64(v-from) / float64(to-from) * 100, Label: label}
		left := x - w/2
		if left < 0 {
			t.Start, left = true, 0
		}
		if x+w/2 > width {
			t.Edge, left = true, x-w
		}
		if left < right+tickGapPx {
			if t.Edge {
				break
			}
			return nil, false
		}
		right = left + w
		out = append(out, t)
	}
	return out, true
}

// tickLabel writes v in the units of step, the same for every label of an
// axis that ends at end: "250 ms", "1.25 s", "2:30", "1 h 30 m".
func tickLabel(v, step, end int64) string {
	const s, m, h = int64(1e9), int64(60e9), int64(3600e9)
	if v == 0 && (step >= m || end < m) {
		return "0"
	}
	switch {
	case step >= h:
		return strconv.FormatInt(v/h, 10) + " h"
	case step >= m && end < h:
		return strconv.FormatInt(v/m, 10) + " m"
	case step >= m:
		switch {
		case v < h:
			return strconv.FormatInt(v/m, 10) + " m"
		case v%h == 0:
			return strconv.FormatInt(v/h, 10) + " h"
		}
		return fmt.Sprintf("%d h %02d m", v/h, v%h/m)
	case step < s && end < s:
		for _, u := range []struct {
			ns   int64
			name string
		}{{1e6, "ms"}, {1e3, "µs"}, {1, "ns"}} {
			if end >= u.ns || u.ns == 1 {
				return decimal(v, u.ns, step) + " " + u.name
			}
		}
	case end < m:
		return decimal(v, s, step) + " s"
	}
	// A clock: minutes and seconds (hours when the trace is that long),
	// with the fractions of a second the step needs.
	sec := decimal(v%m, s, step)
	if i := strings.IndexByte(sec, '.'); i == 1 || (i < 0 && len(sec) == 1) {
		sec = "0" + sec
	}
	if end >= h {
		return fmt.Sprintf("%d:%02d:%s", v/h, v%h/m, sec)
	}
	return fmt.Sprintf("%d:%s", v/m, sec)
}

// decimal writes v/unit with as many decimals as step needs in that unit.
func decimal(v, unit, step int64) string {
	places := 0
	for q := unit; q > 1 && step%q != 0; q /= 10 {
		places++
	}
	return strconv.FormatFloat(float64(v)/float64(unit), 'f', places, 64)
}

// opening is the span a trace opens on when the link names none: the
// first failing span, which is what someone following an error came for;
// else the first LLM call, where an AI application's work is; else the
// root (rootID, when it arrived) or the first span drawn.
func (t *spanTree) opening(rootID string) string {
	llm := ""
	for _, n := range t.nodes { // in start order
		switch {
		case n.s.Status == string(span.StatusError):
			return n.s.SpanID
		case llm == "" && n.s.Kind == string(span.KindLLM):
			llm = n.s.SpanID
		}
	}
	switch {
	case llm != "":
		return llm
	case rootID != "":
		return rootID
	case len(t.roots) > 0:
		return t.nodes[t.roots[0]].s.SpanID
	}
	return ""
}
