package query

import (
	"math"
	"strconv"
	"strings"
	"unicode"
)

// Pos is a 1-based column in the filter text, counted in characters.
type Pos int

// Expr is a node of the syntax tree. String returns the canonical form: fully
// parenthesised, strings in single quotes. Parsing the canonical form gives
// back an equal tree (positions aside), which tests and the fuzzer rely on.
type Expr interface {
	Pos() Pos
	String() string
	expr()
}

// BoolOp is "and" or "or".
type BoolOp string

// CmpOp is a comparison operator as written in the filter.
type CmpOp string

// ArithOp is an arithmetic operator as written in the filter.
type ArithOp string

const (
	And BoolOp = "and"
	Or  BoolOp = "or"

	Eq    CmpOp = "=="
	Ne    CmpOp = "!="
	Lt    CmpOp = "<"
	Le    CmpOp = "<="
	Gt    CmpOp = ">"
	Ge    CmpOp = ">="
	In    CmpOp = "in"
	NotIn CmpOp = "not in"
	Is    CmpOp = "is"
	IsNot CmpOp = "is not"

	Add      ArithOp = "+"
	Sub      ArithOp = "-"
	Mul      ArithOp = "*"
	Div      ArithOp = "/"
	FloorDiv ArithOp = "//"
	Mod      ArithOp = "%"
)

type (
	// BoolExpr is X and Y, or X or Y.
	BoolExpr struct {
		Op    BoolOp
		OpPos Pos
		X, Y  Expr
	}

	// NotExpr is not X.
	NotExpr struct {
		NotPos Pos
		X      Expr
	}

	// CompareExpr is a comparison, possibly chained as in Python:
	// X Ops[0] Ys[0] Ops[1] Ys[1] … means (X Ops[0] Ys[0]) and (Ys[0] Ops[1] Ys[1]) ….
	CompareExpr struct {
		X     Expr
		Ops   []CmpOp
		OpPos []Pos
		Ys    []Expr
	}

	// BinaryExpr is arithmetic on two operands.
	BinaryExpr struct {
		Op    ArithOp
		OpPos Pos
		X, Y  Expr
	}

	// UnaryExpr is -X or +X.
	UnaryExpr struct {
		Op    ArithOp
		OpPos Pos
		X     Expr
	}

	// Name is a bare identifier such as latency_ms or metadata.
	Name struct {
		NamePos Pos
		Name    string
	}

	// Attr is X.Name. Name may be all digits (llm.input_messages.0).
	Attr struct {
		X       Expr
		NamePos Pos
		Name    string
	}

	// Index is X[Key].
	Index struct {
		X      Expr
		Lbrack Pos
		Key    Expr
	}

	// Call is Fun(Args…); only str, int and float pass the checker.
	Call struct {
		Fun  *Name
		Args []Expr
	}

	// StringLit is a quoted string after escapes are resolved.
	StringLit struct {
		ValuePos Pos
		Value    string
	}

	// NumberLit is an integer (IsInt, Int) or a float (Float).
	NumberLit struct {
		ValuePos Pos
		IsInt    bool
		Int      int64
		Float    float64
	}

	// BoolLit is True or False.
	BoolLit struct {
		ValuePos Pos
		Value    bool
	}

	// NoneLit is None.
	NoneLit struct {
		ValuePos Pos
	}

	// ListExpr is [a, b] or, when Tuple, (a, b).
	ListExpr struct {
		Lpos  Pos
		Tuple bool
		Elems []Expr
	}
)

func (e *BoolExpr) Pos() Pos    { return e.X.Pos() }
func (e *NotExpr) Pos() Pos     { return e.NotPos }
func (e *CompareExpr) Pos() Pos { return e.X.Pos() }
func (e *BinaryExpr) Pos() Pos  { return e.X.Pos() }
func (e *UnaryExpr) Pos() Pos   { return e.OpPos }
func (e *Name) Pos() Pos        { return e.NamePos }
func (e *Attr) Pos() Pos        { return e.X.Pos() }
func (e *Index) Pos() Pos       { return e.X.Pos() }
func (e *Call) Pos() Pos        { return e.Fun.NamePos }
func (e *StringLit) Pos() Pos   { return e.ValuePos }
func (e *NumberLit) Pos() Pos   { return e.ValuePos }
func (e *BoolLit) Pos() Pos     { return e.ValuePos }
func (e *NoneLit) Pos() Pos     { return e.ValuePos }
func (e *ListExpr) Pos() Pos    { return e.Lpos }

func (*BoolExpr) expr()    {}
func (*NotExpr) expr()     {}
func (*CompareExpr) expr() {}
func (*BinaryExpr) expr()  {}
func (*UnaryExpr) expr()   {}
func (*Name) expr()        {}
func (*Attr) expr()        {}
func (*Index) expr()       {}
func (*Call) expr()        {}
func (*StringLit) expr()   {}
func (*NumberLit) expr()   {}
func (*BoolLit) expr()     {}
func (*NoneLit) expr()     {}
func (*ListExpr) expr()    {}

func (e *BoolExpr) String() string {
	return "(" + e.X.String() + " " + string(e.Op) + " " + e.Y.String() + ")"
}

func (e *NotExpr) String() string { return "(not " + e.X.String() + ")" }

func (e *CompareExpr) String() string {
	var b strings.Builder
	b.WriteString("(")
	b.WriteString(e.X.String())
	for i, op := range e.Ops {
		b.WriteString(" ")
		b.WriteString(string(op))
		b.WriteString(" ")
		b.WriteString(e.Ys[i].String())
	}
	b.WriteString(")")
	return b.String()
}

func (e *BinaryExpr) String() string {
	return "(" + e.X.String() + " " + string(e.Op) + " " + e.Y.String() + ")"
}

func (e *UnaryExpr) String() string { return "(" + string(e.Op) + e.X.String() + ")" }

func (e *Name) String() string { return e.Name }

func (e *Attr) String() string {
	// "5.x" would lex as the float "5." followed by x.
	if _, ok := e.X.(*NumberLit); ok {
		return "(" + e.X.String() + ")." + e.Name
	}
	return e.X.String() + "." + e.Name
}

func (e *Index) String() string {
	return e.X.String() + "[" + e.Key.String() + "]"
}

func (e *Call) String() string {
	return e.Fun.Name + "(" + joinExprs(e.Args) + ")"
}

func (e *StringLit) String() string { return quote(e.Value) }

func (e *NumberLit) String() string {
	if e.IsInt {
		return strconv.FormatInt(e.Int, 10)
	}
	return formatFloat(e.Float)
}

func (e *BoolLit) String() string {
	if e.Value {
		return "True"
	}
	return "False"
}

func (e *NoneLit) String() string { return "None" }

func (e *ListExpr) String() string {
	if !e.Tuple {
		return "[" + joinExprs(e.Elems) + "]"
	}
	if len(e.Elems) == 1 {
		return "(" + e.Elems[0].String() + ",)"
	}
	return "(" + joinExprs(e.Elems) + ")"
}

func joinExprs(es []Expr) string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.String()
	}
	return strings.Join(parts, ", ")
}

// formatFloat writes the shortest text that reads back as the same float and
// still lexes as a float, not an integer.
func formatFloat(f float64) string {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		// Not reachable from parsed input: the lexer rejects out-of-range
		// literals. Kept total so String never panics.
		return "float('" + strconv.FormatFloat(f, 'g', -1, 64) + "')"
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".e") {
		s += ".0"
	}
	return s
}

// quote writes s as a single-quoted Python string literal that the lexer
// reads back to exactly s.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`\'`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			switch {
			case r < 0x20 || r == 0x7f:
				b.WriteString(`\x`)
				b.WriteString(hex2(uint32(r)))
			case unicode.IsPrint(r):
				b.WriteRune(r)
			case r <= 0xffff:
				b.WriteString(`\u`)
				b.WriteString(hexN(uint32(r), 4))
			default:
				b.WriteString(`\U`)
				b.WriteString(hexN(uint32(r), 8))
			}
		}
	}
	b.WriteByte('\'')
	return b.String()
}

func hex2(v uint32) string { return hexN(v, 2) }

func hexN(v uint32, n int) string {
	s := strconv.FormatUint(uint64(v), 16)
	return strings.Repeat("0", max(0, n-len(s))) + s
}
