package query

import (
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tNumber
	tString
	tSegment // digits right after '.', as in llm.input_messages.0.message
	tAnd
	tOr
	tNot
	tIn
	tIs
	tTrue
	tFalse
	tNone
	tEq
	tNe
	tLt
	tLe
	tGt
	tGe
	tPlus
	tMinus
	tStar
	tSlash
	tDSlash
	tPercent
	tLParen
	tRParen
	tLBrack
	tRBrack
	tComma
	tDot
)

var keywords = map[string]tokKind{
	"and": tAnd, "or": tOr, "not": tNot, "in": tIn, "is": tIs,
	"True": tTrue, "False": tFalse, "None": tNone,
}

type token struct {
	kind tokKind
	pos  Pos
	text string // as written
	str  string // tString: the value after escapes
	num  *NumberLit
}

// describe names a token for an error message.
func (t token) describe() string {
	switch t.kind {
	case tEOF:
		return "the end of the filter"
	case tIdent:
		return "name '" + t.text + "'"
	case tString:
		return "text " + quote(t.str)
	case tNumber:
		return "number " + t.text
	default:
		return "'" + t.text + "'"
	}
}

// endsOperand reports whether a '.' after this token is attribute access
// rather than the start of a number such as .5.
func (t token) endsOperand() bool {
	switch t.kind {
	case tIdent, tSegment, tString, tNumber, tTrue, tFalse, tNone, tRParen, tRBrack:
		return true
	}
	return false
}

type lexer struct {
	src  string
	i    int // byte offset
	col  Pos // column of src[i]
	toks []token
}

// lex splits src into tokens, ending with tEOF.
func lex(src string) ([]token, error) {
	col := Pos(1)
	for i := 0; i < len(src); col++ {
		r, n := utf8.DecodeRuneInString(src[i:])
		if r == utf8.RuneError && n == 1 {
			return nil, errAt(col, "the filter is not valid UTF-8")
		}
		i += n
	}
	l := &lexer{src: src, col: 1}
	for {
		if err := l.next(); err != nil {
			return nil, err
		}
		if l.toks[len(l.toks)-1].kind == tEOF {
			return l.toks, nil
		}
	}
}

func (l *lexer) peekByte(off int) byte {
	if l.i+off < len(l.src) {
		return l.src[l.i+off]
	}
	return 0
}

// advance moves past n bytes, which must be whole runes.
func (l *lexer) advance(n int) {
	l.col += Pos(utf8.RuneCountInString(l.src[l.i : l.i+n]))
	l.i += n
}

func (l *lexer) emit(k tokKind, start int, pos Pos) {
	l.toks = append(l.toks, token{kind: k, pos: pos, text: l.src[start:l.i]})
}

func (l *lexer) prev() token {
	if len(l.toks) == 0 {
		return token{kind: tEOF}
	}
	return l.toks[len(l.toks)-1]
}

func (l *lexer) next() error {
	for l.i < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[l.i:])
		if !unicode.IsSpace(r) {
			break
		}
		l.advance(n)
	}
	start, pos := l.i, l.col
	if l.i >= len(l.src) {
		l.toks = append(l.toks, token{kind: tEOF, pos: pos})
		return nil
	}
	c := l.src[l.i]
	r, _ := utf8.DecodeRuneInString(l.src[l.i:])
	switch {
	case c == '\'' || c == '"':
		return l.lexString(start, pos, false)
	case isIdentStart(r):
		return l.lexIdent(start, pos)
	case '0' <= c && c <= '9':
		if l.prev().kind == tDot {
			return l.lexSegment(start, pos)
		}
		return l.lexNumber(start, pos)
	case c == '.' && '0' <= l.peekByte(1) && l.peekByte(1) <= '9' && !l.prev().endsOperand():
		return l.lexNumber(start, pos)
	}
	two := ""
	if l.i+1 < len(l.src) {
		two = l.src[l.i : l.i+2]
	}
	if k, ok := twoCharOps[two]; ok {
		l.advance(2)
		l.emit(k, start, pos)
		return nil
	}
	if msg, hint, ok := badOperator(two); ok {
		return errHint(pos, msg, hint)
	}
	if k, ok := oneCharOps[c]; ok {
		l.advance(1)
		l.emit(k, start, pos)
		return nil
	}
	if msg, hint, ok := badOperator(string(c)); ok {
		return errHint(pos, msg, hint)
	}
	return errAt(pos, "unexpected character "+strconv.QuoteRuneToASCII(r))
}

var twoCharOps = map[string]tokKind{
	"==": tEq, "!=": tNe, "<=": tLe, ">=": tGe, "//": tDSlash,
}

var oneCharOps = map[byte]tokKind{
	'<': tLt, '>': tGt, '+': tPlus, '-': tMinus, '*': tStar, '/': tSlash, '%': tPercent,
	'(': tLParen, ')': tRParen, '[': tLBrack, ']': tRBrack, ',': tComma, '.': tDot,
}

// badOperator recognises operators from Python or other languages that the
// filter language does not have, so the error can name the right one.
func badOperator(op string) (msg, hint string, ok bool) {
	switch op {
	case "&&":
		return "unsupported operator '&&'", "did you mean 'and'?", true
	case "||":
		return "unsupported operator '||'", "did you mean 'or'?", true
	case "<>":
		return "unsupported operator '<>'", "did you mean '!='?", true
	case "**", "<<", ">>", "->", ":=", "+=", "-=":
		return "unsupported operator '" + op + "'", "", true
	case "=":
		return "'=' is not a comparison", "did you mean '=='?", true
	case "!":
		return "unsupported operator '!'", "did you mean 'not' or '!='?", true
	case "&":
		return "unsupported operator '&'", "did you mean 'and'?", true
	case "|":
		return "unsupported operator '|'", "did you mean 'or'?", true
	case "^", "~", "@":
		return "unsupported operator '" + op + "'", "", true
	case ":":
		return "slices and other uses of ':' are not supported", "", true
	}
	return "", "", false
}

func isIdentStart(r rune) bool { return r == '_' || unicode.IsLetter(r) }

func isIdentPart(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) }

func (l *lexer) lexIdent(start int, pos Pos) error {
	for l.i < len(l.src) {
		r, n := utf8.DecodeRuneInString(l.src[l.i:])
		if !isIdentPart(r) {
			break
		}
		l.advance(n)
	}
	word := l.src[start:l.i]
	if q := l.peekByte(0); (q == '\'' || q == '"') && len(word) <= 2 {
		switch strings.ToLower(word) {
		case "r":
			return l.lexString(start, pos, true)
		case "u":
			return l.lexString(start, pos, false)
		case "f", "rf", "fr":
			return errAt(pos, "f-strings are not supported")
		case "b", "rb", "br":
			return errAt(pos, "byte strings are not supported")
		}
	}
	if k, ok := keywords[word]; ok {
		l.emit(k, start, pos)
		return nil
	}
	l.emit(tIdent, start, pos)
	return nil
}

func (l *lexer) lexSegment(start int, pos Pos) error {
	for l.i < len(l.src) && '0' <= l.src[l.i] && l.src[l.i] <= '9' {
		l.advance(1)
	}
	if r, _ := utf8.DecodeRuneInString(l.src[l.i:]); l.i < len(l.src) && isIdentPart(r) {
		for l.i < len(l.src) {
			r, n := utf8.DecodeRuneInString(l.src[l.i:])
			if !isIdentPart(r) {
				break
			}
			l.advance(n)
		}
		return errHint(pos, "invalid path segment '"+l.src[start:l.i]+"'",
			"a segment after '.' is a name or a number; quote other keys, e.g. attributes['"+l.src[start:l.i]+"']")
	}
	l.emit(tSegment, start, pos)
	return nil
}

func (l *lexer) digits() {
	for l.i < len(l.src) {
		c := l.src[l.i]
		if ('0' <= c && c <= '9') || (c == '_' && l.i > 0 && isDigit(l.src[l.i-1]) && isDigit(l.peekByte(1))) {
			l.advance(1)
			continue
		}
		break
	}
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (l *lexer) lexNumber(start int, pos Pos) error {
	isInt := true
	radix := false
	if l.src[l.i] == '0' && strings.ContainsRune("xXoObB", rune(l.peekByte(1))) {
		radix = true
		l.advance(2)
		for l.i < len(l.src) && (isHexDigit(l.src[l.i]) || l.src[l.i] == '_') {
			l.advance(1)
		}
	} else {
		l.digits()
		if l.peekByte(0) == '.' {
			isInt = false
			l.advance(1)
			l.digits()
		}
		if c := l.peekByte(0); c == 'e' || c == 'E' {
			s := 1
			if c2 := l.peekByte(1); c2 == '+' || c2 == '-' {
				s = 2
			}
			if isDigit(l.peekByte(s)) {
				isInt = false
				l.advance(s)
				l.digits()
			}
		}
	}
	// A letter glued to a number ("4s", "1e", "5j") is never what was meant.
	if r, _ := utf8.DecodeRuneInString(l.src[l.i:]); l.i < len(l.src) && (isIdentPart(r) || r == '.') {
		for l.i < len(l.src) {
			r, n := utf8.DecodeRuneInString(l.src[l.i:])
			if !isIdentPart(r) && r != '.' {
				break
			}
			l.advance(n)
		}
		return errAt(pos, "invalid number '"+l.src[start:l.i]+"'")
	}
	text := l.src[start:l.i]
	lit := &NumberLit{ValuePos: pos}
	if isInt {
		if !radix && len(text) > 1 && text[0] == '0' && strings.Trim(text, "0_") != "" {
			return errHint(pos, "invalid number '"+text+"'", "leading zeros are not allowed")
		}
		base := 10
		digits := strings.ReplaceAll(text, "_", "")
		if radix {
			base = map[byte]int{'x': 16, 'o': 8, 'b': 2}[text[1]|0x20]
			digits = digits[2:]
		}
		v, err := strconv.ParseInt(digits, base, 64)
		if err != nil {
			if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
				return errAt(pos, "number '"+text+"' is too large")
			}
			return errAt(pos, "invalid number '"+text+"'")
		}
		lit.IsInt, lit.Int = true, v
	} else {
		v, err := strconv.ParseFloat(strings.ReplaceAll(text, "_", ""), 64)
		if err != nil || math.IsInf(v, 0) {
			return errAt(pos, "number '"+text+"' is out of range")
		}
		lit.Float = v
	}
	l.toks = append(l.toks, token{kind: tNumber, pos: pos, text: text, num: lit})
	return nil
}

func isHexDigit(c byte) bool {
	return isDigit(c) || ('a' <= c|0x20 && c|0x20 <= 'f')
}

// lexString reads a Python string literal. l.i is at the prefix (if any) or
// the opening quote; start and pos point at the literal's first character.
func (l *lexer) lexString(start int, pos Pos, raw bool) error {
	q := l.src[l.i]
	l.advance(1)
	var b strings.Builder
	for {
		if l.i >= len(l.src) {
			return errAt(pos, "unterminated string")
		}
		c := l.src[l.i]
		if c == q {
			l.advance(1)
			break
		}
		if c == '\n' {
			return errAt(pos, "unterminated string")
		}
		if c != '\\' {
			r, n := utf8.DecodeRuneInString(l.src[l.i:])
			b.WriteRune(r)
			l.advance(n)
			continue
		}
		escPos := l.col
		if l.i+1 >= len(l.src) {
			return errAt(pos, "unterminated string")
		}
		if raw {
			// In a raw string a backslash stays, and only keeps the next
			// character from ending the string.
			r, n := utf8.DecodeRuneInString(l.src[l.i+1:])
			b.WriteByte('\\')
			b.WriteRune(r)
			l.advance(1 + n)
			continue
		}
		e := l.src[l.i+1]
		l.advance(2)
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\n':
			// A backslash at the end of a line continues the string.
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if l.i+n > len(l.src) {
				return errAt(escPos, "invalid escape in string")
			}
			v, err := strconv.ParseUint(l.src[l.i:l.i+n], 16, 32)
			if err != nil || v > unicode.MaxRune || (0xd800 <= v && v <= 0xdfff) {
				return errAt(escPos, "invalid escape in string")
			}
			l.advance(n)
			b.WriteRune(rune(v))
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := uint32(e - '0')
			for k := 0; k < 2 && l.i < len(l.src) && '0' <= l.src[l.i] && l.src[l.i] <= '7'; k++ {
				v = v*8 + uint32(l.src[l.i]-'0')
				l.advance(1)
			}
			b.WriteRune(rune(v))
		case 'N':
			return errAt(escPos, "named escapes (\\N{…}) are not supported")
		default:
			// Python keeps unknown escapes as written.
			l.i -= 1
			l.col--
			r, n := utf8.DecodeRuneInString(l.src[l.i:])
			b.WriteByte('\\')
			b.WriteRune(r)
			l.advance(n)
		}
	}
	l.toks = append(l.toks, token{kind: tString, pos: pos, text: l.src[start:l.i], str: b.String()})
	return nil
}
