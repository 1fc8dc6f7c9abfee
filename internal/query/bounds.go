package query

// A Bound is a condition that every span a filter matches meets, on a few
// columns a store can summarise per stretch of time: the largest latency,
// token count and cost, and the kinds, statuses and models there are. A
// store that keeps those summaries skips the stretches where no span can
// match, which is what makes a filter that matches nothing, or almost
// nothing, cost little. A Bound is looser than its filter, never tighter:
// a stretch it keeps may hold no match.
//
// nil is no bound: every stretch may hold a match.
type Bound interface{ isBound() }

type (
	// AllOf holds when each of its bounds does.
	AllOf []Bound
	// AnyOf holds when one of its bounds does.
	AnyOf []Bound
	// AtLeast holds for a span whose Column is at least Value: latency (in
	// milliseconds), prompt_tokens, completion_tokens, total_tokens (NULL
	// matching nothing) or cost_total (NULL read as 0); for a trace, its
	// latency or error_count.
	AtLeast struct {
		Column string
		Value  float64
		Strict bool // more than Value, not only at least
	}
	// OneOf holds for a span whose Column is one of Values: span_kind,
	// status_code (upper-cased, as filters compare them) or model_name.
	OneOf struct {
		Column string
		Values []string
	}
)

func (AllOf) isBound()   {}
func (AnyOf) isBound()   {}
func (AtLeast) isBound() {}
func (OneOf) isBound()   {}

// SpanBound is a bound every span e matches meets, nil when e bounds none
// of those columns (or does not check). It reads e as Compile does, so a
// filter on latency_ms, a token count, total_cost, span_kind, status_code
// or llm.model_name, alone, under "and", or on every side of an "or",
// bounds the spans; "not" and anything else do not.
func SpanBound(e Expr) Bound {
	c, err := check(e)
	if err != nil {
		return nil
	}
	return condBound(c, "")
}

// TraceBound is SpanBound for a trace filter (CompileTraces): a bound on
// the trace's latency (latency_ms) and error_count.
func TraceBound(e Expr) Bound {
	c, err := checkAs(e, traceGrain)
	if err != nil {
		return nil
	}
	return condBound(c, "tr")
}

// condBound reads c on the columns of the table aliased alias: "" for
// spans, "tr" for traces.
func condBound(c cond, alias string) Bound {
	switch c := c.(type) {
	case *boolCond:
		var out []Bound
		for _, x := range c.xs {
			b := condBound(x, alias)
			if b == nil {
				if c.op == Or {
					return nil // that side may match anything
				}
				continue
			}
			out = append(out, b)
		}
		switch {
		case len(out) == 0:
			return nil
		case len(out) == 1:
			return out[0]
		case c.op == Or:
			return AnyOf(out)
		}
		return AllOf(out)
	case *atomCond:
		var out AllOf
		for _, p := range c.preds {
			if b := predBound(p, alias); b != nil {
				out = append(out, b)
			}
		}
		switch len(out) {
		case 0:
			return nil
		case 1:
			return out[0]
		}
		return out
	}
	return nil // not: the spans it leaves out are not summarised
}

// boundColumn is the column of the table aliased alias that a bound may
// be read on, by what a filter resolves v to.
func boundColumn(v val, alias string) (string, bool) {
	c, ok := v.(*colVal)
	if !ok || c.c.alias != alias {
		return "", false
	}
	switch c.c.kind {
	case colLatency:
		return "latency", true
	case colPlain:
		switch {
		case alias == "tr" && c.c.sql == "error_count":
			return c.c.sql, true
		case alias == "":
			switch c.c.sql {
			case "prompt_tokens", "completion_tokens", "total_tokens", "cost_total", "span_kind", "status_code", "model_name":
				return c.c.sql, true
			}
		}
	}
	return "", false
}

func predBound(p pred, alias string) Bound {
	switch p.kind {
	case pCompare:
		x, y, op := p.x, p.y, p.op
		if _, ok := x.(*litVal); ok {
			// 5000 < latency_ms is latency_ms > 5000.
			x, y = y, x
			op = map[CmpOp]CmpOp{Lt: Gt, Le: Ge, Gt: Lt, Ge: Le, Eq: Eq, Ne: Ne}[op]
		}
		col, ok := boundColumn(x, alias)
		lit, isLit := y.(*litVal)
		if !ok || !isLit {
			return nil
		}
		switch v := lit.v.(type) {
		case int64:
			if op == Gt || op == Ge || op == Eq {
				return numericBound(col, float64(v), op == Gt)
			}
		case float64:
			if op == Gt || op == Ge || op == Eq {
				return numericBound(col, v, op == Gt)
			}
		case string:
			if op == Eq {
				return textBound(col, []string{v})
			}
		}
	case pIn:
		col, ok := boundColumn(p.x, alias)
		if !ok || p.neg {
			return nil
		}
		values := make([]string, 0, len(p.list))
		for _, l := range p.list {
			s, ok := l.v.(string)
			if !ok {
				return nil
			}
			values = append(values, s)
		}
		return textBound(col, values)
	}
	return nil
}

func numericBound(col string, v float64, strict bool) Bound {
	switch col {
	case "latency", "prompt_tokens", "completion_tokens", "total_tokens", "cost_total", "error_count":
		return AtLeast{Column: col, Value: v, Strict: strict}
	}
	return nil
}

func textBound(col string, values []string) Bound {
	switch col {
	case "span_kind", "status_code", "model_name":
		return OneOf{Column: col, Values: values}
	}
	return nil
}
