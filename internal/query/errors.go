package query

import (
	"strconv"
	"strings"
)

// Error is a problem found while parsing, checking or compiling a filter.
// The message is meant for the person who wrote the filter, so the HTTP
// layer can return it unchanged (422 for a bad filter).
type Error struct {
	// Column is the 1-based position, in characters (not bytes), of the part
	// of the filter the message is about; 0 when it is about the whole filter.
	Column int
	// Msg says what is wrong, without the position.
	Msg string
	// Hint proposes a fix ("did you mean 'latency_ms'?"); often empty.
	Hint string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Msg)
	if e.Column > 0 {
		b.WriteString(" at column ")
		b.WriteString(strconv.Itoa(e.Column))
	}
	if e.Hint != "" {
		b.WriteString("; ")
		b.WriteString(e.Hint)
	}
	return b.String()
}

func errAt(p Pos, msg string) *Error { return &Error{Column: int(p), Msg: msg} }

func errHint(p Pos, msg, hint string) *Error { return &Error{Column: int(p), Msg: msg, Hint: hint} }

// suggest returns the candidate closest to name, or "" when none is close
// enough to be a plausible typo.
func suggest(name string, candidates []string) string {
	limit := max(2, len(name)/3)
	best, bestD := "", limit+1
	lname := strings.ToLower(name)
	for _, c := range candidates {
		lc := strings.ToLower(c)
		diff := max(len(lc)-len(lname), len(lname)-len(lc))
		var d int
		switch {
		case lname == lc:
			d = 0
		case len(lname) >= 4 && diff <= 4 && (strings.HasPrefix(lc, lname) || strings.HasPrefix(lname, lc)):
			// "latency" for "latency_ms": a prefix is a likelier intent than
			// the edit distance alone says.
			d = 1
		case diff > limit:
			// The distance is at least the difference in length; skipping
			// keeps long garbage names cheap.
			continue
		default:
			d = editDistance(lname, lc)
		}
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func didYouMean(name string, candidates []string) string {
	if s := suggest(name, candidates); s != "" {
		return "did you mean '" + s + "'?"
	}
	return ""
}

// editDistance is the Levenshtein distance over runes.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
