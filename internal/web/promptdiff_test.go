package web

import (
	"slices"
	"strings"
	"testing"
)

// render writes a diff compactly: a line's sign, then its text with
// changed runs in [brackets] and placeholders in <angles>.
func (d templateDiff) render() string {
	var b strings.Builder
	for _, l := range d.Lines {
		b.WriteString(map[diffOp]string{same: " ", del: "-", ins: "+"}[l.Op])
		for _, t := range l.Tokens {
			text := t.Text
			if t.Var {
				text = "<" + text + ">"
			}
			if t.Op != same && t.Op == l.Op && slices.ContainsFunc(l.Tokens, func(x diffToken) bool { return x.Op == same }) {
				text = "[" + text + "]"
			}
			b.WriteString(text)
		}
		b.WriteString("\n")
	}
	return b.String()
}

func TestDiffTemplates(t *testing.T) {
	for _, tc := range []struct {
		name, a, b, want string
		in, out          []string
	}{
		{"same", "You help.\nAnswer {q}.", "You help.\nAnswer {q}.", " You help.\n Answer <{q}>.\n", nil, nil},
		{"a line added", "You help.\nAnswer {q}.", "You help.\nBe brief.\nAnswer {q}.",
			" You help.\n+Be brief.\n Answer <{q}>.\n", nil, nil},
		{"a word changed", "Answer the {question} politely.", "Answer the {question} briefly.",
			"-Answer the <{question}> [politely].\n+Answer the <{question}> [briefly].\n", nil, nil},
		// A renamed variable is one unit replaced, not letters inside braces.
		{"a variable renamed", "Use {{context}} to answer.", "Use {{ docs }} to answer.",
			"-Use [<{{context}}>] to answer.\n+Use [<{{ docs }}>] to answer.\n", []string{"docs"}, []string{"context"}},
		{"a phrase changed", "You answer order questions.", "You are the support assistant.",
			"-You [answer order questions].\n+You [are the support assistant].\n", nil, nil},
		{"lines removed", "a\nb\nc", "a", " a\n-b\n-c\n", nil, nil},
		{"from nothing", "", "Hi {name}", "+Hi <{name}>\n", []string{"name"}, nil},
	} {
		d := diffTemplates(tc.a, tc.b)
		if got := d.render(); got != tc.want {
			t.Errorf("%s:\n%s\nwant\n%s", tc.name, got, tc.want)
		}
		if !slices.Equal(d.VarsIn, tc.in) || !slices.Equal(d.VarsOut, tc.out) {
			t.Errorf("%s: variables in %v out %v, want %v and %v", tc.name, d.VarsIn, d.VarsOut, tc.in, tc.out)
		}
	}
}

func TestDiffTooLong(t *testing.T) {
	a := strings.Repeat("x\n", maxDiffLines+2) + "end"
	b := strings.Repeat("y\n", maxDiffLines+2) + "end"
	d := diffTemplates(a, b)
	if d.Removed != maxDiffLines+2 || d.Added != maxDiffLines+2 {
		t.Errorf("removed %d added %d, want every differing line replaced", d.Removed, d.Added)
	}
}
