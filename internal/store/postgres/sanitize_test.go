package postgres

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
)

// A filter's texts compare with the stored texts, which are made storable.
func TestFilterTexts(t *testing.T) {
	e, err := query.Parse(`name == 'nul\x00byte' and attributes['k\x00'] == 1`)
	if err != nil {
		t.Fatal(err)
	}
	w := where{args: []any{int64(7)}}
	if err := w.filter(query.Compile, e); err != nil {
		t.Fatal(err)
	}
	want := []any{int64(7), "nul\uFFFDbyte", "k\uFFFD", int64(1)}
	if got := w.args; len(got) != len(want) || !strings.Contains(w.conds[0], "$2::text") {
		t.Fatalf("args = %q, condition %s", got, w.conds[0])
	}
	for i := range want {
		if w.args[i] != want[i] {
			t.Errorf("arg %d = %q, want %q", i, w.args[i], want[i])
		}
	}
}

func TestText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":           "plain",
		"nul\x00byte":     "nul\uFFFDbyte",
		"bad\xffutf8":     "bad\uFFFDutf8",
		"héllo 世界":        "héllo 世界",
		"\x00\xfe\x00end": "\uFFFD\uFFFD\uFFFDend",
	} {
		if got := text(in); got != want {
			t.Errorf("text(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestJSONB(t *testing.T) {
	attrs := span.Attributes{
		{Key: "nul", Value: span.StringValue("a\x00b")},
		{Key: "backslash then u0000", Value: span.StringValue(`c\u0000d`)},
		{Key: "both", Value: span.StringValue("\\\x00")},
	}
	got := jsonb(attrs.AppendJSON(nil))
	var m map[string]string
	if err := json.Unmarshal([]byte(got), &m); err != nil {
		t.Fatalf("jsonb output is not JSON: %v\n%s", err, got)
	}
	want := map[string]string{"nul": "a\uFFFDb", "backslash then u0000": `c\u0000d`, "both": "\\\uFFFD"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
}

func TestSearchText(t *testing.T) {
	for in, want := range map[string]string{
		"How do I get a REFUND?":    "how do i get a refund",
		"Je voudrais un café crème": "je voudrais un cafe creme",
		"Привет, МИР!":              "привет мир",
		"col:value -x ^y":           "col value x y",
	} {
		if got := strings.Join(tokens(in), " "); got != want {
			t.Errorf("tokens(%q) = %q, want %q", in, got, want)
		}
	}
	sp := span.Span{View: span.View{InputValue: "a b a", OutputValue: "it's"}}
	if got := *searchVector(&sp); got != `'a':1,3 'b':2 'it':4 's':5` {
		t.Errorf("searchVector = %s", got)
	}
	if got := searchQuery(`"quick brown" fox's`); got != `('quick' <-> 'brown') & ('fox' <-> 's')` {
		t.Errorf("searchQuery = %s", got)
	}
}
