package pricing

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
)

// The context windows sit beside the prices because they go stale the
// same way and are refreshed from the same pages (REFRESHING.md).
//
//go:embed context_windows.json
var embeddedContextWindows []byte

type contextWindow struct {
	re     *regexp.Regexp
	tokens int64
}

var contextWindows = sync.OnceValues(func() ([]contextWindow, error) {
	var f struct {
		Entries []struct {
			Pattern string `json:"pattern"`
			Tokens  int64  `json:"tokens"`
		} `json:"entries"`
	}
	if err := json.Unmarshal(embeddedContextWindows, &f); err != nil {
		return nil, fmt.Errorf("context_windows.json: %w", err)
	}
	out := make([]contextWindow, 0, len(f.Entries))
	for _, e := range f.Entries {
		re, err := regexp.Compile(`^(?:` + e.Pattern + `)$`)
		if err != nil {
			return nil, fmt.Errorf("context_windows.json: pattern %q: %w", e.Pattern, err)
		}
		if e.Tokens <= 0 {
			return nil, fmt.Errorf("context_windows.json: pattern %q: tokens must be positive", e.Pattern)
		}
		out = append(out, contextWindow{re: re, tokens: e.Tokens})
	}
	return out, nil
})

// ContextWindow is how many tokens a request to model may hold, when the
// built-in table knows the model: matched case-insensitively, first entry
// first, with a router's vendor prefix ("openai/gpt-4o") tried off as
// well. Unknown models give false: a guessed window would mislead more
// than none.
func ContextWindow(model string) (int64, bool) {
	windows, err := contextWindows()
	if err != nil || model == "" {
		return 0, false
	}
	m := strings.ToLower(strings.TrimSpace(model))
	names := []string{m}
	if i := strings.LastIndexByte(m, '/'); i >= 0 && i < len(m)-1 {
		names = append(names, m[i+1:])
	}
	for _, name := range names {
		for _, w := range windows {
			if w.re.MatchString(name) {
				return w.tokens, true
			}
		}
	}
	return 0, false
}
