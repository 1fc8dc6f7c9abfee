// Package view reads a stored span's flat OpenInference attributes back into
// the structures a person reads: chat messages with their parts and tool
// calls, retrieved documents, embeddings, tool definitions, prompt
// templates, exceptions. It only reads; every string it returns is
// untrusted text for the templates to escape.
package view

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Attrs is a span's attribute object, decoded: values are string,
// json.Number, bool, []any or map[string]any.
type Attrs map[string]any

// ParseAttrs decodes a flat attribute object, keeping numbers exact.
func ParseAttrs(raw []byte) (Attrs, error) {
	a := Attrs{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return a, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&a); err != nil {
		return nil, fmt.Errorf("decode attributes: %w", err)
	}
	return a, nil
}

// Str returns a value as text: strings as they are, anything else as JSON.
func (a Attrs) Str(key string) string {
	v, ok := a[key]
	if !ok {
		return ""
	}
	return valueText(v)
}

// Has reports whether key is present.
func (a Attrs) Has(key string) bool {
	_, ok := a[key]
	return ok
}

// Float reads a number, or a string holding one.
func (a Attrs) Float(key string) (float64, bool) {
	switch v := a[key].(type) {
	case json.Number:
		f, err := v.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return f, err == nil
	}
	return 0, false
}

func valueText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		return strconv.FormatBool(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// List gathers the flattened list under prefix ("llm.input_messages"):
// keys "prefix.{i}.rest" become item i with key "rest". Items come back in
// index order; missing indexes are skipped, as emitters sometimes drop some.
func (a Attrs) List(prefix string) []Item {
	prefix += "."
	byIndex := map[int]Attrs{}
	for k, v := range a {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		idx, sub, ok := strings.Cut(rest, ".")
		if !ok {
			continue
		}
		i, err := strconv.Atoi(idx)
		if err != nil || i < 0 {
			continue
		}
		item := byIndex[i]
		if item == nil {
			item = Attrs{}
			byIndex[i] = item
		}
		item[sub] = v
	}
	out := make([]Item, 0, len(byIndex))
	for i, item := range byIndex {
		out = append(out, Item{Index: i, Key: prefix + strconv.Itoa(i) + ".", Attrs: item})
	}
	sort.Slice(out, func(x, y int) bool { return out[x].Index < out[y].Index })
	return out
}

// Item is one element of a flattened list. Key is the attribute key prefix
// of the item ("llm.input_messages.3."), used to fetch a clipped value in full.
type Item struct {
	Index int
	Key   string
	Attrs
}

// Sorted returns every attribute as key/value text, sorted by key.
func (a Attrs) Sorted() []KV {
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]KV, len(keys))
	for i, k := range keys {
		out[i] = KV{Key: k, Value: valueText(a[k])}
	}
	return out
}

// under returns the attributes whose keys start with prefix, keyed by the
// rest of their keys, sorted.
func (a Attrs) under(prefix string) []KV {
	var out []KV
	for k, v := range a {
		if rest, ok := strings.CutPrefix(k, prefix); ok && rest != "" {
			out = append(out, KV{Key: rest, Value: valueText(v)})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// KV is one key and its value as text.
type KV struct {
	Key   string
	Value string
}
