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

func TestCostCells(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	for _, tc := range []struct {
		c            *spanCost
		table, other string
	}{
		{nil, "", ""},
		{&spanCost{Total: f(0.0000195), Counted: true}, "$0.0000195", "0.0000195"},
		{&spanCost{Total: f(0.0000195)}, "$0.0000195 (wrapper, not counted)", "0.0000195"},
		{&spanCost{Total: f(0), Counted: true}, "$0", "0"},
		{&spanCost{Counted: true}, "no price", ""},
	} {
		if got := tc.c.cell("table"); got != tc.table {
			t.Errorf("%+v in a table: %q, want %q", tc.c, got, tc.table)
		}
		if got := tc.c.cell("csv"); got != tc.other {
			t.Errorf("%+v in csv: %q, want %q", tc.c, got, tc.other)
		}
	}
	for _, tc := range []struct {
		m    map[string]any
		want string
	}{
		{map[string]any{"total_cost": 0.0000416, "token_count_total": 20.0}, "$0.0000416"},
		{map[string]any{"total_cost": 0.000072, "unpriced_spans": 1.0, "token_count_total": 360.0}, "$0.000072 + 1 unpriced"},
		{map[string]any{"total_cost": 0.0, "unpriced_spans": 2.0, "token_count_total": 40.0}, "no price"},
		{map[string]any{"total_cost": 0.0, "token_count_total": 49.0}, "$0"},
		{map[string]any{"total_cost": 0.0, "token_count_total": 0.0}, ""},
	} {
		if got := traceCost(tc.m); got != tc.want {
			t.Errorf("traceCost(%v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
