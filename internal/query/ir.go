package query

// typ is the type the checker gives a value.
type typ uint8

const (
	tyAny typ = iota // an attribute: read as whatever the other side needs
	tyText
	tyNumber
	tyBool
	tyTime // unix nanoseconds in SQL, ISO 8601 text in filters
	tyNone
	tyList
	tyAnnotation // annotations['x'] on its own: "it exists"
	tyParentSpan // parent_span, only for "is None"
	tyAnyRoot    // any_input, any_output: only after 'in'
)

func (t typ) String() string {
	return [...]string{"an attribute", "text", "a number", "a boolean", "a datetime", "None", "a list",
		"an annotation", "parent_span", "a search over root spans"}[t]
}

// The checked form of a filter, which the compiler turns into SQL.
type (
	cond interface{ isCond() }

	boolCond struct {
		op BoolOp
		xs []cond
	}
	notCond  struct{ x cond }
	atomCond struct{ preds []pred } // a comparison chain: all preds hold
)

func (*boolCond) isCond() {}
func (*notCond) isCond()  {}
func (*atomCond) isCond() {}

type predKind uint8

const (
	pCompare     predKind = iota // x op y
	pIsNull                      // x IS [NOT] NULL
	pIn                          // x [NOT] IN list
	pContains                    // x is [not] a case-insensitive substring of y
	pExists                      // [not] exists: annotation x
	pRoot                        // parent_span is [not] None
	pAnyContains                 // x is [not] a substring of any root span's input or output
)

type pred struct {
	kind predKind
	op   CmpOp
	x, y val
	list []*litVal
	neg  bool
}

type (
	val interface{ vtype() typ }

	litVal struct {
		v any // string, int64, float64, bool or nil
		t typ
	}
	colVal  struct{ c *column }
	attrVal struct {
		key string    // the flat attribute key
		sub []pathSeg // a path inside the JSON document stored under key
		as  typ       // how to read it: tyAny (raw), tyText, tyNumber, tyBool
	}
	annRef struct {
		table string
		name  string
	}
	annVal struct {
		ref   *annRef
		field string // "" for the annotation itself
	}
	parentVal struct{}
	listVal   struct {
		elems []*litVal
		pos   []Pos
	}
	arithVal struct {
		op   ArithOp
		x, y val
		t    typ // tyNumber, or tyText for concatenation
	}
	negVal  struct{ x val }
	convVal struct {
		fn string
		x  val
	}
	// rootVal is x read on a root span: the trace's, or the root span of
	// a session's first or last trace.
	rootVal struct {
		x    val
		last bool // the session's last trace, not its first
	}
	// anyRootVal is the input or output values of every root span of a
	// session, only searched with 'in'.
	anyRootVal struct {
		column string // input_value or output_value
		name   string
	}
)

type pathSeg struct {
	key   string
	index int
	isIdx bool
	pos   Pos
}

func (v *litVal) vtype() typ  { return v.t }
func (v *colVal) vtype() typ  { return v.c.typ }
func (v *attrVal) vtype() typ { return v.as }
func (v *annVal) vtype() typ {
	if v.field == "" {
		return tyAnnotation
	}
	return annotationFields[v.field]
}
func (parentVal) vtype() typ   { return tyParentSpan }
func (*listVal) vtype() typ    { return tyList }
func (v *arithVal) vtype() typ { return v.t }
func (v *rootVal) vtype() typ  { return v.x.vtype() }
func (*anyRootVal) vtype() typ { return tyAnyRoot }
func (*negVal) vtype() typ     { return tyNumber }
func (v *convVal) vtype() typ {
	if v.fn == "str" {
		return tyText
	}
	return tyNumber
}
