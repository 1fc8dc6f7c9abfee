package web

import (
	"strings"
	"unicode"

	"github.com/loupe-dev/loupe/internal/web/view"
)

// A diff of two prompt templates, line by line and, within a changed line,
// word by word, where a placeholder ({question}, {{ context }}) is one
// unit: renaming a variable shows as that variable replaced, never as a
// few braces and letters.

// diffOp says what a line or a token is in a diff.
type diffOp int

const (
	same diffOp = iota
	del
	ins
)

// diffToken is a run of text in a diff line.
type diffToken struct {
	Text string
	Var  bool // a placeholder
	Op   diffOp
}

func (t diffToken) Class() string { return opClass(t.Op) }

// diffLine is one line of a unified diff: kept, removed or added.
type diffLine struct {
	Op     diffOp
	Tokens []diffToken
	A, B   int // line numbers in the old and new text; 0 when absent
}

func (l diffLine) Class() string { return opClass(l.Op) }

// Mark is the line's sign in the margin.
func (l diffLine) Mark() string {
	switch l.Op {
	case del:
		return "−"
	case ins:
		return "+"
	}
	return ""
}

func opClass(op diffOp) string {
	switch op {
	case del:
		return "del"
	case ins:
		return "ins"
	}
	return ""
}

// templateDiff is what a diff of two templates shows.
type templateDiff struct {
	Lines           []diffLine
	Added, Removed  int // lines
	VarsIn, VarsOut []string
	Same            bool
}

// maxDiffLines bounds the line diff, whose cost grows with the product of
// the two lengths; a longer template is compared as if entirely rewritten.
const maxDiffLines = 2000

// diffTemplates compares template a (old) with b (new).
func diffTemplates(a, b string) templateDiff {
	la, lb := splitLines(a), splitLines(b)
	d := templateDiff{Same: a == b}
	d.VarsIn, d.VarsOut = varChanges(a, b)
	ops := diffSeq(la, lb, func(x, y string) bool { return x == y }, maxDiffLines)
	na, nb := 0, 0
	for i := 0; i < len(ops); {
		if ops[i] == same {
			na, nb = na+1, nb+1
			d.Lines = append(d.Lines, diffLine{Op: same, Tokens: plainTokens(la[na-1], same), A: na, B: nb})
			i++
			continue
		}
		// A run of changes: removed lines, then added ones; pair them up
		// so a line that changed a little shows its words changed.
		var rem, add []string
		for ; i < len(ops) && ops[i] != same; i++ {
			if ops[i] == del {
				rem = append(rem, la[na+len(rem)])
			} else {
				add = append(add, lb[nb+len(add)])
			}
		}
		paired := min(len(rem), len(add))
		var dels, inss []diffLine
		for j, l := range rem {
			line := diffLine{Op: del, A: na + j + 1}
			if j < paired {
				line.Tokens, _ = wordDiff(l, add[j])
			} else {
				line.Tokens = plainTokens(l, del)
			}
			dels = append(dels, line)
		}
		for j, l := range add {
			line := diffLine{Op: ins, B: nb + j + 1}
			if j < paired {
				_, line.Tokens = wordDiff(rem[j], l)
			} else {
				line.Tokens = plainTokens(l, ins)
			}
			inss = append(inss, line)
		}
		d.Lines = append(append(d.Lines, dels...), inss...)
		d.Removed += len(rem)
		d.Added += len(add)
		na, nb = na+len(rem), nb+len(add)
	}
	return d
}

func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}

// plainTokens is a whole line as one operation, its placeholders marked.
func plainTokens(line string, op diffOp) []diffToken {
	var out []diffToken
	for _, s := range view.SplitTemplate(line) {
		out = append(out, diffToken{Text: s.Text, Var: s.Var, Op: op})
	}
	return out
}

// wordDiff compares two versions of a line token by token, and returns
// the old line's tokens (kept or removed) and the new one's (kept or added).
func wordDiff(a, b string) (old, new []diffToken) {
	ta, tb := tokenize(a), tokenize(b)
	ops := diffSeq(ta, tb, func(x, y diffToken) bool { return x.Text == y.Text }, 4*maxDiffLines)
	i, j := 0, 0
	for _, op := range ops {
		switch op {
		case same:
			old = append(old, ta[i])
			new = append(new, tb[j])
			i, j = i+1, j+1
		case del:
			t := ta[i]
			t.Op = del
			old = append(old, t)
			i++
		case ins:
			t := tb[j]
			t.Op = ins
			new = append(new, t)
			j++
		}
	}
	return merge(absorbSpaces(old)), merge(absorbSpaces(new))
}

// absorbSpaces marks a kept run of spaces between two changed tokens as
// changed too, so "answer order questions" reads as one phrase replaced
// rather than three words with gaps.
func absorbSpaces(ts []diffToken) []diffToken {
	for i := 1; i+1 < len(ts); i++ {
		t := ts[i]
		if t.Op == same && !t.Var && strings.TrimSpace(t.Text) == "" && ts[i-1].Op != same && ts[i+1].Op == ts[i-1].Op {
			ts[i].Op = ts[i-1].Op
		}
	}
	return ts
}

// merge joins neighbouring tokens of one kind, so the page marks a phrase
// and not each word of it.
func merge(ts []diffToken) []diffToken {
	var out []diffToken
	for _, t := range ts {
		if n := len(out); n > 0 && !t.Var && !out[n-1].Var && out[n-1].Op == t.Op {
			out[n-1].Text += t.Text
			continue
		}
		out = append(out, t)
	}
	return out
}

// tokenize cuts a line into placeholders, words, runs of spaces and single
// other characters.
func tokenize(line string) []diffToken {
	var out []diffToken
	for _, seg := range view.SplitTemplate(line) {
		if seg.Var {
			out = append(out, diffToken{Text: seg.Text, Var: true})
			continue
		}
		rs := []rune(seg.Text)
		for i := 0; i < len(rs); {
			j := i + 1
			switch {
			case isWord(rs[i]):
				for j < len(rs) && isWord(rs[j]) {
					j++
				}
			case unicode.IsSpace(rs[i]):
				for j < len(rs) && unicode.IsSpace(rs[j]) {
					j++
				}
			}
			out = append(out, diffToken{Text: string(rs[i:j])})
			i = j
		}
	}
	return out
}

func isWord(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' }

// diffSeq is the shortest edit script from a to b by longest common
// subsequence: same, del and ins in order. Beyond limit items on a side it
// gives up and removes all of a, then adds all of b.
func diffSeq[T any](a, b []T, eq func(x, y T) bool, limit int) []diffOp {
	// Common ends cost nothing and keep the table small.
	pre := 0
	for pre < len(a) && pre < len(b) && eq(a[pre], b[pre]) {
		pre++
	}
	suf := 0
	for suf < len(a)-pre && suf < len(b)-pre && eq(a[len(a)-1-suf], b[len(b)-1-suf]) {
		suf++
	}
	ma, mb := a[pre:len(a)-suf], b[pre:len(b)-suf]
	ops := make([]diffOp, 0, len(a)+len(b))
	for range pre {
		ops = append(ops, same)
	}
	if len(ma) > limit || len(mb) > limit {
		for range ma {
			ops = append(ops, del)
		}
		for range mb {
			ops = append(ops, ins)
		}
	} else {
		// lcs[i][j] is the LCS length of ma[i:] and mb[j:].
		w := len(mb) + 1
		lcs := make([]int32, (len(ma)+1)*w)
		for i := len(ma) - 1; i >= 0; i-- {
			for j := len(mb) - 1; j >= 0; j-- {
				if eq(ma[i], mb[j]) {
					lcs[i*w+j] = lcs[(i+1)*w+j+1] + 1
				} else {
					lcs[i*w+j] = max(lcs[(i+1)*w+j], lcs[i*w+j+1])
				}
			}
		}
		i, j := 0, 0
		for i < len(ma) && j < len(mb) {
			switch {
			case eq(ma[i], mb[j]):
				ops = append(ops, same)
				i, j = i+1, j+1
			case lcs[(i+1)*w+j] >= lcs[i*w+j+1]:
				ops = append(ops, del)
				i++
			default:
				ops = append(ops, ins)
				j++
			}
		}
		for ; i < len(ma); i++ {
			ops = append(ops, del)
		}
		for ; j < len(mb); j++ {
			ops = append(ops, ins)
		}
	}
	for range suf {
		ops = append(ops, same)
	}
	return ops
}

// varChanges names the placeholders only b has (in) and only a has (out).
func varChanges(a, b string) (in, out []string) {
	va, vb := varSet(a), varSet(b)
	for _, v := range vb.order {
		if !va.has[v] {
			in = append(in, v)
		}
	}
	for _, v := range va.order {
		if !vb.has[v] {
			out = append(out, v)
		}
	}
	return in, out
}

type vars struct {
	order []string
	has   map[string]bool
}

// varSet lists a template's variables by name: {x}, {{x}} and {{ x }} are
// one variable.
func varSet(t string) vars {
	v := vars{has: map[string]bool{}}
	for _, s := range view.SplitTemplate(t) {
		if !s.Var {
			continue
		}
		name := strings.TrimSpace(strings.Trim(s.Text, "{}"))
		if !v.has[name] {
			v.has[name] = true
			v.order = append(v.order, name)
		}
	}
	return v
}
