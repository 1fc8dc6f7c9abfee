package web

import (
	"net/http"
	"strings"
)

// A list's optional columns, which the reader can hide. The choice is
// kept in a cookie per list (loupe_cols_traces, loupe_cols_spans): the
// server renders the table with it, so the page never shows the columns
// and then hides them, and live refresh keeps it.
type column struct {
	Name, Label string
	// Hidden is the column's state before the reader chooses: off when
	// the rest of the row tells the same (the trace id is in the link)
	// or it is seldom read, so that a 1440-px window holds the row.
	Hidden bool
}

var (
	traceColumns = []column{
		{Name: "trace", Label: "Trace ID", Hidden: true}, {Name: "start", Label: "Start"}, {Name: "latency", Label: "Latency"},
		{Name: "error", Label: "Error"}, {Name: "input", Label: "Input"}, {Name: "output", Label: "Output"},
		{Name: "tokens", Label: "Tokens"}, {Name: "cost", Label: "Cost"}, {Name: "spans", Label: "Spans", Hidden: true},
		{Name: "anns", Label: "Annotations"}, {Name: "user", Label: "User"}, {Name: "session", Label: "Session"},
	}
	spanColumns = []column{
		{Name: "trace", Label: "Trace ID", Hidden: true}, {Name: "start", Label: "Start"}, {Name: "latency", Label: "Latency"},
		{Name: "error", Label: "Error"}, {Name: "input", Label: "Input"}, {Name: "output", Label: "Output"},
		{Name: "model", Label: "Model"}, {Name: "tokens", Label: "Tokens"}, {Name: "cost", Label: "Cost"},
		{Name: "anns", Label: "Annotations"}, {Name: "user", Label: "User"}, {Name: "session", Label: "Session"},
	}
)

// columnSet is a list's columns as this reader has them.
type columnSet struct {
	List    string // "traces", "spans": names the cookie
	Columns []columnChoice
	hidden  map[string]bool
}

type columnChoice struct {
	column
	Shown bool
}

// columnsCookie is the cookie of a list's hidden columns: their names,
// separated by dots ("-" for none, so an empty choice is remembered too).
func columnsCookie(list string) string { return "loupe_cols_" + list }

func listColumns(r *http.Request, list string, all []column) columnSet {
	cs := columnSet{List: list, hidden: map[string]bool{}}
	c, err := r.Cookie(columnsCookie(list))
	chosen := err == nil && c.Value != ""
	if chosen {
		for _, name := range strings.Split(c.Value, ".") {
			cs.hidden[name] = true
		}
	}
	for _, col := range all {
		hide := col.Hidden
		if chosen {
			hide = cs.hidden[col.Name]
		}
		cs.hidden[col.Name] = hide
		cs.Columns = append(cs.Columns, columnChoice{column: col, Shown: !hide})
	}
	return cs
}

// Classes are the table's classes that hide the hidden columns (CSS
// .hide-c-NAME .c-NAME), with a leading space.
func (cs columnSet) Classes() string {
	var b strings.Builder
	for _, c := range cs.Columns {
		if !c.Shown {
			b.WriteString(" hide-c-" + c.Name)
		}
	}
	return b.String()
}

// Cookie names the cookie the chooser writes.
func (cs columnSet) Cookie() string { return columnsCookie(cs.List) }
