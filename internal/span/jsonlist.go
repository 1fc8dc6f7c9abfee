package span

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
)

// Applications that set OpenInference attributes by hand often send a list
// as one JSON string rather than flattened: the "Observability with
// Phoenix" tutorial sets llm.input_messages to json.dumps(messages) and
// retrieval.documents to json.dumps([{"id", "score", "text"}]). Every
// reader of a span (the transcript, full-text search, the filter language,
// previews, REST and DataFrame exports) reads lists flattened, as the
// instrumentations send them, so Normalize replaces such a string by the
// flattened keys it stands for: llm.input_messages.0.message.role, …
//
// The string is replaced, not kept beside its keys: a key that is both a
// value and the prefix of others cannot be unflattened (Phoenix's SpanQuery
// would have to drop one), and a client reading the span back then gets
// the list as it gets an instrumented span's, whichever way it was sent.
// What the flattened keys cannot carry is lost: the text's layout, fields
// that are null, and fields whose names are not identifiers.
//
// A string is read only when it is certainly such a list: a JSON array
// whose items are all objects, each with at least one field of the list's
// kind (a message's role, content or tool_calls; a document's id, score,
// text or content; a tool's type, function or name). Anything else is kept
// as sent and shown as text.

// MaxJSONListBytes and MaxJSONListAttrs bound the expansion of a list sent
// as JSON text: a longer text, or one that would make more attributes (the
// limit OpenInference's own TracerProvider sets a span), is kept as sent.
const (
	MaxJSONListBytes = 4 << 20
	MaxJSONListAttrs = 10_000
)

// jsonListKind is how the items of one list attribute are read.
type jsonListKind int

const (
	notAList jsonListKind = iota
	messageList
	documentList
	toolList
)

func jsonListKindOf(key string) jsonListKind {
	switch key {
	case "llm.input_messages", "llm.output_messages":
		return messageList
	case "retrieval.documents", "reranker.input_documents", "reranker.output_documents":
		return documentList
	case "llm.tools":
		return toolList
	}
	return notAList
}

// IsJSONListKey reports whether key names a list attribute whose JSON
// string form ExpandJSONList reads.
func IsJSONListKey(key string) bool { return jsonListKindOf(key) != notAList }

// expandJSONLists replaces, in place, each list attribute sent as JSON text
// by its flattened keys, unless the span also carries the list flattened.
func expandJSONLists(a *Attributes) {
	for i := 0; i < len(*a); i++ {
		at := (*a)[i]
		if at.Value.Type != TypeString || !IsJSONListKey(at.Key) || hasPrefix(*a, at.Key+".") {
			continue
		}
		flat, ok := ExpandJSONList(at.Key, at.Value.Str)
		if !ok {
			continue
		}
		*a = slices.Replace(*a, i, i+1, flat...)
		i += len(flat) - 1
	}
}

// ExpandJSONList returns the flattened attributes that text, the value of
// the list attribute key, stands for, or false when key is not such a list
// or text is not certainly JSON of its shape (see above).
func ExpandJSONList(key, text string) (Attributes, bool) {
	kind := jsonListKindOf(key)
	if kind == notAList || len(text) > MaxJSONListBytes {
		return nil, false
	}
	doc := bytes.TrimSpace([]byte(text))
	if len(doc) == 0 || doc[0] != '[' {
		return nil, false
	}
	var items []json.RawMessage
	if json.Unmarshal(doc, &items) != nil || len(items) == 0 {
		return nil, false
	}
	b := listBuilder{}
	for i, raw := range items {
		obj, ok := jsonObject(raw)
		if !ok {
			return nil, false
		}
		prefix := key + "." + strconv.Itoa(i) + "."
		switch kind {
		case messageList:
			if !hasAny(obj, "role", "content", "tool_calls", "tool_call_id", "function_call") {
				return nil, false
			}
			b.message(prefix+"message.", obj)
		case documentList:
			if !hasAny(obj, "id", "score", "content", "text", "page_content", "metadata") {
				return nil, false
			}
			b.document(prefix+"document.", obj)
		case toolList:
			if !hasAny(obj, "type", "function", "name", "parameters", "input_schema") {
				return nil, false
			}
			b.set(prefix+"tool.json_schema", StringValue(string(raw)))
		}
		if len(b.attrs) > MaxJSONListAttrs {
			return nil, false
		}
	}
	if len(b.attrs) == 0 {
		return nil, false // nothing to read: [{"tool_calls": []}]
	}
	return b.attrs, true
}

// jsonObject decodes one level of a JSON object; its fields stay raw.
func jsonObject(raw json.RawMessage) (map[string]json.RawMessage, bool) {
	if len(raw) == 0 || raw[0] != '{' {
		return nil, false
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return nil, false
	}
	return obj, true
}

// hasAny reports whether obj has a non-null field among names.
func hasAny(obj map[string]json.RawMessage, names ...string) bool {
	for _, n := range names {
		if present(obj[n]) {
			return true
		}
	}
	return false
}

func present(raw json.RawMessage) bool { return len(raw) > 0 && string(raw) != "null" }

// listBuilder collects the flattened attributes of one list.
type listBuilder struct {
	attrs Attributes
}

func (b *listBuilder) set(key string, v Value) {
	b.attrs = append(b.attrs, Attr{Key: key, Value: v})
}

// field sets key to the JSON value raw: strings, numbers and booleans as
// themselves, lists and objects as their JSON text; null sets nothing.
func (b *listBuilder) field(key string, raw json.RawMessage) {
	if v, ok := jsonValue(raw); ok {
		b.set(key, v)
	}
}

func jsonValue(raw json.RawMessage) (Value, bool) {
	if !present(raw) {
		return Value{}, false
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return Value{}, false
		}
		return StringValue(s), true
	case 't', 'f':
		return BoolValue(raw[0] == 't'), true
	case '{', '[':
		return StringValue(string(raw)), true
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
		return IntValue(n), true
	}
	if f, err := strconv.ParseFloat(string(raw), 64); err == nil {
		return DoubleValue(f), true
	}
	return StringValue(string(raw)), true
}

// jsonText is the text of a JSON string, or the JSON itself for other values.
func jsonText(raw json.RawMessage) string {
	v, _ := jsonValue(raw)
	return v.AsString()
}

// rest sets the fields of obj not in known under prefix, in name order,
// but for empty lists and objects.
// Names that are not identifiers would read as further levels of the key,
// so they are left out.
func (b *listBuilder) rest(prefix string, obj map[string]json.RawMessage, known ...string) {
	names := make([]string, 0, len(obj))
	for name := range obj {
		if !slices.Contains(known, name) && isIdentifier(name) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		// An empty list or object (annotations: [] from an SDK's dump)
		// says nothing.
		if raw := obj[name]; string(raw) != "[]" && string(raw) != "{}" {
			b.field(prefix+name, raw)
		}
	}
}

func isIdentifier(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9' {
			continue
		}
		return false
	}
	return true
}

// message flattens an OpenAI-shaped chat message under p ("….message.").
func (b *listBuilder) message(p string, m map[string]json.RawMessage) {
	b.field(p+"role", m["role"])
	if c := m["content"]; present(c) {
		if c[0] == '[' {
			b.contents(p, c)
		} else {
			b.field(p+"content", c)
		}
	}
	b.field(p+"name", m["name"])
	b.field(p+"tool_call_id", m["tool_call_id"])
	known := []string{"role", "content", "name", "tool_call_id"}
	// A tool_calls or function_call not of the expected shape is kept as
	// its JSON text, as other fields are.
	if b.toolCalls(p, m["tool_calls"]) {
		known = append(known, "tool_calls")
	}
	if fc, ok := jsonObject(m["function_call"]); ok {
		b.field(p+"function_call_name", fc["name"])
		b.field(p+"function_call_arguments_json", fc["arguments"])
		known = append(known, "function_call")
	}
	b.rest(p, m, known...)
}

// toolCalls flattens a message's tool_calls, a list of
// {"id", "function": {"name", "arguments"}}, and reports whether it was one.
func (b *listBuilder) toolCalls(p string, raw json.RawMessage) bool {
	if !present(raw) {
		return true
	}
	var calls []json.RawMessage
	if raw[0] != '[' || json.Unmarshal(raw, &calls) != nil {
		return false
	}
	objs := make([]map[string]json.RawMessage, len(calls))
	for i, c := range calls {
		obj, ok := jsonObject(c)
		if !ok {
			return false
		}
		objs[i] = obj
	}
	for k, c := range objs {
		cp := p + "tool_calls." + strconv.Itoa(k) + ".tool_call."
		b.field(cp+"id", c["id"])
		fn, _ := jsonObject(c["function"])
		b.field(cp+"function.name", fn["name"])
		b.field(cp+"function.arguments", fn["arguments"])
	}
	return true
}

// contents flattens a message's content given as a list of parts:
// {"type": "text", "text"}, {"type": "image_url", "image_url": {"url"}} and
// the like.
func (b *listBuilder) contents(p string, raw json.RawMessage) {
	var parts []json.RawMessage
	if json.Unmarshal(raw, &parts) != nil {
		b.set(p+"content", StringValue(string(raw)))
		return
	}
	for j, part := range parts {
		cp := p + "contents." + strconv.Itoa(j) + ".message_content."
		obj, ok := jsonObject(part)
		if !ok {
			if present(part) {
				b.set(cp+"type", StringValue("text"))
				b.set(cp+"text", StringValue(jsonText(part)))
			}
			continue
		}
		typ := jsonText(obj["type"])
		switch {
		case typ == "text" || typ == "input_text" || typ == "output_text":
			b.set(cp+"type", StringValue("text"))
			b.field(cp+"text", obj["text"])
		case typ == "image_url" || typ == "input_image" || typ == "image":
			b.set(cp+"type", StringValue("image"))
			if url := imageURL(obj); url != "" {
				b.set(cp+"image.image.url", StringValue(url))
			}
		default:
			if typ != "" {
				b.set(cp+"type", StringValue(typ))
			}
			b.field(cp+"text", obj["text"])
		}
	}
}

// imageURL reads an image part's address: OpenAI's image_url (an object
// with url, or the URL itself), or Anthropic's source (a URL, or base64
// data, given back as a data URI).
func imageURL(part map[string]json.RawMessage) string {
	if u := part["image_url"]; present(u) {
		if obj, ok := jsonObject(u); ok {
			return jsonText(obj["url"])
		}
		return jsonText(u)
	}
	if src, ok := jsonObject(part["source"]); ok {
		if url := jsonText(src["url"]); url != "" {
			return url
		}
		if data := jsonText(src["data"]); data != "" {
			return "data:" + jsonText(src["media_type"]) + ";base64," + data
		}
	}
	return jsonText(part["url"])
}

// document flattens a retrieved document under p ("….document."): its id,
// score, content (or text, or LangChain's page_content) and metadata.
func (b *listBuilder) document(p string, d map[string]json.RawMessage) {
	b.field(p+"id", d["id"])
	if s := d["score"]; present(s) {
		v, _ := jsonValue(s)
		if v.Type == TypeInt {
			v = DoubleValue(float64(v.Int))
		}
		b.set(p+"score", v)
	}
	known := []string{"id", "score", "metadata"}
	for _, name := range []string{"content", "text", "page_content"} {
		if present(d[name]) {
			b.field(p+"content", d[name])
			known = append(known, name)
			break
		}
	}
	b.field(p+"metadata", d["metadata"])
	b.rest(p, d, known...)
}

// hasPrefix reports whether some attribute key starts with prefix.
func hasPrefix(a Attributes, prefix string) bool {
	for i := range a {
		if strings.HasPrefix(a[i].Key, prefix) {
			return true
		}
	}
	return false
}
