package span

import "bytes"

// MaxValueDepth is how many levels of an attribute value are stored as
// they came: a top-level scalar is one level, and each list or map it sits
// in is one more. A list or map at this level would hold items deeper than
// it, so it is stored as its JSON text, a string, instead.
//
// Instrumentation sends values a few levels deep (OpenInference and the
// OpenTelemetry SDKs send flat keys), so this changes nothing real. What it
// bounds is everything downstream that reads a stored value: documents of
// at most MaxJSONDepth levels decode in every JSON reader Loupe's answers
// reach (encoding/json stops at 10,000 levels, SQLite's JSON functions
// and Python's json at about 1,000), and recursive code over values stays
// shallow.
const MaxValueDepth = 64

// MaxJSONDepth is the deepest a stored attribute or event document nests:
// a value's MaxValueDepth-1 levels of lists and maps inside the document's
// own few levels, with room to spare. ReadableJSON holds older rows to it.
const MaxJSONDepth = 100

// LimitDepth stores each list or map at the MaxValueDepth-th level of a
// value as its JSON text, in place.
func (a Attributes) LimitDepth() {
	for i := range a {
		a[i].Value.limitDepth(1)
	}
}

func (v *Value) limitDepth(level int) {
	if v.Type != TypeSlice && v.Type != TypeMap {
		return
	}
	if level >= MaxValueDepth {
		*v = StringValue(string(v.AppendJSON(nil)))
		return
	}
	for i := range v.Slice {
		v.Slice[i].limitDepth(level + 1)
	}
	for i := range v.Map {
		v.Map[i].Value.limitDepth(level + 1)
	}
}

// ReadableJSON returns a stored JSON document as readers can take it: doc
// itself, or, when doc nests deeper than MaxJSONDepth (which only a build
// that did not limit value depth could store), doc with each list or map
// below that depth replaced by its JSON text, a string. It never fails:
// the read path serves what the write path once accepted, and one such
// document must not fail a page of spans.
//
// doc is JSON as Loupe writes it; text that is not JSON at all comes back
// unchanged, for the caller's decoder to refuse.
func ReadableJSON(doc []byte) []byte {
	// Each level takes an opening and a closing bracket.
	if len(doc) <= 2*MaxJSONDepth+1 {
		return doc
	}
	at := openedBeyond(doc, MaxJSONDepth)
	if at < 0 {
		return doc
	}
	return stringifyBeyond(doc, at, MaxJSONDepth)
}

// openedBeyond returns where doc first opens a list or map deeper than
// limit, or -1. It walks the text without recursion.
func openedBeyond(doc []byte, limit int) int {
	depth := 0
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			i = jsonStringEnd(doc, i+1) - 1
		case '{', '[':
			depth++
			if depth > limit {
				return i
			}
		case '}', ']':
			depth--
		}
	}
	return -1
}

// stringifyBeyond copies doc, from offset at (where a list or map opens at
// depth limit+1) on, with every list or map opening deeper than limit
// replaced by its text as a JSON string.
func stringifyBeyond(doc []byte, at, limit int) []byte {
	out := make([]byte, 0, len(doc)+len(doc)/8)
	out = append(out, doc[:at]...)
	depth := limit
	for i := at; i < len(doc); {
		switch c := doc[i]; c {
		case '"':
			end := jsonStringEnd(doc, i+1)
			out = append(out, doc[i:end]...)
			i = end
			continue
		case '{', '[':
			if depth == limit {
				end := jsonContainerEnd(doc, i)
				out = AppendJSONString(out, string(doc[i:end]))
				i = end
				continue
			}
			depth++
		case '}', ']':
			depth--
		}
		out = append(out, doc[i])
		i++
	}
	return out
}

// jsonStringEnd returns the offset just past the quote that closes the
// JSON string whose text starts at i, or len(doc) if none does.
func jsonStringEnd(doc []byte, i int) int {
	for {
		q := bytes.IndexByte(doc[i:], '"')
		if q < 0 {
			return len(doc)
		}
		q += i
		// The quote is escaped when an odd run of backslashes precedes it.
		// Runs are counted back only to i, so each backslash is looked at
		// once however the string is built.
		n := 0
		for p := q - 1; p >= i && doc[p] == '\\'; p-- {
			n++
		}
		if n%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// jsonContainerEnd returns the offset just past the bracket that closes
// the list or map opening at doc[i], or len(doc) if none does.
func jsonContainerEnd(doc []byte, i int) int {
	depth := 0
	for ; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			i = jsonStringEnd(doc, i+1) - 1
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				return i + 1
			}
		}
	}
	return len(doc)
}
