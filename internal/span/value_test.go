package span

import (
	"encoding/json"
	"math"
	"testing"
	"unicode/utf8"
)

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r", "\x00\x1f", "é世界🙂", "\u2028\u2029", "bad\xffutf8", "<script>&"} {
		got := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Errorf("AppendJSONString(%q) = %s: not JSON: %v", s, got, err)
			continue
		}
		want := s
		if !utf8.ValidString(s) {
			want = string([]rune(s)) // invalid bytes become U+FFFD, as encoding/json does
		}
		if back != want {
			t.Errorf("round trip of %q = %q", s, back)
		}
	}
}

func TestValueJSON(t *testing.T) {
	tests := []struct {
		v    Value
		want string
	}{
		{StringValue("a"), `"a"`},
		{IntValue(-42), `-42`},
		{DoubleValue(0.5), `0.5`},
		{DoubleValue(3), `3.0`},
		{DoubleValue(1e300), `1e+300`},
		{DoubleValue(math.NaN()), `"NaN"`},
		{DoubleValue(math.Inf(-1)), `"-Infinity"`},
		{BoolValue(true), `true`},
		{Value{Type: TypeBytes, Str: "\x01\x02"}, `"AQI="`},
		{Value{}, `null`},
		{Value{Type: TypeSlice, Slice: []Value{IntValue(1), StringValue("x")}}, `[1,"x"]`},
		{Value{Type: TypeMap, Map: Attributes{{Key: "k", Value: BoolValue(false)}}}, `{"k":false}`},
	}
	for _, tc := range tests {
		if got := string(tc.v.AppendJSON(nil)); got != tc.want {
			t.Errorf("AppendJSON(%+v) = %s, want %s", tc.v, got, tc.want)
		}
	}
}

func TestAttributesJSONLastKeyWins(t *testing.T) {
	a := Attributes{{Key: "k", Value: IntValue(1)}, {Key: "x", Value: IntValue(2)}, {Key: "k", Value: IntValue(3)}}
	if got := string(a.AppendJSON(nil)); got != `{"x":2,"k":3}` {
		t.Errorf("AppendJSON = %s", got)
	}
}

func TestAsInt(t *testing.T) {
	for _, tc := range []struct {
		v  Value
		n  int64
		ok bool
	}{
		{IntValue(7), 7, true}, {DoubleValue(7), 7, true}, {DoubleValue(7.5), 0, false},
		{StringValue("12"), 12, true}, {StringValue("12.0"), 12, true}, {StringValue("x"), 0, false}, {BoolValue(true), 0, false},
	} {
		n, ok := tc.v.AsInt()
		if n != tc.n || ok != tc.ok {
			t.Errorf("AsInt(%+v) = %d, %v; want %d, %v", tc.v, n, ok, tc.n, tc.ok)
		}
	}
}

// FuzzAppendJSONString checks that any string encodes to valid JSON that
// decodes to the same text (invalid UTF-8 replaced).
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "日本"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := AppendJSONString(nil, s)
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("invalid JSON %q for %q: %v", b, s, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = string([]rune(s))
		}
		if back != want {
			t.Fatalf("round trip %q -> %q", s, back)
		}
	})
}
