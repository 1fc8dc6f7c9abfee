package pricing

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // substrings the error must contain
	}{
		{
			name: "bad regex",
			file: `{"entries": [{"name": "gpt-x", "pattern": "gpt-(", "prices": {"input": 1, "output": 1}}]}`,
			want: []string{`entry 0 ("gpt-x")`, `pattern "gpt-("`, "missing closing )"},
		},
		{
			name: "negative price",
			file: `{"entries": [
				{"name": "ok", "pattern": "ok", "prices": {"input": 1, "output": 1}},
				{"name": "cheap", "pattern": "cheap", "prices": {"input": 1, "output": -0.5}}]}`,
			want: []string{`entry 1 ("cheap")`, "negative output price -0.5"},
		},
		{
			name: "unknown token type",
			file: `{"entries": [{"name": "m", "pattern": "m", "prices": {"input": 1, "output": 1, "cache_reed": 1}}]}`,
			want: []string{`entry 0 ("m")`, `unknown token type "cache_reed"`},
		},
		{
			name: "unknown field",
			file: `{"entries": [{"name": "m", "pattern": "m", "princes": {"input": 1, "output": 1}}]}`,
			want: []string{`entry 0 ("m")`, `unknown field "princes"`},
		},
		{
			name: "missing input price",
			file: `{"entries": [{"name": "m", "pattern": "m", "prices": {"output": 1}}]}`,
			want: []string{`entry 0 ("m")`, "no input price"},
		},
		{
			name: "tier missing a class",
			file: `{"entries": [{"name": "m", "pattern": "m", "prices": {"input": 1, "cache_read": 0.1, "output": 1},
				"tiers": [{"above_prompt_tokens": 1000, "prices": {"input": 2, "output": 2}}]}]}`,
			want: []string{`entry 0 ("m")`, "tier 0: no cache_read price"},
		},
		{
			name: "tiers out of order",
			file: `{"entries": [{"name": "m", "pattern": "m", "prices": {"input": 1, "output": 1},
				"tiers": [{"above_prompt_tokens": 2000, "prices": {"input": 2, "output": 2}},
				          {"above_prompt_tokens": 1000, "prices": {"input": 3, "output": 3}}]}]}`,
			want: []string{`entry 0 ("m")`, "tier 1: thresholds must increase"},
		},
		{
			name: "pattern misses its own name",
			file: `{"entries": [{"name": "gpt-4o", "pattern": "gpt-4o-mini", "prices": {"input": 1, "output": 1}}]}`,
			want: []string{`entry 0 ("gpt-4o")`, "does not match the entry's own name"},
		},
		{
			name: "duplicate row",
			file: `{"entries": [{"name": "a", "pattern": "a", "prices": {"input": 1, "output": 1}},
				{"name": "a", "pattern": "a", "prices": {"input": 2, "output": 2}}]}`,
			want: []string{`entry 1 ("a")`, `same pattern and provider as entry 0 ("a")`},
		},
		{
			name: "bad date",
			file: `{"entries": [{"name": "m", "pattern": "m", "prices": {"input": 1, "output": 1}, "as_of": "21/11/2026"}]}`,
			want: []string{`entry 0 ("m")`, `as_of "21/11/2026"`},
		},
		{
			name: "wrong unit",
			file: `{"unit": "USD per 1K tokens", "entries": []}`,
			want: []string{`unit is "USD per 1K tokens"`},
		},
		{
			name: "not JSON",
			file: `entries: []`,
			want: []string{"decoding user price file"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.file))
			if err == nil {
				t.Fatal("Parse accepted the file")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "prices.json")
	const file = `{
  "unit": "USD per 1M tokens",
  "entries": [
    {
      "name": "acme-7b",
      "pattern": "acme-7b(?:-chat)?",
      "provider": "ollama",
      "prices": {"input": 0.1, "output": 0.2},
      "tiers": [{"above_prompt_tokens": 32000, "prices": {"input": 0.2, "output": 0.4}}],
      "note": "internal transfer price"
    }
  ]
}`
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	entries, err := LoadFile(path)
	if err != nil {
		t.Fatalf("LoadFile: %v", err)
	}
	want := []Entry{{
		Name: "acme-7b", Pattern: "acme-7b(?:-chat)?", Provider: "ollama",
		Prices: Rates{Input: 0.1, Output: 0.2},
		Tiers:  []Tier{{AbovePromptTokens: 32000, Prices: Rates{Input: 0.2, Output: 0.4}}},
		Note:   "internal transfer price", Origin: User,
	}}
	if diff := cmp.Diff(want, entries); diff != "" {
		t.Errorf("entries (-want +got):\n%s", diff)
	}

	tab, err := New(entries)
	if err != nil {
		t.Fatal(err)
	}
	// 1000 × $0.10/M + 1000 × $0.20/M = 0.0003.
	c, err := tab.Cost("acme-7b-chat", "ollama", Tokens{Prompt: 1000, Completion: 1000}, ClientCost{})
	if err != nil || !near(c.Total, 0.0003) || c.EntryName != "acme-7b" {
		t.Errorf("Cost = %+v, %v; want 0.0003 from acme-7b", c, err)
	}

	if _, err := LoadFile(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: err = %v, want one naming the path", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"entries": [{"name": "x", "pattern": "(", "prices": {}}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadFile(bad); err == nil || !strings.Contains(err.Error(), "bad.json") || !strings.Contains(err.Error(), `("x")`) {
		t.Errorf("bad file: err = %v, want one naming the path and the entry", err)
	}
}

func TestNewRejectsInvalidUserEntry(t *testing.T) {
	_, err := New([]Entry{{Name: "m", Pattern: "m", Prices: Rates{Input: -1, Output: 1}}})
	if err == nil || !strings.Contains(err.Error(), `user entry 0 ("m")`) {
		t.Errorf("err = %v, want one naming the entry", err)
	}
}
