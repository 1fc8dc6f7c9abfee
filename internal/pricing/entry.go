package pricing

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Rates maps token classes to prices in USD per million tokens, the unit
// every public price list uses.
type Rates map[TokenType]float64

// Tier holds the rates that replace the base rates for a whole request once
// its prompt is longer than AbovePromptTokens (Gemini and Anthropic
// long-context pricing).
type Tier struct {
	AbovePromptTokens int64 `json:"above_prompt_tokens"`
	Prices            Rates `json:"prices"`
}

// Origin says where an entry came from.
type Origin string

const (
	Builtin Origin = "builtin"
	User    Origin = "user"
)

// Entry is one row of the price table.
type Entry struct {
	// Name is the canonical model name; the pattern must match it.
	Name string `json:"name"`
	// Pattern is a regular expression (RE2) matched against the whole of
	// llm.model_name, ignoring case.
	Pattern string `json:"pattern"`
	// Provider, when set, restricts the entry to spans whose llm.provider
	// names the same host; see Table.Lookup.
	Provider string `json:"provider,omitempty"`
	Prices   Rates  `json:"prices"`
	Tiers    []Tier `json:"tiers,omitempty"`
	// Source is the URL of the price list the rates come from.
	Source string `json:"source,omitempty"`
	// AsOf is the day (YYYY-MM-DD) the rates were last checked against Source.
	AsOf   string `json:"as_of,omitempty"`
	Note   string `json:"note,omitempty"`
	Origin Origin `json:"origin,omitempty"`
}

// perToken holds resolved rates in USD per token, fallbacks applied.
type perToken [NumTokenTypes]float64

// compiled is an Entry ready for matching and pricing.
type compiled struct {
	Entry
	re       *regexp.Regexp
	provider string // normalized
	spec     specificity
	base     perToken
	tiers    []compiledTier // ascending by threshold
}

type compiledTier struct {
	above int64
	rates perToken
}

// compile validates e and prepares it. Built-in entries must also carry
// their provenance.
func compile(e Entry) (*compiled, error) {
	if strings.TrimSpace(e.Name) == "" {
		return nil, errors.New("name is empty")
	}
	if strings.TrimSpace(e.Pattern) == "" {
		return nil, errors.New("pattern is empty")
	}
	// Parsing the pattern on its own first also rejects one that would
	// break out of the anchoring group below, such as "a)|(b".
	spec, err := specificityOf(e.Pattern)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", e.Pattern, err)
	}
	re, err := regexp.Compile(`(?i)^(?:` + e.Pattern + `)$`)
	if err != nil {
		return nil, fmt.Errorf("pattern %q: %w", e.Pattern, err)
	}
	if !re.MatchString(e.Name) {
		return nil, fmt.Errorf("pattern %q does not match the entry's own name", e.Pattern)
	}
	if e.AsOf != "" {
		if _, err := time.Parse(time.DateOnly, e.AsOf); err != nil {
			return nil, fmt.Errorf("as_of %q is not a YYYY-MM-DD date", e.AsOf)
		}
	}
	if e.Origin == Builtin {
		if !strings.HasPrefix(e.Source, "https://") {
			return nil, fmt.Errorf("built-in entry needs an https source URL, got %q", e.Source)
		}
		if e.AsOf == "" {
			return nil, errors.New("built-in entry needs as_of")
		}
	}
	c := &compiled{Entry: e, re: re, provider: normalizeProvider(e.Provider), spec: spec}
	if c.base, err = resolve(e.Prices); err != nil {
		return nil, fmt.Errorf("prices: %w", err)
	}
	for i, t := range e.Tiers {
		if t.AbovePromptTokens <= 0 {
			return nil, fmt.Errorf("tier %d: above_prompt_tokens must be positive", i)
		}
		if i > 0 && t.AbovePromptTokens <= e.Tiers[i-1].AbovePromptTokens {
			return nil, fmt.Errorf("tier %d: thresholds must increase", i)
		}
		// A class priced in the base but not in the tier would fall back to
		// the tier's plain rate, which no provider does.
		for _, tt := range TokenTypes {
			_, inBase := e.Prices[tt]
			if _, inTier := t.Prices[tt]; inBase && !inTier {
				return nil, fmt.Errorf("tier %d: no %s price although the base prices have one", i, tt)
			}
		}
		r, err := resolve(t.Prices)
		if err != nil {
			return nil, fmt.Errorf("tier %d prices: %w", i, err)
		}
		c.tiers = append(c.tiers, compiledTier{above: t.AbovePromptTokens, rates: r})
	}
	return c, nil
}

// resolve checks a price set and converts it to per-token rates, filling
// classes without a price from plain input or output.
func resolve(r Rates) (perToken, error) {
	var out perToken
	for tt := range r {
		if int(tt) >= NumTokenTypes {
			return out, fmt.Errorf("invalid token type %d", uint8(tt))
		}
	}
	for _, tt := range TokenTypes {
		v, ok := r[tt]
		switch {
		case !ok && (tt == Input || tt == Output):
			return out, fmt.Errorf("no %s price", tt)
		case !ok:
		case math.IsNaN(v) || math.IsInf(v, 0):
			return out, fmt.Errorf("%s price is not a number", tt)
		case v < 0:
			return out, fmt.Errorf("negative %s price %v", tt, v)
		}
	}
	for _, tt := range TokenTypes {
		v, ok := r[tt]
		if !ok {
			v = r[tt.fallback()]
		}
		out[tt] = v / 1e6
	}
	return out, nil
}

// ratesFor picks the price set for a request whose prompt has prompt tokens.
func (c *compiled) ratesFor(prompt int64) (perToken, bool) {
	for i := len(c.tiers) - 1; i >= 0; i-- {
		if prompt > c.tiers[i].above {
			return c.tiers[i].rates, true
		}
	}
	return c.base, false
}

// providerAliases folds the names different instrumentations use for one
// host into the OpenInference llm.provider value.
var providerAliases = map[string]string{
	"together_ai": "together",
	"togetherai":  "together",
	"groqcloud":   "groq",
}

func normalizeProvider(p string) string {
	p = strings.ToLower(strings.TrimSpace(p))
	if a, ok := providerAliases[p]; ok {
		return a
	}
	return p
}

// sameRow reports whether two entries price the same thing, which is how a
// user entry replaces a built-in one.
func sameRow(a, b *compiled) bool {
	return a.Pattern == b.Pattern && a.provider == b.provider
}

// cloneEntry copies an entry deeply enough that callers cannot change the table.
func cloneEntry(e Entry) Entry {
	e.Prices = maps.Clone(e.Prices)
	e.Tiers = slices.Clone(e.Tiers)
	for i := range e.Tiers {
		e.Tiers[i].Prices = maps.Clone(e.Tiers[i].Prices)
	}
	return e
}
