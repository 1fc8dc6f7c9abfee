package query

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// dialectKind is the database a Dialect writes for.
type dialectKind uint8

const (
	sqliteKind dialectKind = iota
	postgresKind
	clickhouseKind
)

// Dialect is the SQL flavour Compile writes. The zero value is SQLite.
type Dialect struct {
	kind          dialectKind
	firstParam    int
	spanRows      func(n int) string
	traceSpanRows func(n int) string
	attrsText     string                          // SQLite: the expression reading the attributes as JSON text
	table         func(name, alias string) string // ClickHouse: how a subquery reads a table
}

// SQLite writes ? placeholders and reads attributes with json_extract.
// It needs SQLite 3.45 or later, whose JSON paths understand escaped keys.
var SQLite = Dialect{}

// Postgres writes $N placeholders numbered from firstParam, so the fragment
// can follow parameters the caller has already used (pass 1 if none).
// Attributes and events are JSONB; times are BIGINT unix nanoseconds.
func Postgres(firstParam int) Dialect {
	return Dialect{kind: postgresKind, firstParam: max(firstParam, 1)}
}

// ClickHouse writes server-side parameters {pN:Type}, numbered from
// firstParam so the fragment can follow parameters p1… the caller has
// already used (pass 1 if none). Its arguments are sql.NamedArg values
// named pN, to be sent as the query's parameters (ClickHouseParameters),
// never substituted into the text. Attributes and events are JSON text in
// String columns, read with JSONExtract; times are Int64 unix nanoseconds.
//
// Subqueries read every table with FINAL, since rows are deduplicated
// by ReplacingMergeTree and a re-sent span must not count twice; WithTables
// changes that.
func ClickHouse(firstParam int) Dialect {
	return Dialect{kind: clickhouseKind, firstParam: max(firstParam, 1)}
}

// WithTables has ClickHouse subqueries read table name under alias as
// table writes it: a store whose tables need no FINAL, or that reads one
// through a view, says so here. The names are spans, traces, the annotation
// tables, and TraceSums: traces with their sums (start_time, end_time,
// error_count, llm_span_count, cost_prompt, cost_completion), which a store
// may keep apart from the traces' own columns (id, trace_id,
// session_rowid, root_span_id).
func (d Dialect) WithTables(table func(name, alias string) string) Dialect {
	d.table = table
	return d
}

// TraceSums names the traces with their sums (WithTables).
const TraceSums = "trace_sums"

// from writes how a subquery reads table name, aliased alias.
func (b *builder) from(name, alias string) string {
	if b.d.kind == clickhouseKind && b.d.table != nil {
		return b.d.table(name, alias)
	}
	if name == TraceSums {
		name = "traces"
	}
	if b.d.kind != clickhouseKind {
		return name + " " + alias
	}
	return name + " " + alias + " FINAL"
}

// WithSpanRows has span_id comparisons with literals look the spans up
// through rows(n): a subquery selecting the row ids (id) of the spans whose
// span_id is one of n ? parameters. A backend whose span_id index cannot
// serve "s.span_id = ?" directly provides it (SQLite, spanid.go).
func (d Dialect) WithSpanRows(rows func(n int) string) Dialect {
	d.spanRows = rows
	return d
}

// WithTraceSpanRows has trace_id comparisons with literals look the spans
// up through rows(n): a subquery selecting the row ids (id) of the spans of
// the traces whose trace_id is one of n ? parameters. A backend whose
// trace_id index cannot serve "trace_id = ?" directly provides it (SQLite,
// traceid.go).
func (d Dialect) WithTraceSpanRows(rows func(n int) string) Dialect {
	d.traceSpanRows = rows
	return d
}

// WithAttributesText has SQLite read the span's attributes through expr, an
// SQL expression that yields their JSON text, for a store that keeps them in
// another form (SQLite's packs them, jsonpack.go).
func (d Dialect) WithAttributesText(expr string) Dialect {
	d.attrsText = expr
	return d
}

// attributes writes the SQLite expression for the attributes' JSON text.
func (b *builder) attributes() {
	if b.d.attrsText != "" {
		b.w(b.d.attrsText)
		return
	}
	b.w("s.attributes")
}

func (d Dialect) String() string {
	return [...]string{"sqlite", "postgres", "clickhouse"}[d.kind]
}

// pgType is the cast every PostgreSQL parameter gets, so that the server
// never has to guess a type (jsonb -> $1 alone is ambiguous).
func pgType(v any) string {
	switch v.(type) {
	case int64:
		return "bigint"
	case float64:
		return "float8"
	case bool:
		return "boolean"
	}
	return "text"
}

// chType is the type of a ClickHouse parameter holding v.
func chType(v any) string {
	switch v.(type) {
	case int64:
		return "Int64"
	case float64:
		return "Float64"
	case bool:
		return "Bool"
	case nil:
		return "Nullable(String)"
	}
	return "String"
}

// float writes v as a floating-point number, casting only when it may not
// be one already.
func (b *builder) float(v val) {
	if isFloat(v) {
		b.val(v)
		return
	}
	if l, ok := v.(*litVal); ok {
		if n, ok := l.v.(int64); ok {
			b.bind(float64(n))
			return
		}
	}
	switch b.d.kind {
	case postgresKind:
		b.w("CAST(")
		b.val(v)
		b.w(" AS DOUBLE PRECISION)")
	case clickhouseKind:
		// toFloat64 keeps NULL, where CAST(NULL AS Float64) fails.
		b.w("toFloat64(")
		b.val(v)
		b.w(")")
	default:
		b.w("CAST(")
		b.val(v)
		b.w(" AS REAL)")
	}
}

// latency is end_time - start_time of the row aliased t, in milliseconds.
func (b *builder) latency(t string) {
	if b.d.kind == postgresKind {
		b.w("(CAST(", t, ".end_time - ", t, ".start_time AS DOUBLE PRECISION) / 1e6)")
		return
	}
	// ClickHouse's / always divides as floating point.
	b.w("((", t, ".end_time - ", t, ".start_time) / 1e6)")
}

func (b *builder) jsonColumn(col string) {
	if b.d.kind == postgresKind {
		b.w("CAST(s.", col, " AS TEXT)")
		return
	}
	if col == "attributes" {
		b.attributes()
		return
	}
	b.w("s.", col)
}

// contains is a case-insensitive substring test. instr, strpos and
// position take the needle literally, unlike LIKE, where % and _ would need
// escaping.
func (b *builder) contains(needle, haystack func()) {
	switch b.d.kind {
	case clickhouseKind:
		b.w("positionCaseInsensitiveUTF8(")
		haystack()
		b.w(", ")
		needle()
		b.w(") > 0")
		return
	case postgresKind:
		b.w("strpos(lower(")
	default:
		b.w("instr(lower(")
	}
	haystack()
	b.w("), lower(")
	needle()
	b.w(")) > 0")
}

// truncate is Python's int() on a number: toward zero.
func (b *builder) truncate(x func()) {
	switch b.d.kind {
	case postgresKind:
		b.w("trunc(CAST(")
		x()
		b.w(" AS DOUBLE PRECISION))")
		return
	case clickhouseKind:
		b.w("trunc(toFloat64(")
		x()
		b.w("))")
		return
	}
	b.w("CAST(")
	x()
	b.w(" AS INTEGER)")
}

// parseNumber reads text as a number, or NULL when it is not one: a failed
// cast would abort the whole query in PostgreSQL, and SQLite would give 0.
// All accept JSON's number syntax. The text is named once (in a derived
// table, or ClickHouse's lambda), because it is tested before it is cast and
// nested conversions would otherwise repeat it exponentially.
func (b *builder) parseNumber(x func()) {
	if b.d.kind == clickhouseKind {
		// JSON functions never fail on text that is not JSON, and read
		// a document that is a bare number; JSONExtract alone would also
		// take "42" (quoted) and true as numbers.
		b.w("arrayMap(qv -> if(JSONType(qv) IN ('Int64', 'UInt64', 'Double'), JSONExtractFloat(qv), NULL), [")
		x()
		b.w("])[1]")
		return
	}
	b.w("(SELECT CASE WHEN ")
	if b.d.kind == postgresKind {
		// The digit limits keep the value inside float8's range, where the
		// cast cannot fail.
		b.w(`qv.v ~ '^\s*-?(0|[1-9][0-9]{0,29})(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,2})?\s*$' THEN CAST(qv.v AS DOUBLE PRECISION)`)
	} else {
		b.w("json_valid(qv.v) THEN CASE WHEN json_type(qv.v) IN ('integer', 'real') THEN CAST(qv.v AS REAL) END")
	}
	b.w(" END FROM (SELECT ")
	x()
	if b.d.kind == postgresKind {
		// OFFSET 0 keeps PostgreSQL's planner from pulling the derived
		// table up into the CASE, which names the text twice a level
		// again: 14 nested conversions took 9 s to plan, and 40 took the
		// server down.
		b.w(" AS v OFFSET 0) AS qv)")
		return
	}
	b.w(" AS v) AS qv)")
}

// mod is %, with SQL's sign rule (the dividend's), as Phoenix compiles it;
// Python's rule would need each operand twice. PostgreSQL has mod only for
// exact numbers; ClickHouse's takes the dividend's sign for floats too.
func (b *builder) mod(x, y func()) {
	if b.d.kind == postgresKind {
		b.w("CAST(mod(CAST(")
		x()
		b.w(" AS NUMERIC), NULLIF(CAST(")
		y()
		b.w(" AS NUMERIC), 0)) AS DOUBLE PRECISION)")
		return
	}
	b.w("mod(")
	x()
	b.w(", NULLIF(")
	y()
	b.w(", 0))")
}

// attr reads an attribute as a.as says. A path inside a JSON-string
// attribute (metadata.topic) also tries the flat key "metadata.topic", for
// clients that flatten such objects into separate attributes.
func (b *builder) attr(a *attrVal) {
	if len(a.sub) == 0 {
		b.jsonRead(a.as, nil, []pathSeg{{key: a.key}})
		return
	}
	flat, ok := flatKey(append([]pathSeg{{key: a.key}}, a.sub...))
	if !ok {
		b.jsonRead(a.as, &a.key, a.sub)
		return
	}
	b.w("COALESCE(")
	b.jsonRead(a.as, &a.key, a.sub)
	b.w(", ")
	b.jsonRead(a.as, nil, []pathSeg{{key: flat}})
	b.w(")")
}

// jsonRead reads path from the attributes object itself (docKey nil), or
// from the JSON document held as text in attribute *docKey.
func (b *builder) jsonRead(as typ, docKey *string, path []pathSeg) {
	switch b.d.kind {
	case postgresKind:
		b.pgJSONRead(as, docKey, path)
		return
	case clickhouseKind:
		b.chJSONRead(as, docKey, path)
		return
	}
	doc := b.attributes
	if docKey != nil {
		// json_extract raises on text that is not JSON, so the document is
		// only read when it is valid.
		doc = func() {
			b.w("(CASE WHEN json_valid(json_extract(")
			b.attributes()
			b.w(", ")
			b.bind("$." + jsonQuote(*docKey))
			b.w(")) THEN json_extract(")
			b.attributes()
			b.w(", ")
			b.bind("$." + jsonQuote(*docKey))
			b.w(") END)")
		}
	}
	jp := "$"
	if docKey == nil {
		jp += "." + jsonQuote(path[0].key)
	} else {
		jp += sqlitePath(path)
	}
	call := func(fn string) {
		b.w(fn, "(")
		doc()
		b.w(", ")
		b.bind(jp)
		b.w(")")
	}
	switch as {
	case tyText:
		b.w("CAST(")
		call("json_extract")
		b.w(" AS TEXT)")
	case tyNumber:
		b.w("(CASE WHEN ")
		call("json_type")
		b.w(" IN ('integer', 'real') THEN ")
		call("json_extract")
		b.w(" END)")
	case tyBool:
		b.w("(CASE ")
		call("json_type")
		b.w(" WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)")
	default:
		call("json_extract")
	}
}

// sqlitePath writes a JSON path. Keys are JSON-quoted, which SQLite 3.45+
// decodes, so any key (dots, quotes, brackets) is addressed exactly.
func sqlitePath(path []pathSeg) string {
	var b strings.Builder
	for _, s := range path {
		switch {
		case s.isIdx && s.index < 0:
			b.WriteString("[#" + strconv.Itoa(s.index) + "]")
		case s.isIdx:
			b.WriteString("[" + strconv.Itoa(s.index) + "]")
		default:
			b.WriteString("." + jsonQuote(s.key))
		}
	}
	return b.String()
}

func (b *builder) pgJSONRead(as typ, docKey *string, path []pathSeg) {
	// get walks the path with -> and takes the last step with last.
	get := func(last string) {
		b.w("(")
		if docKey == nil {
			b.w("s.attributes")
		} else {
			b.pgDoc(*docKey)
		}
		for i, s := range path {
			if i == len(path)-1 {
				b.w(last)
			} else {
				b.w("->")
			}
			if s.isIdx {
				b.bindAs(int64(s.index), "int")
			} else {
				b.bind(s.key)
			}
		}
		b.w(")")
	}
	switch as {
	case tyNumber:
		b.w("(CASE WHEN jsonb_typeof")
		get("->")
		b.w(" = 'number' THEN CAST(")
		get("->>")
		b.w(" AS DOUBLE PRECISION) END)")
	case tyBool:
		b.w("(CASE WHEN jsonb_typeof")
		get("->")
		b.w(" = 'boolean' THEN CAST(")
		get("->>")
		b.w(" AS BOOLEAN) END)")
	default:
		get("->>")
	}
}

// pgDoc turns attribute key into a JSONB document: as is when the store kept
// it as an object or array, parsed when it is a string that looks like one.
// PostgreSQL before 16 has no way to test that text is valid JSON, so a string
// that starts and ends like JSON but is malformed still fails the query.
func (b *builder) pgDoc(key string) {
	ref := func(op string) {
		b.w("s.attributes", op)
		b.bind(key)
	}
	b.w("(CASE jsonb_typeof(")
	ref("->")
	b.w(") WHEN 'object' THEN ")
	ref("->")
	b.w(" WHEN 'array' THEN ")
	ref("->")
	b.w(" WHEN 'string' THEN CASE WHEN (")
	ref("->>")
	b.w(`) ~ '^\s*[[{].*[]}]\s*$' THEN CAST(`)
	ref("->>")
	b.w(" AS JSONB) END END)")
}

// jsonQuote writes s as a JSON string.
func jsonQuote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteString(hex2(uint32(r)))
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// chJSONRead reads path with ClickHouse's JSON functions, which never fail:
// text that is not JSON, a missing key and a JSON null all read as missing.
// Keys are looked up whole (a key with dots is one key), and indexes count
// from 1, or from the end when negative.
func (b *builder) chJSONRead(as typ, docKey *string, path []pathSeg) {
	call := func(fn string, extra string) {
		b.w(fn, "(")
		if docKey == nil {
			b.w("s.attributes")
		} else {
			b.chDoc(*docKey)
		}
		for _, s := range path {
			b.w(", ")
			if !s.isIdx {
				b.bind(s.key)
			} else if s.index >= 0 {
				b.bind(int64(s.index + 1))
			} else {
				b.bind(int64(s.index))
			}
		}
		b.w(extra, ")")
	}
	switch as {
	case tyNumber:
		b.w("if(")
		call("JSONType", "")
		b.w(" IN ('Int64', 'UInt64', 'Double'), ")
		call("JSONExtractFloat", "")
		b.w(", NULL)")
	case tyBool:
		b.w("if(")
		call("JSONType", "")
		b.w(" = 'Bool', ")
		call("JSONExtractBool", "")
		b.w(", NULL)")
	default:
		// A string reads as its value, anything else as its JSON text
		// (true, 42.5, [1,2]), null or nothing as NULL: what PostgreSQL's
		// ->> reads.
		call("JSONExtract", ", 'Nullable(String)'")
	}
}

// chDoc is the JSON document held in attribute key: a string's value, or an
// object or array as stored.
func (b *builder) chDoc(key string) {
	b.w("JSONExtract(s.attributes, ")
	b.bind(key)
	b.w(", 'String')")
}
