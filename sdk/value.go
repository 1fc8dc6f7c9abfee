package loupe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"

	"go.opentelemetry.io/otel/attribute"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// encodeValue turns an input or output into the string and mime type that
// OpenInference expects: strings, booleans and numbers as text/plain,
// everything else as JSON. A json.RawMessage is taken to be JSON already.
func encodeValue(v any) (value, mimeType string) {
	switch x := v.(type) {
	case string:
		return x, oi.MimeTypeText
	case json.RawMessage:
		return string(x), oi.MimeTypeJSON
	case []byte:
		// Raw bytes are usually a body: JSON when they parse, text otherwise,
		// never the base64 that encoding/json would make of them.
		if json.Valid(x) {
			return string(x), oi.MimeTypeJSON
		}
		return string(x), oi.MimeTypeText
	case error:
		return x.Error(), oi.MimeTypeText
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.String, reflect.Bool,
		reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return fmt.Sprint(v), oi.MimeTypeText
	}
	s, err := marshalJSON(v)
	if err != nil {
		// The value still tells the reader something; losing it over an
		// encoding detail would be worse than showing it as text.
		return fmt.Sprintf("%+v", v), oi.MimeTypeText
	}
	return s, oi.MimeTypeJSON
}

// marshalJSON encodes without HTML escaping: prompts are full of <, > and &,
// and \u003c in a trace view helps nobody.
func marshalJSON(v any) (string, error) {
	if raw, ok := v.(json.RawMessage); ok {
		return string(raw), nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return string(bytes.TrimSuffix(buf.Bytes(), []byte("\n"))), nil
}

// jsonAttr returns a JSON-string attribute for v, which may already be JSON
// text (a string, []byte or json.RawMessage). It reports false for a nil v
// and for values encoding/json cannot encode (channels, functions, NaN),
// which have no JSON form to record.
func jsonAttr(key string, v any) (attribute.KeyValue, bool) {
	switch x := v.(type) {
	case nil:
		return attribute.KeyValue{}, false
	case string:
		return attribute.String(key, x), true
	case []byte:
		return attribute.String(key, string(x)), true
	}
	if rv := reflect.ValueOf(v); (rv.Kind() == reflect.Map || rv.Kind() == reflect.Pointer || rv.Kind() == reflect.Slice) && rv.IsNil() {
		return attribute.KeyValue{}, false
	}
	s, err := marshalJSON(v)
	if err != nil {
		return attribute.KeyValue{}, false
	}
	return attribute.String(key, s), true
}

// item returns the flattened key of field in item i of a list.
func item(list string, i int, field string) string {
	return list + "." + strconv.Itoa(i) + "." + field
}

// rawJSON embeds s in a larger JSON document as JSON when it is valid JSON,
// and as a JSON string otherwise.
func rawJSON(s string) any {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	return s
}
