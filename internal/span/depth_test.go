package span

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// nested is a value levels deep: lists of lists, or maps of maps, around
// the string "bottom".
func nested(levels int, asMap bool) Value {
	v := StringValue("bottom")
	for range levels - 1 {
		if asMap {
			v = Value{Type: TypeMap, Map: Attributes{{Key: "k", Value: v}}}
		} else {
			v = Value{Type: TypeSlice, Slice: []Value{v}}
		}
	}
	return v
}

// jsonDepth is how deeply a JSON document nests, counting brackets outside
// strings.
func jsonDepth(doc []byte) int {
	depth, deepest := 0, 0
	for i := 0; i < len(doc); i++ {
		switch doc[i] {
		case '"':
			i = jsonStringEnd(doc, i+1) - 1
		case '{', '[':
			depth++
			deepest = max(deepest, depth)
		case '}', ']':
			depth--
		}
	}
	return deepest
}

func TestLimitDepth(t *testing.T) {
	for _, asMap := range []bool{false, true} {
		for _, tc := range []struct {
			levels  int
			limited bool
		}{
			{1, false},
			{MaxValueDepth, false}, // lists or maps down to level 63, the string at 64
			{MaxValueDepth + 1, true},
			{256, true},
		} {
			v := nested(tc.levels, asMap)
			want := string(v.AppendJSON(nil))
			attrs := Attributes{{Key: "deep", Value: v}}
			attrs.LimitDepth()
			// Down to the MaxValueDepth-th level, the value is as it was.
			got := attrs[0].Value
			level := 1
			for got.Type == TypeSlice || got.Type == TypeMap {
				if got.Type == TypeSlice {
					got = got.Slice[0]
				} else {
					got = got.Map[0].Value
				}
				level++
			}
			if !tc.limited {
				if level != tc.levels || got.Str != "bottom" || string(attrs[0].Value.AppendJSON(nil)) != want {
					t.Errorf("%d levels (map %v): changed to %s", tc.levels, asMap, attrs[0].Value.AppendJSON(nil))
				}
				continue
			}
			// Below it, the text of what was there.
			if level != MaxValueDepth || got.Type != TypeString {
				t.Fatalf("%d levels (map %v): level %d holds a %v, want the string at level %d", tc.levels, asMap, level, got.Type, MaxValueDepth)
			}
			inner := nested(tc.levels-MaxValueDepth+1, asMap)
			if got.Str != string(inner.AppendJSON(nil)) {
				t.Errorf("%d levels (map %v): level %d holds %.80q, want the JSON text of the rest", tc.levels, asMap, level, got.Str)
			}
			doc := attrs.AppendJSON(nil)
			if d := jsonDepth(doc); d != MaxValueDepth {
				t.Errorf("%d levels (map %v): stored document nests %d levels, want %d", tc.levels, asMap, d, MaxValueDepth)
			}
		}
	}
}

func TestNormalizeLimitsDepth(t *testing.T) {
	deep := Attributes{{Key: "deep", Value: nested(200, true)}}
	s := Span{
		Attributes: Attributes{{Key: "deep", Value: nested(200, false)}},
		Events:     []Event{{Name: "e", Attributes: deep}},
		Links:      []Link{{Attributes: Attributes{{Key: "deep", Value: nested(200, false)}}}},
	}
	Normalize(&s)
	var buf []byte
	stored := s.StoredJSON(&buf)
	for name, doc := range map[string]string{"attributes": stored.Attributes, "events": stored.Events, "links": stored.Links} {
		if d := jsonDepth([]byte(doc)); d > MaxJSONDepth {
			t.Errorf("%s nest %d levels, more than %d", name, d, MaxJSONDepth)
		}
		if !json.Valid([]byte(doc)) {
			t.Errorf("%s are not JSON", name)
		}
	}
}

func TestReadableJSON(t *testing.T) {
	deep := func(n int) string { return strings.Repeat(`{"k":`, n) + "1" + strings.Repeat("}", n) }
	list := func(n int) string { return strings.Repeat("[", n) + "]" + strings.Repeat("]", n-1) }
	tests := []struct {
		name string
		doc  string
		want string // "" when the document comes back as it is
	}{
		{"short", `{"a":1}`, ""},
		{"at the limit", deep(MaxJSONDepth), ""},
		{"lists at the limit", list(MaxJSONDepth), ""},
		{"brackets in strings do not count", `{"a":"` + strings.Repeat("[{", 300) + `\"` + strings.Repeat("[", 300) + `\\"}`, ""},
		{"one level too deep", deep(MaxJSONDepth + 1),
			strings.Repeat(`{"k":`, MaxJSONDepth) + `"{\"k\":1}"` + strings.Repeat("}", MaxJSONDepth)},
		{"lists one level too deep", list(MaxJSONDepth + 1),
			strings.Repeat("[", MaxJSONDepth) + `"[]"` + strings.Repeat("]", MaxJSONDepth)},
		{"several too deep, strings kept", `{"s":"}]\"",` + `"a":` + deep(MaxJSONDepth) + `,"b":` + deep(MaxJSONDepth) + `}`,
			`{"s":"}]\"","a":` + strings.Repeat(`{"k":`, MaxJSONDepth-1) + `"{\"k\":1}"` + strings.Repeat("}", MaxJSONDepth-1) +
				`,"b":` + strings.Repeat(`{"k":`, MaxJSONDepth-1) + `"{\"k\":1}"` + strings.Repeat("}", MaxJSONDepth-1) + `}`},
		{"not JSON", strings.Repeat("]", 300), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := ReadableJSON([]byte(tc.doc))
			want := tc.want
			if want == "" {
				want = tc.doc
			}
			if string(got) != want {
				t.Errorf("ReadableJSON =\n%.300s\nwant\n%.300s", got, want)
			}
		})
	}
}

// A document nested past encoding/json's 10,000 levels, as builds before
// the limit could store, fails to decode; its readable form decodes.
func TestReadableJSONOfAPoisonRow(t *testing.T) {
	attrs := Attributes{{Key: "input.value", Value: StringValue("hi")}, {Key: "deep", Value: nested(10_001, true)}}
	doc := attrs.AppendJSON(nil)
	var v any
	if err := json.Unmarshal(doc, &v); err == nil {
		t.Fatal("a document nested 10,001 levels decodes; the test no longer shows what it should")
	}
	readable := ReadableJSON(doc)
	var m map[string]any
	if err := json.Unmarshal(readable, &m); err != nil {
		t.Fatalf("readable form does not decode: %v", err)
	}
	if m["input.value"] != "hi" {
		t.Errorf("input.value = %v", m["input.value"])
	}
	if d := jsonDepth(readable); d != MaxJSONDepth {
		t.Errorf("readable form nests %d levels, want %d", d, MaxJSONDepth)
	}
	// The text below the limit is the rest of the document.
	if !bytes.Contains(readable, []byte(`"{\"k\":{\"k\":`)) {
		t.Errorf("readable form does not hold the deeper levels as text: %.200s", readable)
	}
}

func BenchmarkReadableJSON(b *testing.B) {
	// An agent span's attributes: mostly text, a few short lists.
	attrs := Attributes{{Key: "openinference.span.kind", Value: StringValue("LLM")}}
	for i := range 20 {
		attrs = append(attrs, Attr{Key: "llm.input_messages." + string(rune('a'+i)) + ".message.content",
			Value: StringValue(strings.Repeat("Refunds are accepted within 30 days. ", 4))})
	}
	attrs = append(attrs, Attr{Key: "tag.tags", Value: Value{Type: TypeSlice, Slice: []Value{StringValue("a"), StringValue("b")}}})
	doc := attrs.AppendJSON(nil)
	b.SetBytes(int64(len(doc)))
	for b.Loop() {
		ReadableJSON(doc)
	}
}
