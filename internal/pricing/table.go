package pricing

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
)

// Table is an immutable price table: the built-in entries plus any user
// entries, with a memo of lookups. It is safe for concurrent use.
type Table struct {
	entries []*compiled // user entries first, then built-ins; each in file order

	memo     sync.Map // lookupKey -> *lookupResult
	memoSize atomic.Int64
}

// memoLimit bounds the lookup memo: model names come from clients, and a
// stream of made-up names must not grow it without limit. When it fills up
// it is dropped and refilled.
const memoLimit = 4096

type lookupKey struct{ model, provider string }

type lookupResult struct {
	entry *compiled // nil when nothing matched
	err   error     // *NoPriceError when entry is nil, kept to avoid allocating per span
}

var builtins = sync.OnceValues(func() ([]*compiled, error) {
	entries, err := parse(embeddedPrices, Builtin)
	if err != nil {
		return nil, fmt.Errorf("%w (embedded prices.json)", err)
	}
	return compileAll(entries)
})

var defaultTable = sync.OnceValue(func() *Table {
	t, err := New(nil)
	if err != nil {
		// The embedded file is checked by the package tests; this only
		// fires on a broken build.
		panic(err)
	}
	return t
})

// Default returns the table of built-in prices.
func Default() *Table { return defaultTable() }

// New builds a table from the built-in prices and the given user entries.
// A user entry with the same pattern and provider as a built-in one
// replaces it; every other user entry is added and, when it matches, is
// preferred over built-ins (see Lookup).
func New(user []Entry) (*Table, error) {
	base, err := builtins()
	if err != nil {
		return nil, err
	}
	own := make([]Entry, len(user))
	for i, e := range user {
		own[i] = cloneEntry(e)
		own[i].Origin = User
	}
	users, err := compileAll(own)
	if err != nil {
		return nil, err
	}
	t := &Table{entries: make([]*compiled, 0, len(users)+len(base))}
	t.entries = append(t.entries, users...)
	for _, b := range base {
		replaced := false
		for _, u := range users {
			if sameRow(u, b) {
				replaced = true
				break
			}
		}
		if !replaced {
			t.entries = append(t.entries, b)
		}
	}
	return t, nil
}

// compileAll compiles entries of one origin, rejecting duplicates so that
// a file cannot define the same row twice with different prices.
func compileAll(entries []Entry) ([]*compiled, error) {
	out := make([]*compiled, 0, len(entries))
	for i, e := range entries {
		c, err := compile(e)
		if err != nil {
			return nil, fmt.Errorf("pricing: %s entry %d (%q): %w", e.Origin, i, e.Name, err)
		}
		for j, prev := range out {
			if sameRow(prev, c) {
				return nil, fmt.Errorf("pricing: %s entry %d (%q): same pattern and provider as entry %d (%q)",
					e.Origin, i, e.Name, j, prev.Name)
			}
		}
		out = append(out, c)
	}
	return out, nil
}

// Entries lists the table's effective entries for display: user entries
// first, then the built-ins they did not replace. The slice is a copy.
func (t *Table) Entries() []Entry {
	out := make([]Entry, len(t.entries))
	for i, c := range t.entries {
		out[i] = cloneEntry(c.Entry)
	}
	return out
}

// Lookup returns the entry that prices model (llm.model_name) served by
// provider (llm.provider, may be empty). The result is memoized, so calling
// it for every span is cheap. The returned entry belongs to the table and
// must not be modified.
//
// Matching is anchored and ignores case. A name containing "/" (router
// prefixes such as "azure/gpt-4o", Bedrock ARNs, "models/gemini-…") is also
// tried from after each "/". When several entries match, the first
// difference in this order decides:
//
//  1. user entries over built-in ones;
//  2. an entry for exactly the span's provider, then an entry for any
//     provider, then (only when the span has no provider) an entry for some
//     other named provider; entries for a different provider than the
//     span's never match;
//  3. the match covering more of the name (the whole name beats a suffix);
//  4. the pattern with more literal characters;
//  5. the pattern with fewer wildcards (classes, dots, repetitions);
//  6. the earlier entry in its file.
func (t *Table) Lookup(model, provider string) (*Entry, bool) {
	r := t.lookup(model, provider)
	if r.entry == nil {
		return nil, false
	}
	return &r.entry.Entry, true
}

func (t *Table) lookup(model, provider string) *lookupResult {
	k := lookupKey{model, provider}
	if v, ok := t.memo.Load(k); ok {
		return v.(*lookupResult)
	}
	r := &lookupResult{entry: t.match(model, provider)}
	if r.entry == nil {
		r.err = &NoPriceError{Model: model, Provider: provider}
	}
	if t.memoSize.Add(1) > memoLimit {
		t.memo.Clear()
		t.memoSize.Store(1)
	}
	t.memo.Store(k, r)
	return r
}

// rank orders candidate matches; see Lookup for the meaning of each field.
type rank struct {
	user     bool
	provider int // 2 exact, 1 any provider, 0 other provider on an unlabelled span
	covered  int // length of the name the pattern matched
	spec     specificity
}

func (r rank) better(o rank) bool {
	switch {
	case r.user != o.user:
		return r.user
	case r.provider != o.provider:
		return r.provider > o.provider
	case r.covered != o.covered:
		return r.covered > o.covered
	default:
		return r.spec.better(o.spec)
	}
}

func (t *Table) match(model, provider string) *compiled {
	model = strings.TrimSpace(model)
	if model == "" {
		return nil
	}
	provider = normalizeProvider(provider)
	var (
		best     *compiled
		bestRank rank
	)
	for _, c := range t.entries {
		pr, ok := providerRank(c.provider, provider)
		if !ok {
			continue
		}
		covered := matchLength(c, model)
		if covered == 0 {
			continue
		}
		r := rank{user: c.Origin == User, provider: pr, covered: covered, spec: c.spec}
		// Strictly better only: on a full tie the earlier entry stays.
		if best == nil || r.better(bestRank) {
			best, bestRank = c, r
		}
	}
	return best
}

func providerRank(entry, span string) (int, bool) {
	switch {
	case entry == "":
		return 1, true
	case entry == span:
		return 2, true
	case span == "":
		return 0, true
	default:
		return 0, false
	}
}

// matchLength returns how much of model the entry's pattern matches: the
// whole name, else the longest suffix that follows a "/", else 0.
func matchLength(c *compiled, model string) int {
	for s := model; ; {
		if c.re.MatchString(s) {
			return len(s)
		}
		i := strings.IndexByte(s, '/')
		if i < 0 {
			return 0
		}
		s = s[i+1:]
	}
}
