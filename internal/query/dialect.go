package query

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Dialect is the SQL flavour Compile writes. The zero value is SQLite.
type Dialect struct {
	postgres      bool
	firstParam    int
	spanRows      func(n int) string
	traceSpanRows func(n int) string
	attrsText     string // SQLite: the expression reading the attributes as JSON text
}

// SQLite writes ? placeholders and reads attributes with json_extract.
// It needs SQLite 3.45 or later, whose JSON paths understand escaped keys.
var SQLite = Dialect{}

// Postgres writes $N placeholders numbered from firstParam, so the fragment
// can follow parameters the caller has already used (pass 1 if none).
// Attributes and events are JSONB; times are BIGINT unix nanoseconds.
func Postgres(firstParam int) Dialect {
	return Dialect{postgres: true, firstParam: max(firstParam, 1)}
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
	if d.postgres {
		return "postgres"
	}
	return "sqlite"
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

func (b *builder) real() string {
	if b.d.postgres {
		return "DOUBLE PRECISION"
	}
	return "REAL"
}

// latency is end_time - start_time of the row aliased t, in milliseconds.
func (b *builder) latency(t string) {
	if b.d.postgres {
		b.w("(CAST(", t, ".end_time - ", t, ".start_time AS DOUBLE PRECISION) / 1e6)")
		return
	}
	b.w("((", t, ".end_time - ", t, ".start_time) / 1e6)")
}

func (b *builder) jsonColumn(col string) {
	if b.d.postgres {
		b.w("CAST(s.", col, " AS TEXT)")
		return
	}
	if col == "attributes" {
		b.attributes()
		return
	}
	b.w("s.", col)
}

// contains is a case-insensitive substring test. instr and strpos take the
// needle literally, unlike LIKE, where % and _ would need escaping.
func (b *builder) contains(needle, haystack func()) {
	if b.d.postgres {
		b.w("strpos(lower(")
	} else {
		b.w("instr(lower(")
	}
	haystack()
	b.w("), lower(")
	needle()
	b.w(")) > 0")
}

// truncate is Python's int() on a number: toward zero.
func (b *builder) truncate(x func()) {
	if b.d.postgres {
		b.w("trunc(CAST(")
		x()
		b.w(" AS DOUBLE PRECISION))")
		return
	}
	b.w("CAST(")
	x()
	b.w(" AS INTEGER)")
}

// parseNumber reads text as a number, or NULL when it is not one: a failed
// cast would abort the whole query in PostgreSQL, and SQLite would give 0.
// Both accept JSON's number syntax. The text is named once in a derived
// table, because it is tested before it is cast and nested conversions would
// otherwise repeat it exponentially.
func (b *builder) parseNumber(x func()) {
	b.w("(SELECT CASE WHEN ")
	if b.d.postgres {
		// The digit limits keep the value inside float8's range, where the
		// cast cannot fail.
		b.w(`qv.v ~ '^\s*-?(0|[1-9][0-9]{0,29})(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,2})?\s*$' THEN CAST(qv.v AS DOUBLE PRECISION)`)
	} else {
		b.w("json_valid(qv.v) THEN CASE WHEN json_type(qv.v) IN ('integer', 'real') THEN CAST(qv.v AS REAL) END")
	}
	b.w(" END FROM (SELECT ")
	x()
	if b.d.postgres {
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
// exact numbers.
func (b *builder) mod(x, y func()) {
	if b.d.postgres {
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
	if b.d.postgres {
		b.pgJSONRead(as, docKey, path)
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
