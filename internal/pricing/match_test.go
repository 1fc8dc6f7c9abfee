package pricing

import (
	"fmt"
	"sync"
	"testing"
)

func lookupName(t *testing.T, tab *Table, model, provider string) string {
	t.Helper()
	e, ok := tab.Lookup(model, provider)
	if !ok {
		return ""
	}
	if e.Provider != "" {
		return e.Name + "@" + e.Provider
	}
	return e.Name
}

func TestLookupBuiltin(t *testing.T) {
	tests := []struct {
		model, provider string
		want            string // entry name, "@provider" when scoped; "" for no match
	}{
		// Overlapping OpenAI names: the anchored patterns keep families apart.
		{"gpt-4o", "", "gpt-4o"},
		{"GPT-4O-2024-08-06", "", "gpt-4o"},
		{"gpt-4o-2024-05-13", "", "gpt-4o-2024-05-13"},
		{"gpt-4o-mini", "", "gpt-4o-mini"},
		{"gpt-4o-mini-2024-07-18", "openai", "gpt-4o-mini"},
		{"gpt-4o-2099-01-01", "", ""}, // an unknown snapshot is not guessed
		{"gpt-4o-audio-preview-2024-10-01", "", ""},
		{"o3-mini-2025-01-31", "", "o3-mini"},
		{"gpt-5-mini-2025-08-07", "", "gpt-5-mini"},
		// Azure: same model names, or the Azure spelling.
		{"gpt-4o-2024-11-20", "azure", "gpt-4o"},
		{"gpt-35-turbo", "azure", "gpt-3.5-turbo"},
		// Router prefixes, Vertex and Bedrock forms.
		{"azure/gpt-4o", "", "gpt-4o"},
		{"openai/gpt-4.1-mini", "", "gpt-4.1-mini"},
		{"models/gemini-2.5-flash", "", "gemini-2.5-flash"},
		{"claude-3-5-sonnet-v2@20241022", "", "claude-3-5-sonnet-20241022"},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", "aws", "anthropic.claude-3-5-sonnet-20240620-v1:0"},
		{"us.anthropic.claude-3-7-sonnet-20250219-v1:0", "aws", "claude-3-7-sonnet-20250219"},
		{"bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0", "", "claude-3-5-haiku-20241022"},
		{"eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws", "anthropic.claude-sonnet-4-5-20250929-v1:0"},
		{"arn:aws:bedrock:us-east-1:123456789012:inference-profile/global.anthropic.claude-sonnet-4-5-20250929-v1:0", "aws", "claude-sonnet-4-5-20250929"},
		// Provider-scoped entries.
		{"openai/gpt-oss-120b", "groq", "openai/gpt-oss-120b@groq"},
		{"openai/gpt-oss-120b", "together", "openai/gpt-oss-120b@together"},
		{"openai/gpt-oss-120b", "together_ai", "openai/gpt-oss-120b@together"},
		{"openai/gpt-oss-120b", "fireworks", ""},
		{"openai/gpt-oss-120b", "", "openai/gpt-oss-120b@groq"}, // no provider: table order decides
		{"together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "together_ai", "meta-llama/Llama-3.3-70B-Instruct-Turbo@together"},
		{"llama-3.3-70b-versatile", "", "llama-3.3-70b-versatile@groq"},
		{"acme-private-7b", "", ""},
		{"", "", ""},
	}
	for _, tc := range tests {
		if got := lookupName(t, Default(), tc.model, tc.provider); got != tc.want {
			t.Errorf("Lookup(%q, %q) = %q, want %q", tc.model, tc.provider, got, tc.want)
		}
	}
}

func TestLookupPrecedence(t *testing.T) {
	p := Rates{Input: 1, Output: 1}
	tab, err := New([]Entry{
		{Name: "gpt-4o-any", Pattern: `gpt-4o.*`, Prices: p},
		{Name: "gpt-4o-mini-any", Pattern: `gpt-4o-mini.*`, Prices: p},
		{Name: "gpt-4o-mini-2024-07-18", Pattern: `gpt-4o-mini-2024-07-18`, Prices: p},
		{Name: "gpt-4o-azure", Pattern: `gpt-4o.*`, Provider: "azure", Prices: p},
		{Name: "gpt-any", Pattern: `gpt-.*`, Prices: p},
		{Name: "gpt-4o-first", Pattern: `gpt-4o-[a-z]+`, Prices: p},
		{Name: "gpt-4o-second", Pattern: `gpt-4o-[0-9a-z]+`, Prices: p},
		{Name: "claude-z", Pattern: `claude-(?:x|y)?z`, Prices: p},
		{Name: "claude-xz", Pattern: `claude-xz`, Prices: p},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		model, provider, want, why string
	}{
		{"gpt-4o-mini-2024-07-18", "", "gpt-4o-mini-2024-07-18", "22 literal characters beat 11 and 6"},
		{"gpt-4o-mini-2024-08-01", "", "gpt-4o-mini-any", "11 literal characters beat 6"},
		{"gpt-4o-2024-08-06", "", "gpt-4o-any", "6 literal characters beat 4"},
		{"gpt-4o", "", "gpt-4o-any", "only gpt-4o.* and gpt-.* match"},
		{"gpt-4", "", "gpt-any", "only gpt-.* matches"},
		{"gpt-4o-mini-2024-07-18", "azure", "gpt-4o-azure@azure", "the exact provider beats any specificity"},
		{"gpt-4o-mini-2024-07-18", "openai", "gpt-4o-mini-2024-07-18", "an entry for another provider never matches"},
		{"gpt-4.1", "", "gpt-any", "user entries beat the built-in gpt-4.1"},
		{"gpt-4o-abc", "", "gpt-4o-first", "full tie: the earlier entry wins"},
		{"azure/gpt-4o-mini-2024-07-18", "", "gpt-4o-mini-2024-07-18", "a suffix match after a router prefix"},
		{"claude-xz", "", "claude-xz", "optional parts add no literal characters: 9 beat 8"},
		{"claude-z", "", "claude-z", "only the optional pattern matches"},
		{"claude-3-5-haiku-20241022", "", "claude-3-5-haiku-20241022", "built-ins still apply where no user entry matches"},
	}
	for _, tc := range tests {
		if got := lookupName(t, tab, tc.model, tc.provider); got != tc.want {
			t.Errorf("Lookup(%q, %q) = %q, want %q (%s)", tc.model, tc.provider, got, tc.want, tc.why)
		}
	}
}

func TestLookupFullNameBeatsSuffix(t *testing.T) {
	p := Rates{Input: 1, Output: 1}
	tab, err := New([]Entry{
		{Name: "x", Pattern: `x`, Prices: p},
		{Name: "router/x", Pattern: `router/x`, Prices: p},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := lookupName(t, tab, "router/x", ""); got != "router/x" {
		t.Errorf("got %q, want the full-name match", got)
	}
	if got := lookupName(t, tab, "other/x", ""); got != "x" {
		t.Errorf("got %q, want the suffix match", got)
	}
}

func TestUserEntryReplacesBuiltin(t *testing.T) {
	builtin, ok := Default().Lookup("gpt-4o", "")
	if !ok {
		t.Fatal("no built-in gpt-4o")
	}
	tab, err := New([]Entry{{Name: "gpt-4o", Pattern: builtin.Pattern, Prices: Rates{Input: 1, Output: 2}, Note: "negotiated"}})
	if err != nil {
		t.Fatal(err)
	}
	e, ok := tab.Lookup("gpt-4o-2024-08-06", "")
	if !ok || e.Origin != User || e.Note != "negotiated" {
		t.Fatalf("Lookup = %+v, want the user entry", e)
	}
	// 1000 × $1/M + 1000 × $2/M = 0.003.
	c, err := tab.Cost("gpt-4o", "", Tokens{Prompt: 1000, Completion: 1000}, ClientCost{})
	if err != nil || !near(c.Total, 0.003) {
		t.Errorf("Cost = %v, %v; want 0.003", c.Total, err)
	}

	entries := tab.Entries()
	if got, want := len(entries), len(Default().Entries()); got != want {
		t.Errorf("%d entries, want %d (the built-in row is replaced, not added to)", got, want)
	}
	if entries[0].Origin != User || entries[0].Pattern != builtin.Pattern {
		t.Errorf("first entry = %+v, want the user entry", entries[0])
	}
	for _, e := range entries[1:] {
		if e.Pattern == builtin.Pattern {
			t.Errorf("replaced built-in entry still listed: %+v", e)
		}
	}
	// The default table is unchanged.
	if e, _ := Default().Lookup("gpt-4o", ""); e.Origin != Builtin {
		t.Errorf("default table changed: %+v", e)
	}
}

func TestEntriesAreCopies(t *testing.T) {
	tab := Default()
	entries := tab.Entries()
	entries[0].Prices[Input] = 1e9
	if again := tab.Entries(); again[0].Prices[Input] == 1e9 {
		t.Error("Entries exposes the table's own price maps")
	}

	user := []Entry{{Name: "m", Pattern: "m", Prices: Rates{Input: 1, Output: 1}}}
	tab, err := New(user)
	if err != nil {
		t.Fatal(err)
	}
	user[0].Prices[Input] = 1e9
	if e, _ := tab.Lookup("m", ""); e.Prices[Input] != 1 || user[0].Origin != "" {
		t.Error("New keeps or modifies the caller's entries")
	}
}

func TestSpecificity(t *testing.T) {
	tests := []struct {
		pattern string
		want    specificity
	}{
		{`gpt-4o`, specificity{6, 0}},
		{`gpt-4o|gpt-4o-2024-08-06`, specificity{6, 0}},
		{`gpt-4o(?:-2024-08-06)?`, specificity{6, 1}},
		{`gpt-4o.*`, specificity{6, 2}},
		{`gpt-4\.1`, specificity{7, 0}},
		{`[ab]x{3}`, specificity{3, 1}},
		{`.*`, specificity{0, 2}},
	}
	for _, tc := range tests {
		got, err := specificityOf(tc.pattern)
		if err != nil || got != tc.want {
			t.Errorf("specificityOf(%q) = %+v, %v; want %+v", tc.pattern, got, err, tc.want)
		}
	}
}

func TestLookupConcurrentAndBounded(t *testing.T) {
	tab, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range memoLimit {
				name := "gpt-4o"
				if i%2 == 1 {
					name = fmt.Sprintf("made-up-%d-%d", g, i) // client-controlled names
				}
				if _, ok := tab.Lookup(name, ""); ok != (i%2 == 0) {
					t.Errorf("Lookup(%q) = %v", name, ok)
					return
				}
			}
		})
	}
	wg.Wait()
	n := 0
	tab.memo.Range(func(any, any) bool { n++; return true })
	if n > memoLimit+8 { // racing inserts may overshoot by one per goroutine
		t.Errorf("memo holds %d entries, limit %d", n, memoLimit)
	}
}
