package web

import (
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
	depth    int32
	desc     int32 // descendants
	errBelow bool  // a descendant has status ERROR
	orphan   bool  // its parent never arrived
}

// spanTree is a trace's spans as a tree, on one time axis.
type spanTree struct {
	nodes      []treeNode
	byID       map[string]int32
	roots      []int32
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
	// Depths and subtree sizes, iteratively: a trace can be deeper than is
	// comfortable to recurse. Spans caught in a parent cycle are never
	// reached from a root and so never drawn.
	order := make([]int32, 0, len(spans))
	stack := append([]int32(nil), t.roots...)
	seen := make([]bool, len(spans))
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[n] {
			continue
		}
		seen[n] = true
		order = append(order, n)
		for _, c := range t.nodes[n].children {
			t.nodes[c].depth = t.nodes[n].depth + 1
			stack = append(stack, c)
		}
	}
	for i := len(order) - 1; i >= 0; i-- {
		n := &t.nodes[order[i]]
		for _, c := range n.children {
			child := &t.nodes[c]
			n.desc += 1 + child.desc
			n.errBelow = n.errBelow || child.errBelow || child.s.Status == "ERROR"
		}
	}
	return t
}

// treeRow is one row of the drawn tree: a span, or a "show more" marker
// for the rest of a long child list.
type treeRow struct {
	store.TreeSpan
	Depth    int
	Children int
	Desc     int
	Open     bool // its children follow it
	Error    bool
	ErrBelow bool
	Orphan   bool
	Selected bool
	Left     float64 // waterfall bar position and width, % of the trace
	Width    float64

	More      bool // a "show more" row: Remaining children of ParentID from Offset
	Offset    int
	Remaining int
}

// windower emits the rows of one window.
type windower struct {
	t        *spanTree
	budget   int
	selected map[int32]bool // the selected span and its ancestors: always open
	sel      int32
	rows     []treeRow
}

// window draws the roots of the trace (parent "") or the children of
// parent starting at offset.
func (t *spanTree) window(parent string, offset int, selected string) ([]treeRow, bool) {
	w := &windower{t: t, budget: treeRowBudget, selected: map[int32]bool{}, sel: -1}
	if i, ok := t.byID[selected]; ok {
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
	if parent != "" {
		p, ok := t.byID[parent]
		if !ok {
			return nil, false
		}
		list, depth = t.nodes[p].children, int(t.nodes[p].depth)+1
	}
	w.emitList(parent, list, offset, depth)
	return w.rows, true
}

func (w *windower) emitList(parent string, list []int32, offset, depth int) {
	for i := offset; i < len(list); i++ {
		if w.budget <= 0 {
			w.rows = append(w.rows, treeRow{TreeSpan: store.TreeSpan{ParentID: parent}, Depth: depth,
				More: true, Offset: i, Remaining: len(list) - i})
			return
		}
		w.emit(list[i], depth)
	}
}

func (w *windower) emit(i int32, depth int) {
	n := &w.t.nodes[i]
	w.budget--
	row := treeRow{
		TreeSpan: n.s, Depth: depth, Children: len(n.children), Desc: int(n.desc),
		Error: n.s.Status == "ERROR", ErrBelow: n.errBelow, Orphan: n.orphan, Selected: i == w.sel,
	}
	row.Left, row.Width = w.t.bar(n.s)
	full := int(n.desc) <= min(w.budget, openSubtreeLimit)
	partial := depth == 0 || w.selected[i]
	row.Open = len(n.children) > 0 && (full || partial)
	w.rows = append(w.rows, row)
	if row.Open {
		w.emitList(n.s.SpanID, n.children, 0, depth+1)
	}
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
}

func (t *spanTree) ticks() []tick {
	total := t.end - t.start
	out := make([]tick, 0, 5)
	out = append(out, tick{Pct: 0, Label: "0"})
	for i := 1; i <= 4; i++ {
		out = append(out, tick{Pct: float64(i) * 25, Label: humanDuration(total * int64(i) / 4)})
	}
	return out
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
