package pricing

import (
	"net/url"
	"testing"
	"time"
)

// Prices are facts with a provenance: every built-in row must say where it
// comes from and when it was checked.
func TestBuiltinProvenance(t *testing.T) {
	entries := Default().Entries()
	if len(entries) == 0 {
		t.Fatal("no built-in entries")
	}
	today := time.Now().UTC()
	for _, e := range entries {
		if e.Origin != Builtin {
			t.Errorf("%s: origin %q", e.Name, e.Origin)
		}
		u, err := url.Parse(e.Source)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("%s: source %q is not an https URL", e.Name, e.Source)
		}
		d, err := time.Parse(time.DateOnly, e.AsOf)
		if err != nil {
			t.Errorf("%s: as_of %q: %v", e.Name, e.AsOf, err)
		} else if d.After(today) {
			t.Errorf("%s: as_of %s is in the future", e.Name, e.AsOf)
		}
	}
}

// Each built-in entry must be the one that prices its own model name, or an
// overlapping pattern elsewhere in the table is shadowing it.
func TestBuiltinEntriesResolveToThemselves(t *testing.T) {
	seen := map[[2]string]bool{}
	for _, e := range Default().Entries() {
		key := [2]string{e.Name, e.Provider}
		if seen[key] {
			t.Errorf("duplicate built-in name %q for provider %q", e.Name, e.Provider)
		}
		seen[key] = true
		got, ok := Default().Lookup(e.Name, e.Provider)
		if !ok || got.Name != e.Name || got.Provider != e.Provider {
			t.Errorf("Lookup(%q, %q) = %+v, want the entry itself", e.Name, e.Provider, got)
		}
	}
}

// The families the table promises to cover.
func TestBuiltinCoverage(t *testing.T) {
	for _, m := range []struct{ model, provider string }{
		{"gpt-4o", ""}, {"gpt-4o-mini", ""}, {"gpt-4.1", ""}, {"gpt-4.1-mini", ""}, {"gpt-4.1-nano", ""},
		{"o1", ""}, {"o3", ""}, {"o4-mini", ""}, {"gpt-5", ""}, {"gpt-5-mini", ""}, {"gpt-5-nano", ""},
		{"claude-3-5-sonnet-20241022", ""}, {"claude-3-7-sonnet-20250219", ""}, {"claude-sonnet-4-20250514", ""},
		{"claude-sonnet-4-5", ""}, {"claude-3-5-haiku-20241022", ""}, {"claude-haiku-4-5", ""},
		{"claude-opus-4-1", ""}, {"claude-opus-4-5", ""},
		{"gemini-1.5-flash", ""}, {"gemini-2.0-flash", ""}, {"gemini-2.5-flash", ""}, {"gemini-2.5-pro", ""},
		{"mistral-large-2411", ""}, {"deepseek-chat", ""}, {"deepseek-reasoner", ""}, {"grok-3", ""},
		{"llama-3.3-70b-versatile", "groq"}, {"meta-llama/Llama-3.3-70B-Instruct-Turbo", "together"},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", "aws"}, {"us.anthropic.claude-3-7-sonnet-20250219-v1:0", "aws"},
		{"gpt-4o-2024-08-06", "azure"},
		{"text-embedding-3-small", ""}, {"text-embedding-3-large", ""}, {"text-embedding-ada-002", ""},
		{"gemini-embedding-001", ""}, {"mistral-embed", ""}, {"openrouter/google/gemma-3n-e4b-it:free", ""},
	} {
		if _, ok := Default().Lookup(m.model, m.provider); !ok {
			t.Errorf("no price for %q (provider %q)", m.model, m.provider)
		}
	}
}
