package pricing

import "regexp/syntax"

// specificity ranks patterns that match the same model name: the one that
// pins down more literal characters wins, then the one with fewer wildcards.
// Both are computed on the parsed expression so that writing the same
// pattern differently ("gpt-4o|gpt-4o-mini" or "gpt-4o(?:-mini)?") scores
// the same.
type specificity struct {
	literals  int // literal characters every match must contain
	wildcards int // classes, dots and repetitions
}

func specificityOf(pattern string) (specificity, error) {
	re, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return specificity{}, err
	}
	re = re.Simplify()
	return specificity{literals: minLiterals(re), wildcards: wildcards(re)}, nil
}

// better reports whether s ranks above o.
func (s specificity) better(o specificity) bool {
	if s.literals != o.literals {
		return s.literals > o.literals
	}
	return s.wildcards < o.wildcards
}

// minLiterals counts the literal characters on the cheapest path through
// re: alternatives contribute their smallest branch and optional parts
// nothing.
func minLiterals(re *syntax.Regexp) int {
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return minLiterals(re.Sub[0])
	case syntax.OpRepeat:
		return re.Min * minLiterals(re.Sub[0])
	case syntax.OpConcat:
		n := 0
		for _, sub := range re.Sub {
			n += minLiterals(sub)
		}
		return n
	case syntax.OpAlternate:
		n := -1
		for _, sub := range re.Sub {
			if m := minLiterals(sub); n < 0 || m < n {
				n = m
			}
		}
		return max(n, 0)
	default:
		return 0
	}
}

func wildcards(re *syntax.Regexp) int {
	n := 0
	switch re.Op {
	case syntax.OpAnyChar, syntax.OpAnyCharNotNL, syntax.OpCharClass,
		syntax.OpStar, syntax.OpPlus, syntax.OpQuest:
		n = 1
	case syntax.OpRepeat:
		if re.Min != re.Max {
			n = 1
		}
	}
	for _, sub := range re.Sub {
		n += wildcards(sub)
	}
	return n
}
