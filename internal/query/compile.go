package query

import (
	"database/sql"
	"slices"
	"strconv"
	"strings"
)

// Limits on the SQL one filter may produce. SQLite allows 32766 parameters.
// The SQL grows linearly with the filter (no operand is written twice except
// the middle of a chained comparison), so these only stop absurd input.
const (
	maxParams  = 30000
	maxSQLSize = 1 << 20
)

// Compile checks a filter and writes it as a boolean SQL condition over the
// spans table aliased s. Every value from the filter, including attribute
// keys and annotation names, is a parameter in args; none is written into
// the SQL text. The condition is self-contained, so it can be joined to
// others with AND without parentheses.
func Compile(e Expr, d Dialect) (sql string, args []any, err error) {
	return compileAs(e, d, spanGrain)
}

func compileAs(e Expr, d Dialect, g grain) (sql string, args []any, err error) {
	c, err := checkAs(e, g)
	if err != nil {
		return "", nil, err
	}
	b := newBuilder(d)
	b.g = g
	b.cond(c)
	if b.full {
		return "", nil, &Error{Msg: "the filter is too large"}
	}
	return b.sb.String(), b.args, nil
}

// LooksUpIDs reports whether every span e matches, compiled for d, is found
// by looking spans up by trace or span id ("trace_id == '…'", "span_id in
// [...] and latency_ms > 10") or among the failed spans of an error group:
// a store then reads those few spans and sorts them, rather than walking a
// project's spans in order. A lookup on one side
// of an "or", or under a "not", does not bound the spans matched.
func LooksUpIDs(e Expr, d Dialect) bool {
	c, err := check(e)
	if err != nil {
		return false
	}
	return boundedByIDs(c, d)
}

func boundedByIDs(c cond, d Dialect) bool {
	switch c := c.(type) {
	case *boolCond:
		if c.op == Or {
			for _, x := range c.xs {
				if !boundedByIDs(x, d) {
					return false
				}
			}
			return len(c.xs) > 0
		}
		for _, x := range c.xs {
			if boundedByIDs(x, d) {
				return true
			}
		}
	case *atomCond:
		// The comparisons of a chain all hold for a span it matches.
		b := newBuilder(d)
		b.atom(c)
		return b.byID > 0
	}
	return false
}

func newBuilder(d Dialect) *builder {
	b := &builder{d: d}
	if d.kind != sqliteKind {
		b.params = map[param]int{}
	}
	return b
}

type builder struct {
	d       Dialect
	g       grain // what the condition selects: spans s, traces tr or sessions se
	sb      strings.Builder
	args    []any
	params  map[param]int // PostgreSQL, ClickHouse: a repeated value reuses its number
	aliases int
	anns    map[annRef]string // the alias each annotation in the current atom is joined as
	// full is set once the limits are passed; from then on nothing more is
	// written.
	full bool
	// byID counts the lookups of spans by trace or span id, or error group, written.
	byID int
}

type param struct {
	v   any
	typ string
}

func (b *builder) w(parts ...string) {
	if b.full {
		return
	}
	for _, p := range parts {
		b.sb.WriteString(p)
	}
	if b.sb.Len() > maxSQLSize {
		b.full = true
	}
}

// bind writes a placeholder for v.
func (b *builder) bind(v any) {
	if b.d.kind == clickhouseKind {
		b.bindAs(v, chType(v))
		return
	}
	b.bindAs(v, pgType(v))
}

func (b *builder) bindAs(v any, typ string) {
	if b.full {
		return
	}
	if len(b.args) >= maxParams {
		b.full = true
		return
	}
	if b.d.kind == sqliteKind {
		b.args = append(b.args, v)
		b.sb.WriteByte('?')
		return
	}
	k := param{v, typ}
	n, ok := b.params[k]
	if !ok {
		n = b.d.firstParam + len(b.args)
		if b.d.kind == clickhouseKind {
			b.args = append(b.args, sql.Named(chParam(n), v))
		} else {
			b.args = append(b.args, v)
		}
		b.params[k] = n
	}
	if b.d.kind == clickhouseKind {
		b.w("{", chParam(n), ":", typ, "}")
		return
	}
	b.w("$", strconv.Itoa(n), "::", typ)
}

// chParam is the name of ClickHouse parameter n.
func chParam(n int) string { return "p" + strconv.Itoa(n) }

func (b *builder) alias(prefix string) string {
	b.aliases++
	return prefix + strconv.Itoa(b.aliases)
}

func (b *builder) cond(c cond) {
	if b.full {
		return
	}
	switch c := c.(type) {
	case *boolCond:
		op := " AND "
		if c.op == Or {
			op = " OR "
		}
		b.w("(")
		for i, x := range c.xs {
			if i > 0 {
				b.w(op)
			}
			b.cond(x)
		}
		b.w(")")
	case *notCond:
		if _, ok := c.x.(*boolCond); ok {
			b.w("NOT ")
			b.cond(c.x)
			return
		}
		b.w("NOT (")
		b.cond(c.x)
		b.w(")")
	case *atomCond:
		b.atom(c)
	}
}

// atom writes a comparison chain. Annotation fields in it are read through a
// LEFT JOIN from a one-row seed inside EXISTS, as Phoenix does: the span is
// never duplicated, one annotation row must satisfy the whole chain, and a
// missing annotation reads as NULL (so "annotations['x'].label is None"
// matches spans without one).
func (b *builder) atom(a *atomCond) {
	var refs []annRef
	for _, p := range a.preds {
		if p.kind == pExists {
			continue
		}
		refs = collectAnns(p.x, refs)
		refs = collectAnns(p.y, refs)
	}
	if len(refs) > 0 && b.d.kind == clickhouseKind {
		b.chAnnotated(a, refs)
		return
	}
	if len(refs) > 0 {
		b.w("EXISTS (SELECT 1 FROM (SELECT 1) AS qs")
		if b.anns == nil {
			b.anns = map[annRef]string{}
		}
		for _, r := range refs {
			al := b.alias("qa")
			b.anns[r] = al
			b.w(" LEFT JOIN ", r.table, " ", al, " ON ")
			b.annJoin(r, al)
		}
		b.w(" WHERE ")
	}
	b.chain(a)
	if len(refs) > 0 {
		b.w(")")
	}
}

func (b *builder) chain(a *atomCond) {
	if len(a.preds) > 1 {
		b.w("(")
	}
	for i, p := range a.preds {
		if i > 0 {
			b.w(" AND ")
		}
		b.pred(p)
	}
	if len(a.preds) > 1 {
		b.w(")")
	}
}

// annFields are the positions of an annotation's fields in the tuples
// chAnnotated reads.
var annFields = map[string]string{"label": "1", "score": "2", "explanation": "3", "identifier": "4"}

// chAnnotated is atom for ClickHouse, which cannot correlate a subquery
// through a join: each annotation's rows on the span (trace, session) are
// read as one array of (label, score, explanation, identifier) tuples, a
// single row of NULLs when there is none, and one combination of rows must
// satisfy the whole chain, as with the LEFT JOINs of the other dialects.
// Each array is bound once to a lambda, so the SQL stays linear.
func (b *builder) chAnnotated(a *atomCond, refs []annRef) {
	if b.anns == nil {
		b.anns = map[annRef]string{}
	}
	for _, r := range refs {
		al := b.alias("qa")
		b.anns[r] = al
		b.w("arrayExists(", al, "s -> arrayExists(", al, " -> ")
	}
	b.chain(a)
	for i := len(refs) - 1; i >= 0; i-- {
		r, al := refs[i], b.anns[refs[i]]
		b.w(", if(empty(", al, "s), [(NULL, NULL, NULL, NULL)], ", al, "s)), [(SELECT groupArray((", al,
			"r.label, ", al, "r.score, ", al, "r.explanation, ", al, "r.identifier)) FROM ", b.from(r.table, al+"r"), " WHERE ")
		b.annJoin(r, al+"r")
		b.w(")])")
	}
}

func (b *builder) annJoin(r annRef, al string) {
	switch {
	case r.table == sessionAnnotationsTable:
		b.w(al, ".session_rowid = se.id AND ", al, ".name = ")
	case r.table == traceAnnotationsTable && b.g == traceGrain:
		b.w(al, ".trace_rowid = tr.id AND ", al, ".name = ")
	case r.table == traceAnnotationsTable:
		b.w(al, ".trace_rowid = s.trace_rowid AND ", al, ".name = ")
	default:
		b.w(al, ".span_rowid = s.id AND ", al, ".name = ")
	}
	b.bind(r.name)
}

// collectAnns lists the annotations v reads. The same name read twice is
// one join: "evals['x'].score > 0.5 and … evals['x'].label" is about one
// annotation, and each extra join would multiply the rows EXISTS looks at.
func collectAnns(v val, refs []annRef) []annRef {
	switch v := v.(type) {
	case *annVal:
		if slices.Contains(refs, *v.ref) {
			return refs
		}
		return append(refs, *v.ref)
	case *arithVal:
		return collectAnns(v.y, collectAnns(v.x, refs))
	case *negVal:
		return collectAnns(v.x, refs)
	case *convVal:
		return collectAnns(v.x, refs)
	}
	return refs
}

var sqlOps = map[CmpOp]string{Eq: " = ", Ne: " <> ", Lt: " < ", Le: " <= ", Gt: " > ", Ge: " >= "}

func (b *builder) pred(p pred) {
	switch p.kind {
	case pCompare:
		if (p.op == Eq || p.op == Ne) && (b.idLookup(p.x, []val{p.y}, p.op == Ne) || b.idLookup(p.y, []val{p.x}, p.op == Ne)) {
			return
		}
		b.val(p.x)
		b.w(sqlOps[p.op])
		b.val(p.y)
	case pIsNull:
		b.val(p.x)
		if p.neg {
			b.w(" IS NOT NULL")
		} else {
			b.w(" IS NULL")
		}
	case pIn:
		if len(p.list) == 0 {
			// "x in []" is false and "x not in []" true, whatever x is;
			// PostgreSQL has no empty IN list.
			if p.neg {
				b.w("1 = 1")
			} else {
				b.w("1 = 0")
			}
			return
		}
		list := make([]val, len(p.list))
		for i, l := range p.list {
			list[i] = l
		}
		if b.idLookup(p.x, list, p.neg) {
			return
		}
		// ClickHouse takes no correlated subquery as IN's operand, but
		// takes one bound to a lambda.
		wrap := b.d.kind == clickhouseKind && subquery(p.x)
		if wrap {
			b.w("arrayMap(qx -> qx")
		} else {
			b.val(p.x)
		}
		if p.neg {
			b.w(" NOT")
		}
		b.w(" IN (")
		for i, l := range p.list {
			if i > 0 {
				b.w(", ")
			}
			b.val(l)
		}
		b.w(")")
		if wrap {
			b.w(", [")
			b.val(p.x)
			b.w("])[1]")
		}
	case pContains:
		if p.neg {
			b.w("NOT (")
		}
		b.contains(func() { b.val(p.x) }, func() { b.val(p.y) })
		if p.neg {
			b.w(")")
		}
	case pExists:
		r := *p.x.(*annVal).ref
		if p.neg {
			b.w("NOT ")
		}
		al := b.alias("qa")
		b.w("EXISTS (SELECT 1 FROM ", b.from(r.table, al), " WHERE ")
		b.annJoin(r, al)
		b.w(")")
	case pAnyContains:
		// Every root span of the session, as Phoenix's any_input reads:
		// spans without a parent id, found through spans_trace_parent.
		a := p.y.(*anyRootVal)
		if p.neg {
			b.w("NOT ")
		}
		if b.d.kind == clickhouseKind {
			// The spans' traces are looked up by row id rather than
			// joined: a correlated subquery cannot join in ClickHouse.
			b.w("EXISTS (SELECT 1 FROM ", b.from("traces", "qr"), " WHERE qr.session_rowid = se.id AND qr.id IN (SELECT s.trace_rowid FROM ",
				b.from("spans", "s"), " WHERE s.parent_id IS NULL AND ")
			b.contains(func() { b.val(p.x) }, func() { b.w("s.", a.column) })
			b.w("))")
			return
		}
		b.w("EXISTS (SELECT 1 FROM traces qr JOIN spans s ON s.trace_rowid = qr.id AND s.parent_id IS NULL WHERE qr.session_rowid = se.id AND ")
		b.contains(func() { b.val(p.x) }, func() { b.w("s.", a.column) })
		b.w(")")
	case pRoot:
		// Phoenix's test: the parent row is absent, so orphans count as roots.
		if !p.neg {
			b.w("NOT ")
		}
		b.w("EXISTS (SELECT 1 FROM ", b.from("spans", "qp"), " WHERE qp.trace_rowid = s.trace_rowid AND qp.span_id = s.parent_id)")
	}
}

// idLookup writes "x [NOT] IN list" when x is the trace or span id, or the
// error group, and the list holds text literals: ids as a lookup of the
// spans' row ids through the ids' indexes (compared span by span,
// "trace_id == '…'" read every span of the project and the trace row of
// each), a group as a test of the failed spans an index of their own holds.
// It reports whether it wrote anything.
func (b *builder) idLookup(x val, list []val, neg bool) bool {
	c, ok := x.(*colVal)
	if !ok || (c.c != traceIDCol && c.c != errorGroupCol && (c.c != spanIDCol || b.d.spanRows == nil)) {
		return false
	}
	for _, l := range list {
		if lit, ok := l.(*litVal); !ok {
			return false
		} else if _, ok := lit.v.(string); !ok {
			return false
		}
	}
	if !neg {
		b.byID++
	}
	if c.c == errorGroupCol {
		// The group is a column of the failed span itself, held by the
		// index of failed spans (spans_project_errors; on ClickHouse, the
		// granules its failures are in): the page walks that index in
		// start-time order. As a set of row ids, the planner took the
		// project's start-time index and tested each span in range.
		if neg {
			b.w("NOT ")
		}
		ifNull := "coalesce"
		if b.d.kind == clickhouseKind {
			ifNull = "ifNull"
		}
		b.w("(s.status_code = 'ERROR' AND ", ifNull, "(s.error_group, '') IN (")
		for i, l := range list {
			if i > 0 {
				b.w(", ")
			}
			b.val(l)
		}
		b.w("))")
		return true
	}
	if b.d.kind == clickhouseKind {
		// A semi-join on the trace's row id: the set is built once.
		if neg {
			b.w("s.trace_rowid NOT IN (")
		} else {
			b.w("s.trace_rowid IN (")
		}
		b.w("SELECT qt.id FROM ", b.from("traces", "qt"), " WHERE qt.trace_id IN (")
		for i, l := range list {
			if i > 0 {
				b.w(", ")
			}
			b.val(l)
		}
		b.w("))")
		return true
	}
	if neg {
		b.w("s.id NOT IN (")
	} else if b.d.kind == postgresKind {
		b.w("s.id IN (")
	} else {
		// SQLite's statistics, sampled (PRAGMA optimize with an analysis
		// limit), can make walking the project in the page's order look
		// cheaper than reading a few rows and sorting them; the likelihood
		// says how few match.
		b.w("likelihood(s.id IN (")
	}
	rows := b.d.spanRows
	if c.c == traceIDCol {
		rows = b.d.traceSpanRows
	}
	if rows == nil {
		b.w("SELECT qs.id FROM spans qs WHERE qs.trace_rowid IN (SELECT qt.id FROM traces qt WHERE qt.trace_id IN (")
		for i, l := range list {
			if i > 0 {
				b.w(", ")
			}
			b.val(l)
		}
		b.w("))")
	} else {
		// The subquery's placeholders are SQLite's plain "?", bound in order.
		b.w(rows(len(list)))
		for _, l := range list {
			if len(b.args) >= maxParams {
				b.full = true
				break
			}
			b.args = append(b.args, l.(*litVal).v)
		}
	}
	b.w(")")
	if !neg && b.d.kind == sqliteKind {
		b.w(", 0.000001)")
	}
	return true
}

func (b *builder) val(v val) {
	if b.full {
		return
	}
	switch v := v.(type) {
	case *litVal:
		b.bind(v.v)
	case *colVal:
		b.column(v.c)
	case *attrVal:
		b.attr(v)
	case *annVal:
		if b.d.kind == clickhouseKind {
			b.w("tupleElement(", b.anns[*v.ref], ", ", annFields[v.field], ")")
			return
		}
		b.w(b.anns[*v.ref], ".", v.field)
	case *arithVal:
		b.arith(v)
	case *negVal:
		b.w("(- ")
		b.val(v.x)
		b.w(")")
	case *convVal:
		b.conv(v)
	case *rootVal:
		b.root(v)
	}
}

// root reads v.x on a root span, aliased s in a scalar subquery: the
// trace's root span (one probe of spans_trace_span), or the root span of
// the session's first or last trace, in start order as the session's
// first input and last output are chosen. No root span reads NULL.
func (b *builder) root(v *rootVal) {
	if b.d.kind == clickhouseKind {
		b.chRoot(v)
		return
	}
	b.w("(SELECT ")
	b.val(v.x)
	if b.g == traceGrain {
		b.w(" FROM spans s WHERE s.trace_rowid = tr.id AND s.span_id = tr.root_span_id)")
		return
	}
	b.w(" FROM traces qr JOIN spans s ON s.trace_rowid = qr.id AND s.span_id = qr.root_span_id WHERE qr.session_rowid = se.id ORDER BY ")
	if v.last {
		b.w("qr.start_time DESC, qr.id DESC")
	} else {
		b.w("qr.start_time, qr.id")
	}
	b.w(" LIMIT 1)")
}

// chRoot is root for ClickHouse, which cannot correlate a subquery with a
// LIMIT: the session's first (last) root span is the one argMin (argMax)
// picks, its value wrapped in a tuple so that a NULL is not skipped.
func (b *builder) chRoot(v *rootVal) {
	if b.g == traceGrain {
		b.w("(SELECT ")
		b.val(v.x)
		b.w(" FROM ", b.from("spans", "s"), " WHERE s.trace_rowid = tr.id AND s.span_id = tr.root_span_id)")
		return
	}
	pick := "argMin"
	if v.last {
		pick = "argMax"
	}
	b.w("(SELECT tupleElement(", pick, "(tuple(")
	b.val(v.x)
	b.w("), (qr.start_time, qr.id)), 1) FROM ", b.from("spans", "s"), " JOIN ", b.from(TraceSums, "qr"),
		" ON s.trace_rowid = qr.id AND s.span_id = qr.root_span_id WHERE qr.session_rowid = se.id)")
}

func (c *column) table() string {
	if c.alias == "" {
		return "s"
	}
	return c.alias
}

func (b *builder) column(c *column) {
	switch c.kind {
	case colPlain:
		if c.zero {
			b.w("COALESCE(", c.table(), ".", c.sql, ", 0)")
			return
		}
		b.w(c.table(), ".", c.sql)
	case colJSON:
		b.jsonColumn(c.sql)
	case colLatency:
		b.latency(c.table())
	case colSessionTraces:
		// A session's traces are found through traces_session.
		if b.d.kind == clickhouseKind {
			// A decorrelated aggregate over no rows reads NULL, not 0.
			b.w("COALESCE(")
		}
		b.w("(SELECT COALESCE(", c.sql, ", 0) FROM ", b.from(TraceSums, "qt"), " WHERE qt.session_rowid = se.id")
		if c.where != "" {
			b.w(" AND ", c.where)
		}
		b.w(")")
		if b.d.kind == clickhouseKind {
			b.w(", 0)")
		}
	case colTraceID:
		b.w("(SELECT qt.trace_id FROM ", b.from("traces", "qt"), " WHERE qt.id = s.trace_rowid)")
	case colCumulative:
		b.cumulative(c)
	}
}

// cumulative sums token counts over the span and its descendants, walking
// parent_id links within the span's trace. UNION (not UNION ALL) stops at a
// cycle in bad data instead of looping.
func (b *builder) cumulative(c *column) {
	if b.d.kind == clickhouseKind {
		b.chCumulative(c)
		return
	}
	tokens := func(al string) {
		if c.sql == "" {
			b.w("COALESCE(", al, ".prompt_tokens, 0) + COALESCE(", al, ".completion_tokens, 0)")
			return
		}
		b.w("COALESCE(", al, ".", c.sql, ", 0)")
	}
	b.w("(WITH RECURSIVE qd(span_id, n) AS (SELECT s.span_id, ")
	tokens("s")
	b.w(" UNION SELECT qc.span_id, ")
	tokens("qc")
	b.w(" FROM spans qc JOIN qd ON qc.parent_id = qd.span_id WHERE qc.trace_rowid = s.trace_rowid)",
		" SELECT COALESCE(SUM(qd.n), 0) FROM qd)")
}

// chCumulative is cumulative for ClickHouse, whose recursive queries can be
// neither correlated nor UNION DISTINCT: the tokens of each span that has
// some climb its ancestors, the path walked so far stopping a cycle, and the
// span sums what reached it.
func (b *builder) chCumulative(c *column) {
	tokens := func(al string) {
		if c.sql == "" {
			b.w("COALESCE(", al, ".prompt_tokens, 0) + COALESCE(", al, ".completion_tokens, 0)")
			return
		}
		b.w("COALESCE(", al, ".", c.sql, ", 0)")
	}
	b.w("COALESCE((WITH RECURSIVE qd AS (SELECT qs.trace_rowid AS trace_rowid, qs.span_id AS span_id, qs.parent_id AS parent_id, [qs.span_id] AS path, ")
	tokens("qs")
	b.w(" AS n FROM ", b.from("spans", "qs"), " WHERE n <> 0 UNION ALL SELECT qp.trace_rowid, qp.span_id, qp.parent_id, arrayPushBack(qd.path, qp.span_id), qd.n FROM ",
		b.from("spans", "qp"), " JOIN qd ON qp.trace_rowid = qd.trace_rowid AND qp.span_id = qd.parent_id WHERE NOT has(qd.path, qp.span_id))",
		" SELECT sum(qd.n) FROM qd WHERE qd.trace_rowid = s.trace_rowid AND qd.span_id = s.span_id), 0)")
}

func (b *builder) arith(v *arithVal) {
	if v.t == tyText {
		b.w("(")
		b.val(v.x)
		b.w(" || ")
		b.val(v.y)
		b.w(")")
		return
	}
	// Python's / is true division, so operands become floating point;
	// that also keeps PostgreSQL's bigint arithmetic from overflowing.
	x := func() { b.float(v.x) }
	y := func() { b.float(v.y) }
	// Dividing by zero gives NULL (no match) rather than an error.
	div := func() { x(); b.w(" / NULLIF("); y(); b.w(", 0)") }
	switch v.op {
	case Div:
		b.w("(")
		div()
		b.w(")")
	case FloorDiv:
		b.w("floor(")
		div()
		b.w(")")
	case Mod:
		b.mod(x, y)
	default:
		b.w("(")
		x()
		b.w(" ", string(v.op), " ")
		y()
		b.w(")")
	}
}

// subquery reports whether v reads a subquery of the span's (trace's,
// session's) row.
func subquery(v val) bool {
	switch v := v.(type) {
	case *rootVal:
		return true
	case *colVal:
		switch v.c.kind {
		case colTraceID, colSessionTraces, colCumulative:
			return true
		}
	case *arithVal:
		return subquery(v.x) || subquery(v.y)
	case *negVal:
		return subquery(v.x)
	case *convVal:
		return subquery(v.x)
	}
	return false
}

func isFloat(v val) bool {
	switch v := v.(type) {
	case *litVal:
		_, ok := v.v.(float64)
		return ok
	case *colVal:
		return v.c.kind == colLatency
	case *arithVal:
		return true
	case *negVal:
		return isFloat(v.x)
	case *convVal:
		return v.fn == "float"
	case *annVal:
		return v.field == "score"
	case *rootVal:
		return isFloat(v.x)
	}
	return false
}

func (b *builder) conv(v *convVal) {
	x := func() { b.val(v.x) }
	switch {
	case v.fn == "str" && b.d.kind == clickhouseKind:
		// toString keeps NULL, where CAST(NULL AS String) fails.
		b.w("toString(")
		x()
		b.w(")")
	case v.fn == "str":
		b.w("CAST(")
		x()
		b.w(" AS TEXT)")
	case v.x.vtype() == tyText && v.fn == "float":
		b.parseNumber(x)
	case v.x.vtype() == tyText:
		b.truncate(func() { b.parseNumber(x) })
	case v.fn == "float":
		b.float(v.x)
	default:
		b.truncate(x)
	}
}
