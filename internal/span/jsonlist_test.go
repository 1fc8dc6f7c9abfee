package span

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/jsonlist")

// TestJSONListGolden normalizes each span of testdata/jsonlist/*.in and
// compares its attributes and previews with the .golden file beside it.
//
// An .in file is a span's string attributes, each a line "-- key --"
// followed by its value, up to the next such line (the newline before it is
// not part of the value). Lines before the first are a comment.
func TestJSONListGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "jsonlist", "*.in"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases in testdata/jsonlist: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			s := Span{Attributes: parseCase(t, string(src))}
			Normalize(&s)
			got := render(&s)
			golden := strings.TrimSuffix(in, ".in") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to write it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs; got:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}

func parseCase(t *testing.T, src string) Attributes {
	t.Helper()
	var a Attributes
	key := ""
	var value []string
	flush := func() {
		if key != "" {
			a = append(a, Attr{Key: key, Value: StringValue(strings.Join(value, "\n"))})
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(src, "\n"), "\n") {
		if k, ok := strings.CutPrefix(line, "-- "); ok && strings.HasSuffix(k, " --") {
			flush()
			key, value = strings.TrimSuffix(k, " --"), nil
			continue
		}
		if key != "" {
			value = append(value, line)
		}
	}
	flush()
	if len(a) == 0 {
		t.Fatal("the case has no attributes")
	}
	return a
}

// render writes the span's attributes in order, each as its key and JSON
// value (so types show: 0.92 is a double, "0.92" a string), and its previews.
func render(s *Span) string {
	var b strings.Builder
	for _, a := range s.Attributes {
		b.WriteString(a.Key)
		b.WriteString(" = ")
		b.Write(a.Value.AppendJSON(nil))
		b.WriteByte('\n')
	}
	b.WriteString("\ninput preview: ")
	b.Write(AppendJSONString(nil, s.View.InputPreview))
	b.WriteString("\noutput preview: ")
	b.Write(AppendJSONString(nil, s.View.OutputPreview))
	b.WriteByte('\n')
	return b.String()
}

// TestJSONListBounds checks that a list is expanded up to the bounds on its
// text and on the attributes it makes, and kept as sent past them.
func TestJSONListBounds(t *testing.T) {
	msg := func(n int) string {
		return `{"role":"user","content":"` + strings.Repeat("x", n) + `"}`
	}
	list := func(items ...string) string { return "[" + strings.Join(items, ",") + "]" }
	overhead := len(list(msg(0)))
	many := func(n int) string {
		items := make([]string, n)
		for i := range items {
			items[i] = `{"id":"d"}`
		}
		return list(items...)
	}
	tests := []struct {
		name     string
		key      string
		text     string
		expanded bool
	}{
		{"text at the byte bound", "llm.input_messages", list(msg(MaxJSONListBytes - overhead)), true},
		{"text past the byte bound", "llm.input_messages", list(msg(MaxJSONListBytes - overhead + 1)), false},
		{"items at the attribute bound", "retrieval.documents", many(MaxJSONListAttrs), true},
		{"items past the attribute bound", "retrieval.documents", many(MaxJSONListAttrs + 1), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Span{Attributes: Attributes{{Key: tc.key, Value: StringValue(tc.text)}}}
			Normalize(&s)
			_, kept := s.Attributes.Get(tc.key)
			if kept == tc.expanded {
				t.Errorf("%s of %d bytes: kept as sent = %v, want %v (%d attributes)", tc.key, len(tc.text), kept, !tc.expanded, len(s.Attributes))
			}
		})
	}
}

// TestExpandJSONListKeys checks which keys are read as lists.
func TestExpandJSONListKeys(t *testing.T) {
	const doc = `[{"id":"a","score":1,"content":"x"}]`
	for key, want := range map[string]bool{
		"retrieval.documents": true, "reranker.input_documents": true, "reranker.output_documents": true,
		// A message may have content alone, so this reads as one.
		"llm.input_messages": true,
		"metadata":           false, "llm.prompt_template.variables": false, "retrieval.documents.0": false,
	} {
		if _, got := ExpandJSONList(key, doc); got != want {
			t.Errorf("ExpandJSONList(%q, …) = %v, want %v", key, got, want)
		}
	}
}

// FuzzExpandJSONList checks that any text either stays as sent or becomes
// flat scalar attributes under its key, within the bound.
func FuzzExpandJSONList(f *testing.F) {
	for _, seed := range []string{
		`[{"role":"user","content":"hi"}]`,
		`[{"role":"assistant","tool_calls":[{"id":"c","function":{"name":"f","arguments":"{}"}}]}]`,
		`[{"role":"user","content":[{"type":"text","text":"a"},{"type":"image_url","image_url":{"url":"u"}}]}]`,
		`[{"id":"d","score":0.5,"text":"t","metadata":{"a":[1,2]}}]`,
		`[{"type":"function","function":{"name":"f"}}]`,
		`[{"role":"user"}, 3]`, `[]`, `[[[[]]]]`, `{"role":"user"}`,
	} {
		f.Add("llm.input_messages", seed)
		f.Add("retrieval.documents", seed)
		f.Add("llm.tools", seed)
	}
	f.Fuzz(func(t *testing.T, key, text string) {
		attrs, ok := ExpandJSONList(key, text)
		if !ok {
			if attrs != nil {
				t.Fatalf("not expanded, yet %d attributes", len(attrs))
			}
			return
		}
		if len(attrs) == 0 || len(attrs) > MaxJSONListAttrs {
			t.Fatalf("%d attributes", len(attrs))
		}
		for _, a := range attrs {
			if !strings.HasPrefix(a.Key, key+".") {
				t.Fatalf("key %q is not under %q", a.Key, key)
			}
			if a.Value.Type == TypeSlice || a.Value.Type == TypeMap || a.Value.Type == TypeEmpty {
				t.Fatalf("%s holds a value of type %d", a.Key, a.Value.Type)
			}
		}
	})
}
