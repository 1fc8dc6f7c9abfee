package spanquery

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// A SpanQuery's DataFrame is written as pandas' "table" JSON, whose schema
// (every column's name and type) comes before the rows. Which columns there
// are and what type each has depends on every row: an attribute column
// exists if some span has the attribute, and a whole-number column is
// "integer" only if no row lacks a value. So each query reads its spans
// twice: the first pass learns the columns and their types (a shape), the
// second writes the rows. Both passes read the same spans (a row-id pin, and
// the last span of the first pass as the end of the second); a span that
// does not fit the written schema all the same (it was moved into the
// project, or an annotation the filter reads changed, between the passes) is
// left out rather than written under a schema that misdescribes it.

// maxFrameColumns bounds the columns of one DataFrame: spans whose
// attribute keys are all different would otherwise give a column per span,
// and a row per span with a cell for each.
const maxFrameColumns = 10_000

// colStats accumulates what the type of a column depends on.
type colStats struct {
	n                                       int // values added, nil included
	null, ints, floats, bools, times, other bool
}

// some reports whether the column has a value.
func (c *colStats) some() bool { return c.ints || c.floats || c.bools || c.times || c.other }

// cellKind is what a cell's value contributes to its column's type.
type cellKind uint8

const (
	kindNull cellKind = iota
	kindInt
	kindFloat
	kindBool
	kindTime
	kindOther
)

func kindOf(v any) cellKind {
	switch v.(type) {
	case nil:
		return kindNull
	case int64:
		return kindInt
	case float64:
		return kindFloat
	case bool:
		return kindBool
	case timestamp:
		return kindTime
	}
	return kindOther
}

func (c *colStats) add(v any) { c.addKind(kindOf(v)) }

func (c *colStats) addKind(k cellKind) {
	c.n++
	switch k {
	case kindNull:
		c.null = true
	case kindInt:
		c.ints = true
	case kindFloat:
		c.floats = true
	case kindBool:
		c.bools = true
	case kindTime:
		c.times = true
	default:
		c.other = true
	}
}

// typ is the column's table type over rows rows, those that added nothing
// to it being missing values. See columnType.
func (c *colStats) typ(rows int) string {
	null := c.null || c.n < rows
	numeric := c.ints || c.floats
	switch {
	case c.other || rows == 0:
		return tableString
	case c.times:
		if numeric || c.bools {
			return tableString
		}
		return tableDatetime
	case c.bools:
		if numeric || null {
			return tableString
		}
		return tableBoolean
	case c.floats || (c.ints && null):
		return tableNumber
	case c.ints:
		return tableInteger
	}
	return tableString // all missing
}

// fits reports whether v can be written in a column of type typ without
// contradicting it.
func fits(typ string, v any) bool {
	switch typ {
	case tableInteger:
		_, ok := v.(int64)
		return ok
	case tableNumber:
		switch v.(type) {
		case nil, int64, float64:
			return true
		}
		return false
	case tableBoolean:
		_, ok := v.(bool)
		return ok
	case tableDatetime:
		switch v.(type) {
		case nil, timestamp:
			return true
		}
		return false
	}
	return true
}

func rowFits(types []string, row []any) bool {
	for j, v := range row {
		if !fits(types[j], v) {
			return false
		}
	}
	return true
}

// tooManyColumns is the error of a DataFrame wider than maxFrameColumns.
func tooManyColumns() error {
	return errorf(http.StatusUnprocessableEntity,
		"the query's DataFrame would have more than %d columns; select the columns you need", maxFrameColumns)
}

// frameShape is one query's DataFrame as its two passes build it: scan
// sees each span the query covers in the first pass, layout then fixes the
// columns and their types, and rows writes each span's rows in the second
// pass, reporting false for a span that does not fit the layout.
type frameShape interface {
	scan(r *spanRow) error
	layout() (index, cols, types []string)
	rows(r *spanRow, emit func([]any) error) (bool, error)
}

func (q spanQuery) shape() frameShape {
	switch {
	case len(q.selects) == 0 && q.explode == nil && q.concat == nil:
		return &defaultShape{attrs: map[string]*colStats{}}
	case q.explode != nil:
		return newExplodeShape(q)
	}
	return newSelectShape(q)
}

// renamed applies SpanQuery's aliases and renames to data column names;
// index names keep the key they were given.
func (q spanQuery) renamed(cols []string) []string {
	out := make([]string, len(cols))
	for i, c := range cols {
		if to, ok := projectionAliases[c]; ok {
			c = to
		}
		for _, m := range q.rename {
			if m.name == c {
				c = m.value
				break
			}
		}
		out[i] = c
	}
	return out
}

// --- the default frame ---

// defaultColumns are the columns of a query without select, explode or
// concat, before one attributes.<name> column per attribute.
var defaultColumns = []string{"name", "span_kind", "parent_id", "start_time", "end_time",
	"status_code", "status_message", "events", "context.span_id", "context.trace_id"}

// defaultShape is _get_spans_dataframe: the span's fields, then its
// attributes reshaped by frameAttributes, indexed by span id (kept as a
// column too). Index and rename do not apply, as in Phoenix.
type defaultShape struct {
	fixed [11]colStats // the index, then defaultColumns
	attrs map[string]*colStats
	spans int
	// shapes caches the attribute columns of a span, and their kinds, by
	// the shape of its attributes (attributeShape): spans of one
	// instrumentation share a few shapes, and reshaping a span's
	// attributes costs most of what the first pass spends on it.
	shapes map[string][]shapeColumn
	buf    []byte
	names  []string            // attribute names, sorted, once laid out
	col    map[string]int      // attribute name → its place among names
	types  []string            // once laid out
	row    []any               // reused by rows
	vals   map[string]struct{} // reused by rows

	// walk and plans are the fast path (plan.go): spans whose attributes
	// have a shape seen before are written from its plan.
	walk  docWalk
	plans map[string]*attrPlan
	// plainFixed says, once laid out, that every span's own fields fit
	// their columns, as they do when the frame has rows.
	plainFixed bool
	// exact sends every span the exact way, for tests to compare.
	exact bool
}

// planOf is the plan of doc's shape, with s.walk holding doc's scalars;
// nil when doc takes the exact path.
func (s *defaultShape) planOf(doc []byte) *attrPlan {
	if s.exact {
		return nil
	}
	s.walk.build = false
	if _, ok := s.walk.walk(doc); !ok {
		return nil
	}
	if p, ok := s.plans[string(s.walk.shape)]; ok {
		return p
	}
	if len(s.plans) >= maxShapes {
		return nil
	}
	key := string(s.walk.shape)
	s.walk.build = true
	m, ok := s.walk.walk(doc)
	s.walk.build = false
	if !ok {
		return nil
	}
	p := newPlan(m, s.walk.leaves)
	if s.plans == nil {
		s.plans = map[string]*attrPlan{}
	}
	s.plans[key] = p
	return p
}

func (s *defaultShape) fixedRow(r *spanRow) ([]any, error) {
	rec := r.rec
	events, err := r.events()
	if err != nil {
		return nil, err
	}
	return []any{rec.SpanID, rec.Name, string(rec.View.Kind), parentValue(rec), timestamp(rec.StartTime),
		timestamp(rec.EndTime), string(rec.StatusCode), rec.StatusMessage, events, rec.SpanID, rec.TraceID}, nil
}

// shapeColumn is an attribute column a shape of attributes gives, with the
// kind of its value.
type shapeColumn struct {
	name string
	kind cellKind
}

// maxShapes bounds defaultShape.shapes; spans of shapes beyond it are
// reshaped one by one.
const maxShapes = 4096

// fixedKinds are the kinds of a span's own fields, as fixedRow gives them.
func fixedKinds(rec *store.SpanRecord) [11]cellKind {
	k := [11]cellKind{kindOther, kindOther, kindOther, kindOther, kindTime, kindTime,
		kindOther, kindOther, kindOther, kindOther, kindOther}
	if rec.ParentID == "" {
		k[3] = kindNull
	}
	return k
}

// plainFixedTypes are the types of the columns of a span's own fields in
// a frame with rows.
var plainFixedTypes = [11]string{tableString, tableString, tableString, tableString, tableDatetime,
	tableDatetime, tableString, tableString, tableString, tableString, tableString}

func (s *defaultShape) scan(r *spanRow) error {
	for j, k := range fixedKinds(r.rec) {
		s.fixed[j].addKind(k)
	}
	s.spans++
	if p := s.planOf(r.rec.AttributesJSON); p != nil && !p.slow {
		if p.stats == nil {
			p.stats = make([]*colStats, len(p.cols))
			for k, col := range p.cols {
				c, err := s.attrStats(col.name)
				if err != nil {
					return err
				}
				p.stats[k] = c
			}
		}
		for k, c := range p.stats {
			c.addKind(p.cols[k].kind)
		}
		return nil
	}
	cols, err := s.columnsOf(r)
	if err != nil {
		return err
	}
	for _, col := range cols {
		c, err := s.attrStats(col.name)
		if err != nil {
			return err
		}
		c.addKind(col.kind)
	}
	return nil
}

// attrStats are the stats of an attribute column, new if need be.
func (s *defaultShape) attrStats(name string) (*colStats, error) {
	c, ok := s.attrs[name]
	if !ok {
		if len(s.attrs) == maxFrameColumns {
			return nil, tooManyColumns()
		}
		c = &colStats{}
		s.attrs[name] = c
	}
	return c, nil
}

// columnsOf lists a span's attribute columns with the kinds of their
// values, from the cache when a span of the same shape was seen.
func (s *defaultShape) columnsOf(r *spanRow) ([]shapeColumn, error) {
	v, err := decodeJSONValue(r.rec.AttributesJSON)
	if err != nil {
		// r.doc says what is wrong, or degrades as it does.
		v = nil
	}
	flat, _ := v.(map[string]any)
	var key string
	if flat != nil {
		s.buf = attributeShape(s.buf[:0], flat)
		if cols, ok := s.shapes[string(s.buf)]; ok {
			return cols, nil
		}
		key = string(s.buf)
	}
	doc, err := r.doc()
	if err != nil {
		return nil, err
	}
	attrs := frameAttributes(doc)
	cols := make([]shapeColumn, 0, len(attrs))
	for k, v := range attrs {
		cols = append(cols, shapeColumn{k, kindOf(v)})
	}
	if key != "" && len(s.shapes) < maxShapes {
		if s.shapes == nil {
			s.shapes = map[string][]shapeColumn{}
		}
		s.shapes[key] = cols
	}
	return cols, nil
}

// attributeShape writes the shape of a span's flat attributes: everything
// frameAttributes' columns and the kinds of their values depend on, and
// nothing else. That is the keys, and the kind of each value, all the way
// down, except that text under a JSON-string attribute counts as what it
// parses to (and whether that is empty, which drops it), since it is
// parsed; other text is just text.
func attributeShape(b []byte, flat map[string]any) []byte {
	b = append(b, '{')
	for i, k := range sortedKeys(flat) {
		if i > 0 {
			b = append(b, ',')
		}
		b = span.AppendJSONString(b, k)
		b = append(b, ':')
		b = appendShape(b, flat[k], k)
	}
	return append(b, '}')
}

func appendShape(b []byte, v any, path string) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, 'n')
	case bool:
		return append(b, 'b')
	case int64:
		return append(b, 'i')
	case float64:
		return append(b, 'f')
	case string:
		if !isJSONStringAttribute(path) {
			return append(b, 's')
		}
		parsed, err := decodeJSONValue([]byte(x))
		if err != nil {
			return append(b, 's')
		}
		if !truthy(parsed) {
			return append(b, 'j', '0')
		}
		return appendShape(append(b, 'j'), parsed, path)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendShape(b, e, path+"."+strconv.Itoa(i))
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ',')
			}
			b = span.AppendJSONString(b, k)
			b = append(b, ':')
			b = appendShape(b, x[k], path+"."+k)
		}
		return append(b, '}')
	}
	return append(b, '?')
}

func (s *defaultShape) layout() (index, cols, types []string) {
	for k := range s.attrs {
		s.names = append(s.names, k)
	}
	slices.Sort(s.names)
	s.col = make(map[string]int, len(s.names))
	cols = append([]string(nil), defaultColumns...)
	for j, n := range s.names {
		s.col[n] = j
		cols = append(cols, "attributes."+n)
	}
	for j := range s.fixed {
		types = append(types, s.fixed[j].typ(s.spans))
	}
	for _, n := range s.names {
		types = append(types, s.attrs[n].typ(s.spans))
	}
	s.types = types
	s.plainFixed = [11]string(types[:11]) == plainFixedTypes
	return []string{"context.span_id"}, cols, types
}

// appendRow writes a span's row to b, as rows and table.appendRow do, or
// reports that the span does not fit the layout. Spans of a shape with a
// plan are written from it, the others the exact way.
func (s *defaultShape) appendRow(b []byte, t *table, r *spanRow, first bool) ([]byte, bool, error) {
	p := s.planOf(r.rec.AttributesJSON)
	if p == nil || p.slow || !s.plainFixed {
		ok, err := s.rows(r, func(row []any) error {
			b = t.appendRow(b, row, first)
			return nil
		})
		return b, ok, err
	}
	if !p.laidOut {
		s.layPlan(p)
	}
	if !p.fits {
		return b, false, nil
	}
	rec := r.rec
	if !first {
		b = append(b, ',')
	}
	b = append(append(b, '{'), t.keys[0]...)
	b = span.AppendJSONString(b, rec.SpanID)
	b = span.AppendJSONString(append(append(b, ','), t.keys[1]...), rec.Name)
	b = span.AppendJSONString(append(append(b, ','), t.keys[2]...), string(rec.View.Kind))
	b = append(append(b, ','), t.keys[3]...)
	if rec.ParentID == "" {
		b = append(b, "null"...)
	} else {
		b = span.AppendJSONString(b, rec.ParentID)
	}
	b = appendTimestamp(append(append(b, ','), t.keys[4]...), rec.StartTime)
	b = appendTimestamp(append(append(b, ','), t.keys[5]...), rec.EndTime)
	b = span.AppendJSONString(append(append(b, ','), t.keys[6]...), string(rec.StatusCode))
	b = span.AppendJSONString(append(append(b, ','), t.keys[7]...), rec.StatusMessage)
	b = append(append(b, ','), t.keys[8]...)
	if string(rec.EventsJSON) == "[]" {
		b = append(b, "[]"...)
	} else {
		events, err := r.events()
		if err != nil {
			return b, false, err
		}
		b = appendCell(b, events)
	}
	b = span.AppendJSONString(append(append(b, ','), t.keys[9]...), rec.SpanID)
	b = span.AppendJSONString(append(append(b, ','), t.keys[10]...), rec.TraceID)
	for j, k := range p.byCol {
		b = append(append(b, ','), t.keys[len(plainFixedTypes)+j]...)
		if k < 0 {
			b = append(b, "null"...)
			continue
		}
		b = appendTmpl(b, &p.cols[k].tmpl, s.walk.leaves, s.types[len(plainFixedTypes)+j] == tableNumber, &s.buf)
	}
	return append(b, '}'), true, nil
}

// layPlan places a plan's columns in the layout, and finds whether its
// spans fit the layout: every column known, and of a type its values, or
// its missing values, fit.
func (s *defaultShape) layPlan(p *attrPlan) {
	p.laidOut = true
	p.byCol = make([]int, len(s.names))
	for j := range p.byCol {
		p.byCol[j] = -1
	}
	for k, c := range p.cols {
		j, ok := s.col[c.name]
		if !ok || !fits(s.types[len(plainFixedTypes)+j], kindValue(c.kind)) {
			return
		}
		p.byCol[j] = k
	}
	for j, k := range p.byCol {
		if k < 0 && !fits(s.types[len(plainFixedTypes)+j], nil) {
			return
		}
	}
	p.fits = true
}

func (s *defaultShape) rows(r *spanRow, emit func([]any) error) (bool, error) {
	row, err := s.fixedRow(r)
	if err != nil {
		return false, err
	}
	doc, err := r.doc()
	if err != nil {
		return false, err
	}
	attrs := frameAttributes(doc)
	s.row = append(s.row[:0], row...)
	s.row = append(s.row, make([]any, len(s.names))...)
	for k, v := range attrs {
		j, ok := s.col[k]
		if !ok {
			return false, nil
		}
		s.row[len(row)+j] = v
	}
	if !rowFits(s.types, s.row) {
		return false, nil
	}
	return true, emit(s.row)
}

// --- select and concat ---

// selectShape is the select and concat path: one row per span, indexed by
// the query's index; a selected column named like the index becomes the
// index. Concat columns appear when some span has a value for them, as
// pandas builds them from records.
type selectShape struct {
	q        spanQuery
	indexSel int
	base     []colStats // the index, then the selects but the index one
	concat   concatStats
	spans    int
	present  []string // concat columns, once laid out
	types    []string
}

func newSelectShape(q spanQuery) *selectShape {
	s := &selectShape{q: q, indexSel: q.indexSelect(q.index.key)}
	s.base = make([]colStats, 1+len(q.selects))
	s.concat.init(q.concat)
	return s
}

func (s *selectShape) scan(r *spanRow) error {
	base, err := s.q.baseRow(r, s.indexSel, s.q.index, "")
	if err != nil {
		return err
	}
	for j, v := range base {
		s.base[j].add(v)
	}
	vals, err := s.q.concatValues(r)
	if err != nil {
		return err
	}
	s.concat.add(vals, nil)
	s.spans++
	return nil
}

func (s *selectShape) layout() (index, cols, types []string) {
	for i, sel := range s.q.selects {
		if i != s.indexSel {
			cols = append(cols, sel.name)
		}
	}
	for j := range 1 + len(cols) {
		types = append(types, s.base[j].typ(s.spans))
	}
	s.present = s.concat.columns(s.spans)
	cols = append(cols, s.present...)
	for _, c := range s.present {
		types = append(types, s.concat.plain[c].typ(s.spans))
	}
	s.types = types
	return []string{s.q.index.key}, s.q.renamed(cols), types
}

func (s *selectShape) rows(r *spanRow, emit func([]any) error) (bool, error) {
	row, err := s.q.baseRow(r, s.indexSel, s.q.index, "")
	if err != nil {
		return false, err
	}
	vals, err := s.q.concatValues(r)
	if err != nil {
		return false, err
	}
	if !s.concat.within(vals, s.present) {
		return false, nil
	}
	for _, c := range s.present {
		row = append(row, vals[c])
	}
	if !rowFits(s.types, row) {
		return false, nil
	}
	return true, emit(row)
}

// concatStats learns the concat columns: their names in kwargs order (or
// the list's key without kwargs), which of them some span has a value for,
// and the stats of each as written alone (plain) and as an exploded column
// of the same name fills it where it is empty (merged).
type concatStats struct {
	names  []string // in order, possibly repeated, as kwargs are
	plain  map[string]*colStats
	merged map[string]*colStats
	kwargs bool
}

func (c *concatStats) init(op *arrayOp) {
	c.plain, c.merged = map[string]*colStats{}, map[string]*colStats{}
	if op == nil {
		return
	}
	c.kwargs = len(op.kwargs) > 0
	if c.kwargs {
		for _, m := range op.kwargs {
			c.names = append(c.names, m.name)
		}
	} else {
		c.names = []string{op.proj.key}
	}
	for _, n := range c.names {
		c.plain[n], c.merged[n] = &colStats{}, &colStats{}
	}
}

// add adds one row's concat values, and for the merged stats the exploded
// record of the row (nil if none).
func (c *concatStats) add(vals map[string]any, rec map[string]any) {
	for n, st := range c.plain {
		v := vals[n]
		st.add(v)
		if v == nil {
			v = rec[n]
		}
		c.merged[n].add(v)
	}
}

// columns are the concat columns, in order: those some span has a value
// for, or, with no spans at all, every kwargs name.
func (c *concatStats) columns(spans int) []string {
	var out []string
	for _, n := range c.names {
		if spans == 0 && c.kwargs || c.plain[n].some() {
			out = append(out, n)
		}
	}
	return out
}

// within reports whether a span's concat values all have a column.
func (c *concatStats) within(vals map[string]any, present []string) bool {
	for n, v := range vals {
		if v != nil && !slices.Contains(present, n) {
			return false
		}
	}
	return true
}

// --- explode ---

// explodeShape is the explode path: one row per object of each span's
// list, indexed by (primary index, position). A span whose list holds no
// object keeps one row with empty explode columns, as Phoenix's outer join
// leaves it. A column both selected and exploded is one column: the
// selected value, or the exploded one where that is missing (_outer_join).
type explodeShape struct {
	q        spanQuery
	op       *arrayOp
	indexSel int
	sels     []string    // the selected columns, but the index one and the position
	firstSel []bool      // whether each is the first column of its name
	index    [2]colStats // primary index, position
	selStats []colStats
	concat   concatStats
	exploded []string // exploded keys, in first-seen order
	expStats map[string]*colStats
	rowsN    int
	spans    int

	// once laid out
	present []string
	colAt   map[string]int // column name → first data column of that name
	extra   []string
	isExtra map[string]bool
	types   []string
	row     []any
}

func newExplodeShape(q spanQuery) *explodeShape {
	op := q.explode
	s := &explodeShape{q: q, op: op, indexSel: q.indexSelect(op.primary.key), expStats: map[string]*colStats{}}
	seen := map[string]bool{}
	for i, sel := range q.selects {
		if i == s.indexSel || sel.name == op.position {
			continue
		}
		s.sels = append(s.sels, sel.name)
		s.firstSel = append(s.firstSel, !seen[sel.name])
		seen[sel.name] = true
	}
	s.selStats = make([]colStats, len(s.sels))
	s.concat.init(q.concat)
	return s
}

// spanRows are a span's base values (primary index, then the selects) and
// exploded records.
func (s *explodeShape) spanRows(r *spanRow) (base []any, vals map[string]any, recs []map[string]any, err error) {
	if base, err = s.q.baseRow(r, s.indexSel, s.op.primary, s.op.position); err != nil {
		return
	}
	if vals, err = s.q.concatValues(r); err != nil {
		return
	}
	v, err := s.op.proj.value(r)
	if err != nil {
		return
	}
	list, _ := v.([]any)
	return base, vals, explodeRecords(list, s.op), nil
}

func (s *explodeShape) scan(r *spanRow) error {
	base, vals, recs, err := s.spanRows(r)
	if err != nil {
		return err
	}
	s.spans++
	if len(recs) == 0 {
		recs = []map[string]any{nil}
	}
	for _, rec := range recs {
		s.rowsN++
		s.index[0].add(base[0])
		s.index[1].add(rec[s.op.position])
		for j, name := range s.sels {
			v := base[1+j]
			if v == nil && s.firstSel[j] {
				v = rec[name]
			}
			s.selStats[j].add(v)
		}
		s.concat.add(vals, rec)
		if rec == nil {
			continue
		}
		for _, k := range recordKeys(rec, s.op) {
			if k == s.op.position {
				continue
			}
			st, ok := s.expStats[k]
			if !ok {
				if len(s.expStats) == maxFrameColumns {
					return tooManyColumns()
				}
				st = &colStats{}
				s.expStats[k] = st
				s.exploded = append(s.exploded, k)
			}
			st.add(rec[k])
		}
	}
	return nil
}

func (s *explodeShape) layout() (index, cols, types []string) {
	rows := s.rowsN
	cols = append(cols, s.sels...)
	for j := range s.sels {
		types = append(types, s.selStats[j].typ(rows))
	}
	s.present = s.concat.columns(s.spans)
	s.colAt = map[string]int{}
	for j, c := range s.sels {
		if _, dup := s.colAt[c]; !dup {
			s.colAt[c] = j
		}
	}
	for _, c := range s.present {
		st := s.concat.plain[c]
		if _, dup := s.colAt[c]; !dup {
			s.colAt[c] = len(cols)
			st = s.concat.merged[c]
		}
		cols = append(cols, c)
		types = append(types, st.typ(rows))
	}
	if s.spans == 0 {
		for _, m := range s.op.kwargs {
			cols = append(cols, m.name)
			types = append(types, tableString)
		}
	}
	s.isExtra = map[string]bool{}
	for _, k := range s.exploded {
		if _, ok := s.colAt[k]; !ok {
			s.isExtra[k] = true
			s.extra = append(s.extra, k)
			cols = append(cols, k)
			types = append(types, s.expStats[k].typ(rows))
		}
	}
	types = append([]string{s.index[0].typ(rows), s.index[1].typ(rows)}, types...)
	s.types = types
	return []string{s.op.primary.key, s.op.position}, s.q.renamed(cols), types
}

func (s *explodeShape) rows(r *spanRow, emit func([]any) error) (bool, error) {
	base, vals, recs, err := s.spanRows(r)
	if err != nil {
		return false, err
	}
	if !s.concat.within(vals, s.present) {
		return false, nil
	}
	for _, c := range s.present {
		base = append(base, vals[c])
	}
	nbase := len(base) - 1
	var out [][]any
	if len(recs) == 0 {
		row := append([]any{base[0], nil}, base[1:]...)
		out = append(out, append(row, make([]any, len(s.extra))...))
	}
	for _, rec := range recs {
		for k := range rec {
			if _, known := s.colAt[k]; !known && k != s.op.position && !s.isExtra[k] {
				return false, nil
			}
		}
		row := append([]any{base[0], rec[s.op.position]}, base[1:]...)
		for k, v := range rec {
			if j, ok := s.colAt[k]; ok && j < nbase && row[2+j] == nil {
				row[2+j] = v
			}
		}
		for _, k := range s.extra {
			row = append(row, rec[k])
		}
		out = append(out, row)
	}
	for _, row := range out {
		if !rowFits(s.types, row) {
			return false, nil
		}
	}
	for _, row := range out {
		if err := emit(row); err != nil {
			return true, err
		}
	}
	return true, nil
}

// indexSelect is the select used as the index (the first named like the
// index key), or -1.
func (q spanQuery) indexSelect(key string) int {
	for i, s := range q.selects {
		if s.name == key {
			return i
		}
	}
	return -1
}

// concatValues joins a span's concat list: all of it as text without
// kwargs, else each named field of its objects; a column without a value
// is absent. nil without a concat or a list.
func (q spanQuery) concatValues(r *spanRow) (map[string]any, error) {
	op := q.concat
	if op == nil {
		return nil, nil
	}
	v, err := op.proj.value(r)
	if err != nil {
		return nil, err
	}
	list, _ := v.([]any)
	if list == nil {
		return nil, nil
	}
	out := map[string]any{}
	if len(op.kwargs) == 0 {
		parts := make([]string, len(list))
		for j, e := range list {
			parts[j] = pyStr(e)
		}
		out[op.proj.key] = strings.Join(parts, op.separator)
		return out, nil
	}
	for _, m := range op.kwargs {
		var parts []string
		for _, e := range list {
			if obj, ok := e.(map[string]any); ok {
				if fv := attributeValue(obj, m.value); fv != nil {
					parts = append(parts, pyStr(fv))
				}
			}
		}
		if parts != nil {
			out[m.name] = strings.Join(parts, op.separator)
		}
	}
	return out, nil
}

// key names the attribute path an explode or concat reads, for the store
// to keep only the spans that may hold it: the path's leading names, up to
// its first list position. "" when it reads no attribute (a span field), or
// starts with a position.
func (p projection) attributeKey() string {
	if p.column != "" {
		return ""
	}
	var parts []string
	for _, x := range p.path {
		s, ok := x.(string)
		if !ok {
			break
		}
		if _, isIndex := digits(s); isIndex {
			break
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ".")
}
