package cli

import "testing"

func TestStr(t *testing.T) {
	tests := []struct {
		v    any
		want string
	}{
		{nil, ""},
		{"text", "text"},
		{float64(4200), "4200"},
		{1.5, "1.5"},
		{0.0000416, "0.0000416"}, // a trace's cost: six decimals would print 0.000042
		{0.000009600000000000001, "0.0000096"},
		{true, "true"},
		{[]any{"a", "b"}, `["a","b"]`},
	}
	for _, tc := range tests {
		if got := str(tc.v); got != tc.want {
			t.Errorf("str(%#v) = %q, want %q", tc.v, got, tc.want)
		}
	}
}

func TestClientBase(t *testing.T) {
	for in, want := range map[string]string{
		"http://localhost:6006":            "http://localhost:6006",
		"http://localhost:6006/":           "http://localhost:6006",
		"http://localhost:6006/v1/traces":  "http://localhost:6006",
		"http://host/phoenix/v1/traces/":   "http://host/phoenix",
		"https://loupe.example.com/prefix": "https://loupe.example.com/prefix",
	} {
		if got := (&clientFlags{url: in}).client().base; got != want {
			t.Errorf("--url %s: base %s, want %s", in, got, want)
		}
	}
}
