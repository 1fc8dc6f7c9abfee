package query

import (
	"slices"
	"strings"
)

// grain is what a filter selects. Phoenix has a filter language for spans,
// one for traces and one for sessions (GET …/traces?filter= and
// GET …/sessions?filter=): the same syntax over different names.
type grain uint8

const (
	spanGrain grain = iota
	traceGrain
	sessionGrain
)

func (g grain) String() string { return [...]string{"span", "trace", "session"}[g] }

// CheckTraces checks a trace filter: one condition on a trace, in the names
// of Phoenix's trace filter (see the package documentation).
func CheckTraces(e Expr) error {
	_, err := checkAs(e, traceGrain)
	return err
}

// CompileTraces checks a trace filter and writes it as a boolean SQL
// condition over the traces table aliased tr, as Compile does for spans.
func CompileTraces(e Expr, d Dialect) (sql string, args []any, err error) {
	return compileAs(e, d, traceGrain)
}

// CheckSessions checks a session filter, in the names of Phoenix's session
// filter.
func CheckSessions(e Expr) error {
	_, err := checkAs(e, sessionGrain)
	return err
}

// CompileSessions checks a session filter and writes it as a boolean SQL
// condition over the sessions table aliased se.
func CompileSessions(e Expr, d Dialect) (sql string, args []any, err error) {
	return compileAs(e, d, sessionGrain)
}

func traceCol(sql string, t typ) *column {
	return &column{kind: colPlain, alias: "tr", sql: sql, typ: t}
}

func sessionCol(sql string, t typ) *column {
	return &column{kind: colPlain, alias: "se", sql: sql, typ: t}
}

// sessionTraces is an aggregate over a session's traces (aliased qt), read
// from their roll-ups.
func sessionTraces(agg, where string) *column {
	return &column{kind: colSessionTraces, sql: agg, where: where, typ: tyNumber}
}

// grainNames are the names one grain's filter knows besides attributes.
type grainNames struct {
	columns map[string]*column
	// roots read a root span's column: the trace's root span, or the root
	// span of the session's first (or, for last_output, last) trace.
	roots map[string]rootName
	// anyRoots search every root span of a session ('x' in any_input).
	anyRoots map[string]string
	// annotations is the accessor of the grain's own annotations, and
	// annotationTable their table.
	annotations, annotationTable string
	// collections are what Phoenix iterates with comprehensions.
	collections []string
	// summary names what Loupe keeps per row, for hints.
	summary string
}

type rootName struct {
	attr string // the span attribute, which the store keeps in a column
	last bool
}

var traceNames = grainNames{
	columns: map[string]*column{
		"trace_id":               traceCol("trace_id", tyText),
		"start_time":             traceCol("start_time", tyTime),
		"end_time":               traceCol("end_time", tyTime),
		"latency_ms":             {kind: colLatency, alias: "tr", typ: tyNumber},
		"num_spans":              traceCol("span_count", tyNumber),
		"error_count":            traceCol("error_count", tyNumber),
		"llm_span_count":         traceCol("llm_span_count", tyNumber),
		"token_count_prompt":     traceCol("prompt_tokens", tyNumber),
		"token_count_completion": traceCol("completion_tokens", tyNumber),
		"token_count_total":      traceCol("total_tokens", tyNumber),
		"prompt_cost":            traceCol("cost_prompt", tyNumber),
		"completion_cost":        traceCol("cost_completion", tyNumber),
		"total_cost":             traceCol("cost_total", tyNumber),
	},
	roots: map[string]rootName{
		"input":   {attr: "input.value"},
		"output":  {attr: "output.value"},
		"user.id": {attr: "user.id"},
	},
	annotations:     rootTraceAnnotations,
	annotationTable: traceAnnotationsTable,
	collections:     []string{"spans", "span_annotations", "span_cost_details"},
	summary:         "num_spans, error_count, llm_span_count, latency_ms, token_count_total and total_cost",
}

var sessionNames = grainNames{
	columns: map[string]*column{
		"session_id":             sessionCol("session_id", tyText),
		"start_time":             sessionCol("start_time", tyTime),
		"end_time":               sessionCol("end_time", tyTime),
		"duration_ms":            {kind: colLatency, alias: "se", typ: tyNumber},
		"num_traces":             sessionCol("trace_count", tyNumber),
		"num_traces_with_error":  sessionTraces("count(*)", "qt.error_count > 0"),
		"token_count_prompt":     sessionCol("prompt_tokens", tyNumber),
		"token_count_completion": sessionCol("completion_tokens", tyNumber),
		"token_count_total":      sessionCol("total_tokens", tyNumber),
		"total_cost":             sessionCol("cost_total", tyNumber),
		"prompt_cost":            sessionTraces("sum(qt.cost_prompt)", ""),
		"completion_cost":        sessionTraces("sum(qt.cost_completion)", ""),
		"llm_span_count":         sessionTraces("sum(qt.llm_span_count)", ""),
	},
	roots: map[string]rootName{
		"first_input": {attr: "input.value"},
		"last_output": {attr: "output.value", last: true},
		"user.id":     {attr: "user.id"},
	},
	anyRoots:        map[string]string{"any_input": "input_value", "any_output": "output_value"},
	annotations:     rootSessionAnnotations,
	annotationTable: sessionAnnotationsTable,
	collections:     []string{"traces", "spans", "session_annotations", "span_annotations", "span_cost_details"},
	summary:         "num_traces, num_traces_with_error, llm_span_count, duration_ms, token_count_total and total_cost",
}

const rootSessionAnnotations = "session_annotations"

// unsupportedNames are names of Phoenix's trace and session filters whose
// values Loupe does not keep.
var unsupportedNames = map[string]string{
	"tool_span_count": "Loupe keeps no count of TOOL spans per trace or session",
}

func (g grain) names() *grainNames {
	if g == traceGrain {
		return &traceNames
	}
	return &sessionNames
}

// known lists the names a grain's filter can start with, for "did you mean".
func (n *grainNames) known() []string {
	var out []string
	for k := range n.columns {
		out = append(out, k)
	}
	for k := range n.roots {
		out = append(out, k)
	}
	for k := range n.anyRoots {
		out = append(out, k)
	}
	out = append(out, n.annotations, rootAttributes, rootMetadata)
	slices.Sort(out)
	return out
}

// grainRef resolves a name of a trace or session filter. Phoenix's are
// strict: besides its own names, a trace or session filter reads a root
// span only through attributes[...], metadata[...] and user.id.
func (c *checker) grainRef(root *Name, accs []accessor, dotted string, allDots bool) (val, error) {
	n := c.g.names()
	if allDots {
		if col, ok := n.columns[dotted]; ok {
			return &colVal{c: col}, nil
		}
		if r, ok := n.roots[dotted]; ok {
			return &rootVal{x: &colVal{c: attributeColumns[r.attr]}, last: r.last}, nil
		}
		if col, ok := n.anyRoots[dotted]; ok {
			return &anyRootVal{column: col, name: dotted}, nil
		}
		if why, ok := unsupportedNames[dotted]; ok {
			return nil, errHint(root.NamePos, dotted+" is not supported: "+why, "filter on "+n.summary)
		}
	}
	switch root.Name {
	case n.annotations:
		return c.annotation(root, accs, n.annotationTable)
	case rootAnnotations, rootEvals, rootTraceAnnotations, rootSessionAnnotations:
		return nil, errHint(root.NamePos, root.Name+"[...] is not available in the "+c.g.String()+" filter",
			"use "+n.annotations+"[...] for the "+c.g.String()+"'s annotations")
	case rootAttributes, rootMetadata:
		if len(accs) == 0 || accs[0].key == nil {
			example := "attributes['llm.model_name'] reads the root span's attribute"
			if root.Name == rootMetadata {
				example = "metadata['topic'] reads the root span's metadata"
			}
			return nil, errHint(root.NamePos, root.Name+" needs a key in brackets", "e.g. "+example)
		}
		var segs []pathSeg
		if root.Name == rootMetadata {
			segs = []pathSeg{{key: rootMetadata, pos: root.NamePos}}
		}
		v, err := c.attribute(accs, segs)
		if err != nil {
			return nil, err
		}
		return &rootVal{x: v}, nil
	}
	if slices.Contains(n.collections, root.Name) {
		return nil, errHint(root.NamePos, "'"+root.Name+"' is a collection, which Phoenix iterates with any(), all(), len(), "+
			"sum(), max() or min(); Loupe's "+c.g.String()+" filters do not iterate collections",
			"filter on "+n.summary)
	}
	if _, ok := n.columns[root.Name]; ok && len(accs) > 0 {
		return nil, errAt(accs[0].pos, root.Name+" has no fields or keys")
	}
	if len(accs) == 0 {
		return nil, unknownNameIn(root, n.known())
	}
	if !allDots {
		dotted = root.Name + "…"
	}
	return nil, errHint(root.NamePos, "unknown name '"+dotted+"'",
		"a "+c.g.String()+" filter reads the root span's attributes as attributes['"+strings.TrimSuffix(dotted, "…")+"']")
}
