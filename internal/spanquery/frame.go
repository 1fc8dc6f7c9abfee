package spanquery

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// This file holds the data side of POST /v1/spans: the table a SpanQuery
// answers with, how it is written (pandas' "table" JSON orient inside a
// multipart/mixed body, as Phoenix's encode_df_as_json_string writes it), and
// the attribute reshaping Phoenix applies on the way (flatten, unflatten with
// the semantic conventions kept whole, JSON-string attributes parsed).

// timestamp is a datetime cell, in unix nanoseconds. Cells are nil
// (missing), string, int64, float64, bool, timestamp, []any or
// map[string]any.
type timestamp int64

// Column types of the table schema, as pandas' as_json_table_type names
// the dtypes a column of such values gets.
const (
	tableString   = "string" // object dtype: text, lists, dicts, mixed
	tableInteger  = "integer"
	tableNumber   = "number"
	tableBoolean  = "boolean"
	tableDatetime = "datetime"
)

// pandasTableVersion is the pandas_version pandas writes in table schemas.
const pandasTableVersion = "1.4.0"

// columnType infers the dtype pandas gives a column of these values: whole
// numbers stay integer only without a missing value (NaN forces float64),
// booleans stay boolean only without one (else object), and anything mixed
// with text or containers is object. An empty column is object, as
// read_sql_query leaves the columns of an empty result.
func columnType(vals []any) string {
	var c colStats
	for _, v := range vals {
		c.add(v)
	}
	return c.typ(len(vals))
}

// table writes a DataFrame as Phoenix's encode_df_as_json_string does:
// index columns renamed "{i}_{name}" and listed as the primary key, data
// columns renamed "{i}_{name}" counting on from there, then one record per
// row. Timestamps are ISO 8601 in nanoseconds with a Z, as pandas' ujson
// writes them with iso_dates and date_unit="ns".
type table struct {
	names  []string // index columns first
	keys   [][]byte // each name as a JSON key, with its colon
	types  []string
	nindex int
}

func newTable(index, cols, types []string) table {
	t := table{types: types, nindex: len(index)}
	for i, c := range index {
		t.names = append(t.names, strconv.Itoa(i)+"_"+c)
	}
	for j, c := range cols {
		t.names = append(t.names, strconv.Itoa(len(index)+j)+"_"+c)
	}
	for _, n := range t.names {
		t.keys = append(t.keys, append(span.AppendJSONString(nil, n), ':'))
	}
	return t
}

// appendHead writes the schema and opens the rows.
func (t table) appendHead(b []byte) []byte {
	b = append(b, `{"schema":{"fields":[`...)
	for j, name := range t.names {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = span.AppendJSONString(b, name)
		b = append(b, `,"type":"`...)
		b = append(b, t.types[j]...)
		b = append(b, '"')
		if t.types[j] == tableDatetime {
			b = append(b, `,"tz":"UTC"`...)
		}
		b = append(b, '}')
	}
	b = append(b, `],"primaryKey":[`...)
	for i := range t.nindex {
		if i > 0 {
			b = append(b, ',')
		}
		b = span.AppendJSONString(b, t.names[i])
	}
	return append(b, `],"pandas_version":"`+pandasTableVersion+`"},"data":[`...)
}

// appendRow writes one row, its values in column order, index first.
func (t table) appendRow(b []byte, row []any, first bool) []byte {
	if !first {
		b = append(b, ',')
	}
	b = append(b, '{')
	for j, v := range row {
		if j > 0 {
			b = append(b, ',')
		}
		b = append(b, t.keys[j]...)
		if x, ok := v.(int64); ok && t.types[j] == tableNumber {
			v = float64(x) // a float64 column writes its whole numbers as 1.0
		}
		b = appendCell(b, v)
	}
	return append(b, '}')
}

// tableTail closes the rows and the table.
const tableTail = "]}"

// appendCell writes one value as JSON. Object keys are sorted, so output
// is stable; floats keep a fraction (1.0) so that Python reads them back as
// floats; NaN and the infinities, which pandas writes as null, are null.
func appendCell(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return span.AppendJSONString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return append(b, "null"...)
		}
		return appendFloat(b, x)
	case bool:
		return strconv.AppendBool(b, x)
	case timestamp:
		return appendTimestamp(b, int64(x))
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCell(b, e)
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
			b = appendCell(b, x[k])
		}
		return append(b, '}')
	}
	// Unreachable for values built in this package; keep the output valid.
	out, _ := json.Marshal(v)
	return append(b, out...)
}

// appendTimestamp writes a datetime cell.
func appendTimestamp(b []byte, ns int64) []byte {
	b = append(b, '"')
	b = time.Unix(0, ns).UTC().AppendFormat(b, "2006-01-02T15:04:05.000000000Z")
	return append(b, '"')
}

func appendFloat(b []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1e16 {
		return append(strconv.AppendFloat(b, f, 'f', -1, 64), ".0"...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newBoundary returns a multipart boundary as Phoenix makes one
// (secrets.token_urlsafe(64)): random enough never to occur in a part.
func newBoundary() string {
	raw := make([]byte, 64)
	rand.Read(raw)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// partHead opens the i-th application/json part of a multipart answer, as
// Phoenix's _json_multipart writes them; phoenix-client splits the body on
// the boundary and reads the JSON after the first blank line of each part.
// The line break before a boundary belongs to it.
func partHead(boundary string, i int) string {
	h := "--" + boundary + "\r\nContent-Type: application/json\r\n\r\n"
	if i > 0 {
		h = "\r\n" + h
	}
	return h
}

// multipartEnd closes a multipart answer.
func multipartEnd(boundary string) string { return "\r\n--" + boundary + "--\r\n" }

// --- attribute reshaping, after phoenix/trace/attributes.py ---

// jsonStringAttributes are the attributes clients send as JSON text and
// Phoenix stores parsed (JSON_STRING_ATTRIBUTES); a key matches when it ends
// with one of them.
var jsonStringAttributes = []string{"document.metadata", "llm.prompt_template.variables", "metadata", "tool.parameters"}

// semanticConventions are the OpenInference attribute names (every
// *Attributes constant of openinference-semantic-conventions 0.1.42),
// longest first. Unflattening keeps each whole instead of nesting at its
// dots, which is how the default SpanQuery frame gets columns such as
// attributes.llm.token_count.prompt and attributes.llm.input_messages.
var semanticConventions = func() []string {
	s := strings.Fields(`agent.name annotation.annotator_kind annotation.explanation
	annotation.identifier annotation.label annotation.metadata annotation.name annotation.score
	annotations audio.mime_type audio.transcript audio.url completion.text decision.model_name
	decision.provider decision.request.model_name decision.response.model_name decision.system
	decision.token_count.input decision.token_count.output document.content document.id
	document.metadata document.mime_type document.name document.score document.url
	embedding.embeddings embedding.invocation_parameters embedding.model_name embedding.text
	embedding.vector evaluation.annotator_kind evaluation.explanation evaluation.identifier
	evaluation.label evaluation.metadata evaluation.name evaluation.score evaluations
	graph.node.id graph.node.name graph.node.parent_id image.url input.documents input.images
	input.mime_type input.value llm.choices llm.cost.completion llm.cost.completion_details
	llm.cost.completion_details.audio llm.cost.completion_details.output
	llm.cost.completion_details.reasoning llm.cost.prompt llm.cost.prompt_details
	llm.cost.prompt_details.audio llm.cost.prompt_details.cache_input
	llm.cost.prompt_details.cache_read llm.cost.prompt_details.cache_write
	llm.cost.prompt_details.input llm.cost.total llm.finish_reason llm.function_call
	llm.input_messages llm.invocation_parameters llm.model_name llm.output_messages
	llm.prompt_template.template llm.prompt_template.variables llm.prompt_template.version
	llm.prompts llm.provider llm.request.model_name llm.response.model_name llm.system
	llm.token_count.completion llm.token_count.completion_details.audio
	llm.token_count.completion_details.reasoning llm.token_count.prompt
	llm.token_count.prompt_details llm.token_count.prompt_details.audio
	llm.token_count.prompt_details.cache_input llm.token_count.prompt_details.cache_read
	llm.token_count.prompt_details.cache_write llm.token_count.total llm.tools message.content
	message.contents message.function_call_arguments_json message.function_call_name
	message.name message.role message.tool_call_id message.tool_calls message_content.audio
	message_content.data message_content.document message_content.encrypted_content
	message_content.id message_content.image message_content.signature message_content.text
	message_content.type message_content.video metadata openinference.span.kind
	output.documents output.images output.mime_type output.value prompt.id prompt.text
	prompt.url prompt.vendor reranker.input_documents reranker.model_name
	reranker.output_documents reranker.query reranker.top_k retrieval.documents
	session.annotations session.evaluations session.id tag.tags tool.description tool.id
	tool.json_schema tool.name tool.parameters tool_call.function.arguments
	tool_call.function.name tool_call.id tool_call.reasoning_signature trace.annotations
	trace.evaluations user.id video.url`)
	slices.SortStableFunc(s, func(a, b string) int { return len(b) - len(a) })
	return s
}()

// semanticConventionSet holds semanticConventions, for partition.
var semanticConventionSet = func() map[string]bool {
	m := make(map[string]bool, len(semanticConventions))
	for _, k := range semanticConventions {
		m[k] = true
	}
	return m
}()

// kv is one flattened attribute.
type kv struct {
	key string
	val any
}

// jsonText stands for json.dumps(v) in flatten's output: load_json_strings
// parses it straight back, so it carries the value rather than the text.
type jsonText struct{ v any }

// decodeJSONValue parses JSON into the frame's value types, numbers written
// with a fraction or exponent as float64 and the others as int64.
func decodeJSONValue(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, &json.SyntaxError{Offset: dec.InputOffset()}
	}
	return fromJSON(v), nil
}

func fromJSON(v any) any {
	switch x := v.(type) {
	case json.Number:
		s := x.String()
		if !strings.ContainsAny(s, ".eE") {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return n
			}
		}
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case []any:
		for i := range x {
			x[i] = fromJSON(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSON(x[k])
		}
	}
	return v
}

// truthy is Python's truth test on a JSON value.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func isJSONStringAttribute(key string) bool {
	for _, s := range jsonStringAttributes {
		if strings.HasSuffix(key, s) {
			return true
		}
	}
	return false
}

// loadJSONStrings parses the JSON-string attributes; one whose JSON is empty
// or false-like is dropped, and one that is not JSON is kept as text.
func loadJSONStrings(pairs []kv) []kv {
	out := pairs[:0]
	for _, p := range pairs {
		if !isJSONStringAttribute(p.key) {
			out = append(out, p)
			continue
		}
		switch x := p.val.(type) {
		case jsonText:
			if truthy(x.v) {
				out = append(out, kv{p.key, x.v})
			}
		case string:
			v, err := decodeJSONValue([]byte(x))
			switch {
			case err != nil:
				out = append(out, p)
			case truthy(v):
				out = append(out, kv{p.key, v})
			}
		default: // json.loads refuses non-text and the value is kept
			out = append(out, p)
		}
	}
	return out
}

// flattenPairs is Phoenix's flatten(): nested objects become dotted keys; with
// recurseOnSequence, lists holding objects become key.N.… entries (a list of
// plain values stays one value); with jsonStrings, an object under a
// JSON-string attribute stays whole (as its JSON text).
func flattenPairs(m map[string]any, prefix string, recurseOnSequence, jsonStrings bool, out []kv) []kv {
	for _, k := range sortedKeys(m) {
		v := m[k]
		key := k
		if prefix != "" {
			key = prefix + "." + k
		}
		switch x := v.(type) {
		case nil:
		case map[string]any:
			if jsonStrings && isJSONStringAttribute(key) {
				out = append(out, kv{key, jsonText{x}})
			} else {
				out = flattenPairs(x, key, recurseOnSequence, jsonStrings, out)
			}
		case []any:
			if !recurseOnSequence {
				out = append(out, kv{key, x})
				continue
			}
			if !slices.ContainsFunc(x, isMapping) {
				out = append(out, kv{key, x})
			}
			for i, e := range x {
				if em, ok := e.(map[string]any); ok {
					out = flattenPairs(em, key+"."+strconv.Itoa(i), recurseOnSequence, jsonStrings, out)
				}
			}
		default:
			out = append(out, kv{key, v})
		}
	}
	return out
}

func isMapping(v any) bool {
	_, ok := v.(map[string]any)
	return ok
}

// trie is Phoenix's _Trie: children by key, where all-digit parts of a key
// are list positions (indices) unless a value or a leaf claims them.
type trie struct {
	value    any
	indices  map[int]bool
	branches []string // in first-seen order; index branches as decimal text
	children map[string]*trie
}

func (t *trie) child(k string) *trie {
	if t.children == nil {
		t.children = map[string]*trie{}
	}
	c, ok := t.children[k]
	if !ok {
		c = &trie{}
		t.children[k] = c
	}
	return c
}

func (t *trie) addBranchName(k string) {
	if !slices.Contains(t.branches, k) {
		t.branches = append(t.branches, k)
	}
}

func (t *trie) addIndex(i int) *trie {
	k := strconv.Itoa(i)
	if t.value != nil {
		t.addBranchName(k)
	} else if !slices.Contains(t.branches, k) {
		if t.indices == nil {
			t.indices = map[int]bool{}
		}
		t.indices[i] = true
	}
	return t.child(k)
}

func (t *trie) addBranch(k string, isIndex bool, i int) *trie {
	if isIndex {
		delete(t.indices, i)
	}
	t.addBranchName(k)
	return t.child(k)
}

func (t *trie) setValue(v any) {
	t.value = v
	for _, i := range sortedIndices(t.indices) {
		t.addBranchName(strconv.Itoa(i))
	}
	t.indices = nil
}

func sortedIndices(m map[int]bool) []int {
	out := make([]int, 0, len(m))
	for i := range m {
		out = append(out, i)
	}
	slices.Sort(out)
	return out
}

// partition splits key at its first dot, or after the longest semantic
// convention (of exclusions) it starts with, ending at a dot or with key.
func partition(key string, exclusions map[string]bool) (prefix, suffix string) {
	if len(exclusions) > 0 {
		for end := len(key); end > 0; end = strings.LastIndexByte(key[:end], '.') {
			if exclusions[key[:end]] {
				if end == len(key) {
					return key, ""
				}
				return key[:end], key[end+1:]
			}
		}
	}
	prefix, suffix, _ = strings.Cut(key, ".")
	return prefix, suffix
}

// digits reports whether s is a list position, as str.isdigit() and int().
func digits(s string) (int, bool) {
	if s == "" || strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' }) >= 0 {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// unflattenPairs is Phoenix's unflatten(): dotted keys become nested objects,
// all-digit parts become list positions, and keys starting with one of
// exclusions stay whole at that level.
func unflattenPairs(pairs []kv, exclusions map[string]bool) map[string]any {
	root := &trie{}
	for _, p := range pairs {
		if p.val == nil {
			continue
		}
		t, key := root, p.key
		for {
			prefix, suffix := partition(key, exclusions)
			if i, ok := digits(prefix); ok {
				if suffix != "" {
					t = t.addIndex(i)
				} else {
					t = t.addBranch(strconv.Itoa(i), true, i)
				}
			} else {
				t = t.addBranch(prefix, false, 0)
			}
			if suffix == "" {
				break
			}
			key = suffix
		}
		t.setValue(p.val)
	}
	return toMap(root.walk(""))
}

func toMap(pairs []kv) map[string]any {
	m := make(map[string]any, len(pairs))
	for _, p := range pairs {
		m[p.key] = p.val
	}
	return m
}

func (t *trie) walk(prefix string) []kv {
	var out []kv
	switch {
	case t.value != nil:
		out = append(out, kv{prefix, t.value})
	case prefix != "" && len(t.indices) > 0:
		idx := sortedIndices(t.indices)
		list := make([]any, 0, len(idx))
		for _, i := range idx {
			list = append(list, toMap(t.children[strconv.Itoa(i)].walk("")))
		}
		out = append(out, kv{prefix, list})
	case len(t.indices) > 0:
		for _, i := range sortedIndices(t.indices) {
			out = append(out, t.children[strconv.Itoa(i)].walk(strconv.Itoa(i))...)
		}
	case prefix != "":
		return append(out, kv{prefix, toMap(t.walk(""))})
	}
	for _, b := range t.branches {
		key := b
		if prefix != "" {
			key = prefix + "." + b
		}
		out = append(out, t.children[b].walk(key)...)
	}
	return out
}

// storedAttributes is a span's attributes as Phoenix stores them: the flat
// OTLP keys with JSON-string attributes parsed, unflattened into nested
// objects and lists. SpanQuery projections and explosions read this form.
func storedAttributes(flat map[string]any) map[string]any {
	pairs := make([]kv, 0, len(flat))
	for _, k := range sortedKeys(flat) {
		pairs = append(pairs, kv{k, flat[k]})
	}
	return unflattenPairs(loadJSONStrings(pairs), nil)
}

// frameAttributes is the attribute part of a default SpanQuery row
// (_flatten_semantic_conventions): the stored form flattened again, with
// semantic conventions kept whole, so that llm.input_messages is one column
// holding a list of {"message.role": …, "message.content": …} objects and a
// custom attribute a.b is one column a holding {"b": …}.
func frameAttributes(stored map[string]any) map[string]any {
	return unflattenPairs(loadJSONStrings(flattenPairs(stored, "", true, true, nil)), semanticConventionSet)
}

// lookup reads a path of object keys and list positions from a stored
// attribute document, as a JSON path does: a part that does not fit the
// value it is applied to gives nil.
func lookup(v any, path []any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			if !ok {
				if l, isList := v.([]any); isList {
					// A numeric part written with dots (llm.input_messages.0)
					// indexes a list, as the filter language allows.
					if i, ok := digits(k); ok && i < len(l) {
						v = l[i]
						continue
					}
				}
				return nil
			}
			v = m[k]
		case int:
			l, ok := v.([]any)
			if !ok || k < -len(l) || k >= len(l) {
				return nil
			}
			if k < 0 {
				k += len(l)
			}
			v = l[k]
		}
		if v == nil {
			return nil
		}
	}
	return v
}

// attributeValue is Phoenix's get_attribute_value: a dotted key read
// through nested objects only.
func attributeValue(obj map[string]any, key string) any {
	if len(obj) == 0 {
		return nil
	}
	parts := strings.Split(key, ".")
	for _, p := range parts[:len(parts)-1] {
		next, ok := obj[p].(map[string]any)
		if !ok || len(next) == 0 {
			return nil
		}
		obj = next
	}
	return obj[parts[len(parts)-1]]
}

// pyStr is Python's str() of a JSON value, which Phoenix's concatenation
// applies to each element it joins.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return string(appendPyRepr(nil, v))
}

func appendPyRepr(b []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "None"...)
	case bool:
		if x {
			return append(b, "True"...)
		}
		return append(b, "False"...)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return appendPyFloat(b, x)
	case string:
		return appendPyString(b, x)
	case []any:
		b = append(b, '[')
		for i, e := range x {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyRepr(b, e)
		}
		return append(b, ']')
	case map[string]any:
		b = append(b, '{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = appendPyString(b, k)
			b = append(b, ": "...)
			b = appendPyRepr(b, x[k])
		}
		return append(b, '}')
	}
	return b
}

// appendPyFloat writes repr(float): the shortest digits, positional between
// 1e-4 and 1e16 (with ".0" when whole), scientific outside.
func appendPyFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, "nan"...)
	case math.IsInf(f, 1):
		return append(b, "inf"...)
	case math.IsInf(f, -1):
		return append(b, "-inf"...)
	}
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		return strconv.AppendFloat(b, f, 'e', -1, 64)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return append(b, s...)
}

// appendPyString writes repr(str): single quotes unless the text holds a
// single quote and no double quote.
func appendPyString(b []byte, s string) []byte {
	q := byte('\'')
	if strings.Contains(s, "'") && !strings.Contains(s, `"`) {
		q = '"'
	}
	b = append(b, q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, `\n`...)
		case r == '\r':
			b = append(b, `\r`...)
		case r == '\t':
			b = append(b, `\t`...)
		case r < 0x20 || r == 0x7f:
			b = append(b, `\x`...)
			b = append(b, "0123456789abcdef"[r>>4], "0123456789abcdef"[r&0xf])
		default:
			b = append(b, string(r)...)
		}
	}
	return append(b, q)
}
