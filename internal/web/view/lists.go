package view

import (
	"encoding/json"
	"maps"
	"strconv"

	"github.com/loupe-dev/loupe/internal/span"
)

// withJSONLists returns a with each list attribute held as one JSON string
// (llm.input_messages as json.dumps(messages), …) read as its flattened
// keys, as ingest stores such lists (span.ExpandJSONList): spans stored
// before it did keep the string, and show the same transcript and
// documents. a itself is left as stored, for the Attributes tab.
func (a Attrs) withJSONLists() Attrs {
	var out Attrs
	for k, v := range a {
		s, ok := v.(string)
		if !ok || !span.IsJSONListKey(k) || len(a.List(k)) > 0 {
			continue
		}
		flat, ok := span.ExpandJSONList(k, s)
		if !ok {
			continue
		}
		if out == nil {
			out = maps.Clone(a)
		}
		delete(out, k)
		for _, at := range flat {
			out[at.Key] = attrValue(at.Value)
		}
	}
	if out == nil {
		return a
	}
	return out
}

// attrValue is v as ParseAttrs decodes it; ExpandJSONList makes scalars only.
func attrValue(v span.Value) any {
	switch v.Type {
	case span.TypeInt:
		return json.Number(strconv.FormatInt(v.Int, 10))
	case span.TypeDouble:
		return json.Number(strconv.FormatFloat(v.Float, 'g', -1, 64))
	case span.TypeBool:
		return v.Int != 0
	}
	return v.AsString()
}
