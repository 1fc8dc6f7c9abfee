package query

import (
	"strconv"
	"strings"
)

// Check reports whether a parsed filter uses only known names, compares
// values of compatible types, and writes datetimes with an offset. Compile
// checks too; Check is for validating a filter without compiling it.
func Check(e Expr) error {
	_, err := check(e)
	return err
}

// Validate parses and checks a filter.
func Validate(src string) error {
	e, err := Parse(src)
	if err != nil {
		return err
	}
	return Check(e)
}

func check(e Expr) (cond, error) { return checkAs(e, spanGrain) }

func checkAs(e Expr, g grain) (cond, error) {
	if e == nil {
		return nil, &Error{Msg: "the filter is empty"}
	}
	return (&checker{g: g}).cond(e)
}

type checker struct {
	g grain // what the filter selects
}

func (c *checker) cond(e Expr) (cond, error) {
	switch e := e.(type) {
	case *BoolExpr:
		x, err := c.cond(e.X)
		if err != nil {
			return nil, err
		}
		y, err := c.cond(e.Y)
		if err != nil {
			return nil, err
		}
		out := &boolCond{op: e.Op}
		for _, s := range []cond{x, y} {
			if b, ok := s.(*boolCond); ok && b.op == e.Op {
				out.xs = append(out.xs, b.xs...)
			} else {
				out.xs = append(out.xs, s)
			}
		}
		return out, nil
	case *NotExpr:
		x, err := c.cond(e.X)
		if err != nil {
			return nil, err
		}
		return &notCond{x: x}, nil
	case *CompareExpr:
		return c.compare(e)
	}
	v, err := c.value(e)
	if err != nil {
		return nil, err
	}
	switch v := v.(type) {
	case *annVal:
		if v.field == "" {
			return &atomCond{preds: []pred{{kind: pExists, x: v}}}, nil
		}
	case parentVal:
		return nil, parentSpanMisuse(e.Pos())
	}
	what := e.String() + " is " + v.vtype().String()
	if l, ok := v.(*litVal); ok {
		what = litDesc(l) + " is a value"
	}
	return nil, errHint(e.Pos(), what+", not a condition",
		"compare it with something, e.g. "+e.String()+" == …")
}

func (c *checker) compare(e *CompareExpr) (cond, error) {
	exprs := append([]Expr{e.X}, e.Ys...)
	vals := make([]val, len(exprs))
	for i, x := range exprs {
		v, err := c.value(x)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	out := &atomCond{}
	for i, op := range e.Ops {
		p, err := c.pair(op, e.OpPos[i], exprs[i], vals[i], exprs[i+1], vals[i+1])
		if err != nil {
			return nil, err
		}
		out.preds = append(out.preds, p)
	}
	return out, nil
}

func isNone(v val) bool { return v.vtype() == tyNone }

func (c *checker) pair(op CmpOp, opPos Pos, xe Expr, x val, ye Expr, y val) (pred, error) {
	switch op {
	case Is, IsNot:
		if !isNone(y) {
			return pred{}, errHint(ye.Pos(), "'"+string(op)+"' can only test for None", "use '==' or '!=' to compare values")
		}
		return nullTest(xe, x, op == IsNot)
	case Eq, Ne:
		// Python's "x == None" means "x is None"; SQL's would match nothing.
		if isNone(y) {
			return nullTest(xe, x, op == Ne)
		}
		if isNone(x) {
			return nullTest(ye, y, op == Ne)
		}
	case In, NotIn:
		return c.membership(op == NotIn, xe, x, ye, y)
	default:
		for _, s := range []struct {
			e Expr
			v val
		}{{xe, x}, {ye, y}} {
			if isNone(s.v) {
				return pred{}, errHint(s.e.Pos(), "None cannot be compared with '"+string(op)+"'", "use 'is None' or 'is not None'")
			}
		}
	}
	if err := usable(xe, x); err != nil {
		return pred{}, err
	}
	if err := usable(ye, y); err != nil {
		return pred{}, err
	}
	x, y, err := unify(op, opPos, xe, x, ye, y)
	if err != nil {
		return pred{}, err
	}
	return pred{kind: pCompare, op: op, x: x, y: y}, nil
}

func nullTest(e Expr, v val, not bool) (pred, error) {
	switch v := v.(type) {
	case parentVal:
		return pred{kind: pRoot, neg: not}, nil
	case *annVal:
		if v.field == "" {
			return pred{kind: pExists, x: v, neg: !not}, nil
		}
	case *listVal:
		return pred{}, errAt(e.Pos(), "a list is never None")
	case *anyRootVal:
		return pred{}, anyRootMisuse(e.Pos(), v)
	}
	return pred{kind: pIsNull, x: coerce(v, tyAny), neg: not}, nil
}

// usable rejects values that only make sense in one position.
func usable(e Expr, v val) error {
	switch v := v.(type) {
	case parentVal:
		return parentSpanMisuse(e.Pos())
	case *annVal:
		if v.field == "" {
			return errHint(e.Pos(), e.String()+" is an annotation, not a value",
				"compare one of its fields: "+e.String()+".label, .score or .explanation")
		}
	case *listVal:
		return errAt(e.Pos(), "a list can only follow 'in' or 'not in'")
	case *anyRootVal:
		return anyRootMisuse(e.Pos(), v)
	}
	return nil
}

func anyRootMisuse(p Pos, v *anyRootVal) error {
	return errHint(p, v.name+" is a search over every root span of the session, not a value",
		"write 'text' in "+v.name+" or 'text' not in "+v.name)
}

func parentSpanMisuse(p Pos) error {
	return errAt(p, "parent_span can only be tested with 'is None' or 'is not None'")
}

func (c *checker) membership(not bool, xe Expr, x val, ye Expr, y val) (pred, error) {
	if isNone(x) {
		return pred{}, errHint(xe.Pos(), "None cannot be tested with 'in'", "use 'is None'")
	}
	if err := usable(xe, x); err != nil {
		return pred{}, err
	}
	if l, ok := y.(*listVal); ok {
		return listMembership(not, xe, x, l)
	}
	if a, ok := y.(*anyRootVal); ok {
		if tx := x.vtype(); tx != tyText && tx != tyAny {
			return pred{}, errAt(xe.Pos(), "'in' looks for text inside text, but "+isWhat(xe, x))
		}
		return pred{kind: pAnyContains, x: coerce(x, tyText), y: a, neg: not}, nil
	}
	if err := usable(ye, y); err != nil {
		return pred{}, err
	}
	if ty := y.vtype(); ty != tyText && ty != tyAny {
		return pred{}, errAt(ye.Pos(), "'in' needs a list, a tuple or text after it, but "+isWhat(ye, y))
	}
	if tx := x.vtype(); tx != tyText && tx != tyAny {
		return pred{}, errAt(xe.Pos(), "'in' looks for text inside text, but "+isWhat(xe, x))
	}
	return pred{kind: pContains, x: coerce(x, tyText), y: coerce(y, tyText), neg: not}, nil
}

func listMembership(not bool, xe Expr, x val, l *listVal) (pred, error) {
	te := tyAny
	for i, el := range l.elems {
		switch {
		case el.t == tyNone:
			return pred{}, errHint(l.pos[i], "None cannot be in a list", "test for it with 'is None'")
		case te == tyAny:
			te = el.t
		case el.t != te:
			return pred{}, errAt(l.pos[i], "the list mixes "+te.String()+" and "+el.t.String())
		}
	}
	tx := x.vtype()
	elems := l.elems
	switch {
	case tx == tyAny:
		x = coerce(x, te)
	case te == tyAny || tx == te:
	case tx == tyTime && te == tyText:
		elems = make([]*litVal, len(l.elems))
		for i, el := range l.elems {
			ns, err := parseDatetime(l.pos[i], el.v.(string))
			if err != nil {
				return pred{}, err
			}
			elems[i] = &litVal{v: ns, t: tyTime}
		}
	default:
		return pred{}, errAt(l.pos[0], "cannot compare "+litDesc(l.elems[0])+" with "+tx.String())
	}
	if col, ok := x.(*colVal); ok && col.c.upper {
		elems = upperAll(elems)
	}
	return pred{kind: pIn, x: x, list: elems, neg: not}, nil
}

func upperAll(in []*litVal) []*litVal {
	out := make([]*litVal, len(in))
	for i, el := range in {
		out[i] = upperLit(el)
	}
	return out
}

func upperLit(l *litVal) *litVal {
	if s, ok := l.v.(string); ok {
		return &litVal{v: strings.ToUpper(s), t: l.t}
	}
	return l
}

func isOrdering(op CmpOp) bool { return op == Lt || op == Le || op == Gt || op == Ge }

// unify settles the type both sides of == != < <= > >= are compared as.
// Attributes take the type of the other side; two attributes compare as text
// for equality and as numbers for ordering, as in Phoenix.
func unify(op CmpOp, opPos Pos, xe Expr, x val, ye Expr, y val) (val, val, error) {
	tx, ty := x.vtype(), y.vtype()
	switch {
	case tx == tyAny && ty == tyAny:
		t := tyText
		if isOrdering(op) {
			t = tyNumber
		}
		return coerce(x, t), coerce(y, t), nil
	case tx == tyAny && ty != tyTime:
		x, tx = coerce(x, ty), ty
	case ty == tyAny && tx != tyTime:
		y, ty = coerce(y, tx), tx
	}
	if tx == tyTime && ty == tyText {
		if l, ok := y.(*litVal); ok {
			ns, err := parseDatetime(ye.Pos(), l.v.(string))
			if err != nil {
				return nil, nil, err
			}
			y, ty = &litVal{v: ns, t: tyTime}, tyTime
		}
	}
	if ty == tyTime && tx == tyText {
		if l, ok := x.(*litVal); ok {
			ns, err := parseDatetime(xe.Pos(), l.v.(string))
			if err != nil {
				return nil, nil, err
			}
			x, tx = &litVal{v: ns, t: tyTime}, tyTime
		}
	}
	if tx != ty {
		return nil, nil, mismatch(opPos, xe, x, ye, y)
	}
	if tx == tyBool && isOrdering(op) {
		return nil, nil, errAt(opPos, "booleans cannot be compared with '"+string(op)+"'")
	}
	if col, ok := x.(*colVal); ok && col.c.upper {
		if l, ok := y.(*litVal); ok {
			y = upperLit(l)
		}
	}
	if col, ok := y.(*colVal); ok && col.c.upper {
		if l, ok := x.(*litVal); ok {
			x = upperLit(l)
		}
	}
	return x, y, nil
}

func mismatch(opPos Pos, xe Expr, x val, ye Expr, y val) error {
	var err *Error
	switch {
	case isLit(y):
		err = errAt(ye.Pos(), "cannot compare "+litDesc(y.(*litVal))+" with "+x.vtype().String())
	case isLit(x):
		err = errAt(xe.Pos(), "cannot compare "+litDesc(x.(*litVal))+" with "+y.vtype().String())
	default:
		err = errAt(opPos, "cannot compare "+describe(xe, x)+" with "+describe(ye, y))
	}
	if (x.vtype() == tyTime && y.vtype() == tyNumber) || (y.vtype() == tyTime && x.vtype() == tyNumber) {
		err.Hint = "write datetimes as quoted text with an offset, e.g. " + datetimeExample
	}
	return err
}

func isLit(v val) bool {
	_, ok := v.(*litVal)
	return ok
}

// litDesc names a literal with its type: text 'LLM', number 5.
func litDesc(l *litVal) string {
	switch v := l.v.(type) {
	case string:
		return "text " + quote(v)
	case int64:
		return "number " + strconv.FormatInt(v, 10)
	case float64:
		return "number " + formatFloat(v)
	case bool:
		if v {
			return "True"
		}
		return "False"
	}
	return "None"
}

// describe names a value for an error message.
func describe(e Expr, v val) string {
	if l, ok := v.(*litVal); ok {
		return litDesc(l)
	}
	return e.String() + " (" + v.vtype().String() + ")"
}

// isWhat completes "…, but " with what a value is.
func isWhat(e Expr, v val) string {
	if l, ok := v.(*litVal); ok {
		return "found " + litDesc(l)
	}
	return e.String() + " is " + v.vtype().String()
}

// coerce sets how an attribute is read; other values keep their type.
func coerce(v val, t typ) val {
	if r, ok := v.(*rootVal); ok {
		return &rootVal{x: coerce(r.x, t), last: r.last}
	}
	a, ok := v.(*attrVal)
	if !ok {
		return v
	}
	c := *a
	c.as = t
	return &c
}

func (c *checker) value(e Expr) (val, error) {
	switch e := e.(type) {
	case *StringLit:
		return &litVal{v: e.Value, t: tyText}, nil
	case *NumberLit:
		if e.IsInt {
			return &litVal{v: e.Int, t: tyNumber}, nil
		}
		return &litVal{v: e.Float, t: tyNumber}, nil
	case *BoolLit:
		return &litVal{v: e.Value, t: tyBool}, nil
	case *NoneLit:
		return &litVal{t: tyNone}, nil
	case *ListExpr:
		return c.list(e)
	case *UnaryExpr:
		return c.unary(e)
	case *BinaryExpr:
		return c.arith(e)
	case *Call:
		return c.call(e)
	case *Name, *Attr, *Index:
		return c.ref(e)
	}
	return nil, errHint(e.Pos(), e.String()+" is a condition, not a value",
		"conditions combine with 'and', 'or' and 'not'")
}

func (c *checker) list(e *ListExpr) (val, error) {
	out := &listVal{}
	for _, el := range e.Elems {
		v, err := c.value(el)
		if err != nil {
			return nil, err
		}
		l, ok := v.(*litVal)
		if !ok {
			return nil, errAt(el.Pos(), "list elements must be literal values such as 'text', 5 or True")
		}
		out.elems = append(out.elems, l)
		out.pos = append(out.pos, el.Pos())
	}
	return out, nil
}

func (c *checker) unary(e *UnaryExpr) (val, error) {
	x, err := c.value(e.X)
	if err != nil {
		return nil, err
	}
	if l, ok := x.(*litVal); ok && l.t == tyNumber {
		if e.Op == Add {
			return l, nil
		}
		switch n := l.v.(type) {
		case int64:
			return &litVal{v: -n, t: tyNumber}, nil
		case float64:
			return &litVal{v: -n, t: tyNumber}, nil
		}
	}
	if err := c.numeric(e.Op, e.X, x); err != nil {
		return nil, err
	}
	x = coerce(x, tyNumber)
	if e.Op == Add {
		return x, nil
	}
	return &negVal{x: x}, nil
}

// numeric checks an operand of arithmetic.
func (c *checker) numeric(op ArithOp, e Expr, v val) error {
	if err := usable(e, v); err != nil {
		return err
	}
	switch t := v.vtype(); t {
	case tyNumber, tyAny:
		return nil
	case tyTime:
		return errAt(e.Pos(), "arithmetic on datetimes is not supported")
	default:
		return errAt(e.Pos(), "'"+string(op)+"' needs numbers, but "+isWhat(e, v))
	}
}

func (c *checker) arith(e *BinaryExpr) (val, error) {
	x, err := c.value(e.X)
	if err != nil {
		return nil, err
	}
	y, err := c.value(e.Y)
	if err != nil {
		return nil, err
	}
	tx, ty := x.vtype(), y.vtype()
	if e.Op == Add && (tx == tyText || ty == tyText) {
		if (tx == tyText || tx == tyAny) && (ty == tyText || ty == tyAny) {
			return &arithVal{op: Add, x: coerce(x, tyText), y: coerce(y, tyText), t: tyText}, nil
		}
		if err := usable(e.X, x); err != nil {
			return nil, err
		}
		if err := usable(e.Y, y); err != nil {
			return nil, err
		}
		return nil, errAt(e.OpPos, "'+' cannot join "+describe(e.X, x)+" and "+describe(e.Y, y))
	}
	if err := c.numeric(e.Op, e.X, x); err != nil {
		return nil, err
	}
	if err := c.numeric(e.Op, e.Y, y); err != nil {
		return nil, err
	}
	return &arithVal{op: e.Op, x: coerce(x, tyNumber), y: coerce(y, tyNumber), t: tyNumber}, nil
}

func (c *checker) call(e *Call) (val, error) {
	fn := e.Fun.Name
	switch fn {
	case "str", "int", "float":
	case "any", "all", "len", "sum", "max", "min":
		return nil, errHint(e.Pos(), fn+"() over a collection is not supported",
			"Loupe's filters test each row on its own values and the totals kept with it; only str(), int() and float() can be called")
	default:
		hint := didYouMean(fn, functions)
		if hint == "" {
			hint = "only str(), int() and float() can be called"
		}
		return nil, errHint(e.Pos(), "unknown function '"+fn+"'", hint)
	}
	if len(e.Args) != 1 {
		return nil, errAt(e.Pos(), fn+"() takes exactly one argument")
	}
	x, err := c.value(e.Args[0])
	if err != nil {
		return nil, err
	}
	if err := usable(e.Args[0], x); err != nil {
		return nil, err
	}
	switch t := x.vtype(); t {
	case tyText, tyNumber, tyAny:
	case tyBool:
		if fn != "str" {
			return nil, errAt(e.Args[0].Pos(), fn+"() of a boolean is not supported")
		}
	default:
		return nil, errAt(e.Args[0].Pos(), fn+"() cannot convert "+describe(e.Args[0], x))
	}
	if x.vtype() == tyAny {
		// int() and float() parse the text form, so numbers and numeric
		// strings both convert.
		x = coerce(x, tyText)
	}
	return &convVal{fn: fn, x: x}, nil
}
