package query

import (
	"strconv"
	"strings"
)

// maxDepth bounds nesting so that hostile input cannot exhaust the stack.
const maxDepth = 200

// maxTerms and maxBytes bound what one filter may ask for. Nesting is
// bounded by maxDepth, but a chain of subscripts or a long list is not
// nested, and every term of it is work for the checker and the compiler and
// often work for every span the query reads: a subscript chain becomes a
// JSON path the database walks for each row. A filter is refused, before
// anything reads spans, when it is longer than maxBytes or has more than
// maxTerms terms (names, values, operators, subscripts, calls and list
// elements each count one).
const (
	maxTerms = 5000
	maxBytes = 128 << 10
)

// Binding powers, lowest first, in Python's order.
const (
	bpLowest = iota
	bpOr
	bpAnd
	bpNot
	bpCompare
	bpAdd
	bpMul
	bpUnary
	bpPostfix
)

// Parse parses a span filter condition (a Python expression) into a syntax
// tree. It checks syntax only; Check and Compile check names and types.
// A filter of only whitespace is an error: callers treat an empty filter as
// "no filter" before calling Parse.
func Parse(src string) (Expr, error) {
	if strings.TrimSpace(src) == "" {
		return nil, &Error{Msg: "the filter is empty"}
	}
	if len(src) > maxBytes {
		return nil, &Error{Msg: "the filter is too long: " + strconv.Itoa(len(src)) + " bytes, at most " +
			strconv.Itoa(maxBytes), Hint: "narrow it, or split it into several queries"}
	}
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	e, err := p.expr(bpLowest, nil)
	if err != nil {
		return nil, err
	}
	if t := p.tok(); t.kind != tEOF {
		return nil, p.trailing(t)
	}
	return e, nil
}

type parser struct {
	toks  []token
	p     int
	depth int
	terms int
}

// term counts one term of the tree, found at t, toward maxTerms.
func (p *parser) term(t token) error {
	p.terms++
	if p.terms > maxTerms {
		return errHint(t.pos, "the filter is too complex: more than "+strconv.Itoa(maxTerms)+
			" terms (names, values, operators and subscripts)", "narrow it, or split it into several queries")
	}
	return nil
}

func (p *parser) tok() token { return p.toks[p.p] }

func (p *parser) peek(n int) token {
	if p.p+n < len(p.toks) {
		return p.toks[p.p+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) infixBP() int {
	switch p.tok().kind {
	case tOr:
		return bpOr
	case tAnd:
		return bpAnd
	case tEq, tNe, tLt, tLe, tGt, tGe, tIn, tIs:
		return bpCompare
	case tNot:
		if p.peek(1).kind == tIn {
			return bpCompare
		}
	case tPlus, tMinus:
		return bpAdd
	case tStar, tSlash, tDSlash, tPercent:
		return bpMul
	case tDot, tLBrack, tLParen:
		return bpPostfix
	}
	return bpLowest
}

// expr parses an expression whose operators all bind tighter than rbp.
// after is the token before it, for "expected a value after …" errors.
func (p *parser) expr(rbp int, after *token) (Expr, error) {
	// depth is the depth of the tree being built: nesting, plus one for each
	// operator folded into the left operand, since a+b+c is ((a+b)+c). The
	// SQL keeps that shape, and SQLite refuses expressions deeper than 1000.
	start := p.depth
	defer func() { p.depth = start }()
	p.depth++
	if p.depth > maxDepth {
		return nil, p.tooDeep(p.tok())
	}
	left, err := p.prefix(rbp, after)
	if err != nil {
		return nil, err
	}
	for {
		lbp := p.infixBP()
		if lbp <= rbp {
			return left, nil
		}
		t := p.tok()
		if err := p.term(t); err != nil {
			return nil, err
		}
		if lbp != bpPostfix {
			p.depth++
			if p.depth > maxDepth {
				return nil, p.tooDeep(t)
			}
		}
		switch t.kind {
		case tAnd, tOr:
			p.p++
			right, err := p.expr(lbp, &t)
			if err != nil {
				return nil, err
			}
			op := And
			if t.kind == tOr {
				op = Or
			}
			left = &BoolExpr{Op: op, OpPos: t.pos, X: left, Y: right}
		case tPlus, tMinus, tStar, tSlash, tDSlash, tPercent:
			p.p++
			right, err := p.expr(lbp, &t)
			if err != nil {
				return nil, err
			}
			left = &BinaryExpr{Op: ArithOp(t.text), OpPos: t.pos, X: left, Y: right}
		case tDot:
			p.p++
			n := p.tok()
			if n.kind != tIdent && n.kind != tSegment {
				return nil, p.expected("a name after '.'", n)
			}
			p.p++
			left = &Attr{X: left, NamePos: n.pos, Name: n.text}
		case tLBrack:
			p.p++
			key, err := p.expr(bpLowest, &t)
			if err != nil {
				return nil, err
			}
			if err := p.close(t, tRBrack); err != nil {
				return nil, err
			}
			left = &Index{X: left, Lbrack: t.pos, Key: key}
		case tLParen:
			if left, err = p.call(left, t); err != nil {
				return nil, err
			}
		default:
			if left, err = p.compare(left); err != nil {
				return nil, err
			}
		}
	}
}

func (p *parser) tooDeep(t token) *Error {
	return errHint(t.pos, "the filter is nested too deeply",
		"at most "+strconv.Itoa(maxDepth)+" operators can nest or follow each other; write long lists of alternatives as x in [...]")
}

// compare parses a chain of comparisons after its first operand.
func (p *parser) compare(x Expr) (Expr, error) {
	c := &CompareExpr{X: x}
	for p.infixBP() == bpCompare {
		t := p.tok()
		if len(c.Ops) > 0 {
			if err := p.term(t); err != nil {
				return nil, err
			}
			p.depth++
			if p.depth > maxDepth {
				return nil, p.tooDeep(t)
			}
		}
		op := CmpOp(t.text)
		p.p++
		switch {
		case t.kind == tNot:
			op = NotIn
			p.p++
		case t.kind == tIs && p.tok().kind == tNot:
			op = IsNot
			p.p++
		}
		opTok := token{kind: t.kind, pos: t.pos, text: string(op)}
		y, err := p.expr(bpCompare, &opTok)
		if err != nil {
			return nil, err
		}
		c.Ops = append(c.Ops, op)
		c.OpPos = append(c.OpPos, t.pos)
		c.Ys = append(c.Ys, y)
	}
	return c, nil
}

func (p *parser) call(fun Expr, lparen token) (Expr, error) {
	name, ok := fun.(*Name)
	if !ok {
		return nil, errAt(lparen.pos, "only str(), int() and float() can be called")
	}
	p.p++
	args, err := p.elems(lparen, lparen, tRParen)
	if err != nil {
		return nil, err
	}
	return &Call{Fun: name, Args: args}, nil
}

func (p *parser) prefix(rbp int, after *token) (Expr, error) {
	t := p.tok()
	if err := p.term(t); err != nil {
		return nil, err
	}
	switch t.kind {
	case tNot:
		if rbp >= bpCompare {
			// Python rejects "a == not b" too; the parentheses make the
			// intent explicit.
			err := p.expectedValue(after)
			err.Hint = "put the 'not' expression in parentheses"
			return nil, err
		}
		p.p++
		x, err := p.expr(bpNot, &t)
		if err != nil {
			return nil, err
		}
		return &NotExpr{NotPos: t.pos, X: x}, nil
	case tMinus, tPlus:
		p.p++
		x, err := p.expr(bpUnary, &t)
		if err != nil {
			return nil, err
		}
		return &UnaryExpr{Op: ArithOp(t.text), OpPos: t.pos, X: x}, nil
	case tIdent:
		p.p++
		return &Name{NamePos: t.pos, Name: t.text}, nil
	case tString:
		// Adjacent literals concatenate, as in Python.
		p.p++
		s := t.str
		for p.tok().kind == tString {
			s += p.tok().str
			p.p++
		}
		return &StringLit{ValuePos: t.pos, Value: s}, nil
	case tNumber:
		p.p++
		n := *t.num
		return &n, nil
	case tTrue, tFalse:
		p.p++
		return &BoolLit{ValuePos: t.pos, Value: t.kind == tTrue}, nil
	case tNone:
		p.p++
		return &NoneLit{ValuePos: t.pos}, nil
	case tLParen:
		p.p++
		if p.tok().kind == tRParen {
			p.p++
			return &ListExpr{Lpos: t.pos, Tuple: true}, nil
		}
		x, err := p.expr(bpLowest, &t)
		if err != nil {
			return nil, err
		}
		if p.tok().kind != tComma {
			if err := p.close(t, tRParen); err != nil {
				return nil, err
			}
			return x, nil
		}
		comma := p.tok()
		p.p++
		rest, err := p.elems(t, comma, tRParen)
		if err != nil {
			return nil, err
		}
		return &ListExpr{Lpos: t.pos, Tuple: true, Elems: append([]Expr{x}, rest...)}, nil
	case tLBrack:
		p.p++
		elems, err := p.elems(t, t, tRBrack)
		if err != nil {
			return nil, err
		}
		return &ListExpr{Lpos: t.pos, Elems: elems}, nil
	}
	return nil, p.expectedValue(after)
}

// elems parses comma-separated expressions up to and including the closer
// of open; a trailing comma is allowed. after is the token just before.
func (p *parser) elems(open, after token, closer tokKind) ([]Expr, error) {
	var out []Expr
	sep := after
	for p.tok().kind != closer {
		e, err := p.expr(bpLowest, &sep)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
		if t := p.tok(); t.kind == tIdent && t.text == "for" {
			return nil, p.comprehension(t)
		}
		if p.tok().kind != tComma {
			break
		}
		sep = p.tok()
		p.p++
	}
	if err := p.close(open, closer); err != nil {
		return nil, err
	}
	return out, nil
}

// comprehension explains that Phoenix's comprehensions, such as
// any(s.status_code == 'ERROR' for s in spans), are not supported, naming
// what they iterate when it can be read.
func (p *parser) comprehension(forTok token) *Error {
	what := "comprehensions"
	if p.peek(2).kind == tIn && p.peek(3).kind == tIdent {
		what += " over '" + p.peek(3).text + "'"
	}
	return errHint(forTok.pos, what+" ('… for x in …') are not supported",
		"Loupe's filters read each span, trace or session and the totals kept with it, "+
			"such as a trace's num_spans, error_count, llm_span_count, token_count_total and total_cost")
}

var closerText = map[tokKind]string{tRParen: ")", tRBrack: "]"}

// close consumes the closer matching an opening bracket.
func (p *parser) close(open token, closer tokKind) error {
	t := p.tok()
	if t.kind == closer {
		p.p++
		return nil
	}
	opener := open.text
	if t.kind == tEOF {
		return errAt(open.pos, "unclosed '"+opener+"'")
	}
	return errAt(t.pos, "expected '"+closerText[closer]+"' to close '"+opener+"' but found "+t.describe())
}

func (p *parser) expectedValue(after *token) *Error {
	what := "a value"
	if after != nil {
		what += " after '" + after.text + "'"
	}
	return p.expected(what, p.tok())
}

func (p *parser) expected(what string, found token) *Error {
	msg := "expected " + what
	if found.kind != tEOF {
		msg += " but found " + found.describe()
	}
	return errAt(found.pos, msg)
}

// trailing explains a token left over after a complete expression.
func (p *parser) trailing(t token) *Error {
	switch t.kind {
	case tRParen, tRBrack:
		return errAt(t.pos, "unmatched '"+t.text+"'")
	case tIdent:
		lower := strings.ToLower(t.text)
		if k, ok := keywords[lower]; ok && k <= tIs {
			return errHint(t.pos, "expected an operator or the end of the filter but found "+t.describe(),
				"did you mean '"+lower+"'?")
		}
	}
	return errAt(t.pos, "expected an operator or the end of the filter but found "+t.describe())
}
