package query

import (
	"slices"
	"strconv"
	"strings"
)

// accessor is one ".name" or "[key]" after a name.
type accessor struct {
	pos  Pos
	name string // for ".name"
	key  Expr   // for "[key]"
}

func (c *checker) ref(e Expr) (val, error) {
	var accs []accessor
	cur := e
	for {
		switch x := cur.(type) {
		case *Attr:
			accs = append(accs, accessor{pos: x.NamePos, name: x.Name})
			cur = x.X
			continue
		case *Index:
			accs = append(accs, accessor{pos: x.Lbrack, key: x.Key})
			cur = x.X
			continue
		}
		break
	}
	for i, j := 0, len(accs)-1; i < j; i, j = i+1, j-1 {
		accs[i], accs[j] = accs[j], accs[i]
	}
	root, ok := cur.(*Name)
	if !ok {
		what := "'." + accs[0].name + "'"
		if accs[0].key != nil {
			what = "'[…]'"
		}
		return nil, errAt(accs[0].pos, "cannot use "+what+" on "+cur.String()+"; only names have fields and keys")
	}

	dotted, allDots := root.Name, true
	for _, a := range accs {
		if a.key != nil {
			allDots = false
			break
		}
		dotted += "." + a.name
	}
	if c.g != spanGrain {
		return c.grainRef(root, accs, dotted, allDots)
	}
	if allDots {
		if col, ok := columns[dotted]; ok {
			return &colVal{c: col}, nil
		}
	}
	if len(accs) > 0 && slices.Contains(reservedRoots, root.Name) {
		if !allDots {
			dotted = e.String()
		}
		return nil, errHint(root.NamePos, "unknown name '"+dotted+"'", didYouMean(dotted, knownNames))
	}

	switch root.Name {
	case rootAnnotations, rootEvals:
		return c.annotation(root, accs, spanAnnotationsTable)
	case rootTraceAnnotations:
		return c.annotation(root, accs, traceAnnotationsTable)
	case rootParentSpan:
		if len(accs) > 0 {
			return nil, parentSpanMisuse(root.NamePos)
		}
		return parentVal{}, nil
	case rootAttributes:
		if len(accs) == 0 {
			return &colVal{c: columns[rootAttributes]}, nil
		}
		return c.attribute(accs, nil)
	case rootMetadata:
		return c.attribute(accs, []pathSeg{{key: rootMetadata, pos: root.NamePos}})
	}
	if col, ok := columns[root.Name]; ok {
		if len(accs) == 0 {
			return &colVal{c: col}, nil
		}
		return nil, errAt(accs[0].pos, root.Name+" has no fields or keys")
	}
	if len(accs) == 0 {
		if what, ok := spanCollections[root.Name]; ok {
			return nil, errHint(root.NamePos, "'"+root.Name+"' ("+what+") is a collection, which Phoenix iterates with any(), all(), "+
				"len(), sum(), max() or min(); Loupe's filters do not iterate collections",
				"filter on the span's total_cost, prompt_cost or completion_cost")
		}
		return nil, unknownName(root)
	}
	return c.attribute(accs, []pathSeg{{key: root.Name, pos: root.NamePos}})
}

func unknownName(n *Name) error { return unknownNameIn(n, knownNames) }

func unknownNameIn(n *Name, known []string) error {
	hint := ""
	switch strings.ToLower(n.Name) {
	case "true":
		hint = "did you mean 'True'?"
	case "false":
		hint = "did you mean 'False'?"
	case "none", "null", "nil":
		hint = "did you mean 'None'?"
	default:
		hint = didYouMean(n.Name, known)
	}
	if hint == "" {
		hint = "to compare with text, quote it: '" + n.Name + "'"
	}
	return errHint(n.NamePos, "unknown name '"+n.Name+"'", hint)
}

func (c *checker) annotation(root *Name, accs []accessor, table string) (val, error) {
	example := root.Name + "['correctness'].label"
	if len(accs) == 0 || accs[0].key == nil {
		return nil, errHint(root.NamePos, root.Name+" needs an annotation name in brackets", "e.g. "+example)
	}
	k, err := c.value(accs[0].key)
	if err != nil {
		return nil, err
	}
	name, ok := k.(*litVal)
	if !ok || name.t != tyText {
		return nil, errHint(accs[0].key.Pos(), "annotation names are quoted text", "e.g. "+example)
	}
	ref := &annRef{table: table, name: name.v.(string)}
	if len(accs) == 1 {
		return &annVal{ref: ref}, nil
	}
	f := accs[1]
	if f.key != nil {
		return nil, errHint(f.pos, "annotations are read through .label, .score, .explanation or .identifier", "e.g. "+example)
	}
	if _, ok := annotationFields[f.name]; !ok {
		hint := didYouMean(f.name, []string{"label", "score", "explanation", "identifier"})
		if hint == "" {
			hint = "use .label, .score, .explanation or .identifier"
		}
		return nil, errHint(f.pos, "unknown annotation field '"+f.name+"'", hint)
	}
	if len(accs) > 2 {
		return nil, errAt(accs[2].pos, "annotation fields have no fields or keys")
	}
	return &annVal{ref: ref, field: f.name}, nil
}

// attribute resolves an attribute path. Attributes are stored flat, so the
// segments join with dots into one key, up to a JSON-string attribute such as
// metadata, past which they are a path inside its document.
func (c *checker) attribute(accs []accessor, segs []pathSeg) (val, error) {
	for _, a := range accs {
		if a.key == nil {
			seg := pathSeg{key: a.name, pos: a.pos}
			if n, err := strconv.Atoi(a.name); err == nil && n >= 0 {
				seg.isIdx, seg.index = true, n
			}
			segs = append(segs, seg)
			continue
		}
		k, err := c.value(a.key)
		if err != nil {
			return nil, err
		}
		more, err := keySegments(a.key.Pos(), k)
		if err != nil {
			return nil, err
		}
		segs = append(segs, more...)
	}
	split := len(segs)
	for i := 1; i < len(segs); i++ {
		if key, ok := flatKey(segs[:i]); ok && isJSONStringKey(key) {
			split = i
			break
		}
	}
	key, ok := flatKey(segs[:split])
	if !ok {
		for _, s := range segs[:split] {
			if s.isIdx && s.index < 0 {
				return nil, errAt(s.pos, "negative indexes only work inside JSON values such as metadata")
			}
		}
	}
	if split == len(segs) {
		if col, ok := attributeColumns[key]; ok {
			return &colVal{c: col}, nil
		}
	}
	return &attrVal{key: key, sub: segs[split:]}, nil
}

func keySegments(p Pos, k val) ([]pathSeg, error) {
	switch k := k.(type) {
	case *litVal:
		switch v := k.v.(type) {
		case string:
			return []pathSeg{{key: v, pos: p}}, nil
		case int64:
			if v < -1<<31 || v >= 1<<31 {
				return nil, errAt(p, "index "+strconv.FormatInt(v, 10)+" is out of range")
			}
			return []pathSeg{{isIdx: true, index: int(v), key: strconv.FormatInt(v, 10), pos: p}}, nil
		}
	case *listVal:
		// attributes['a'][['b', 'c']] is attributes['a']['b']['c'].
		var out []pathSeg
		for i, el := range k.elems {
			s, err := keySegments(k.pos[i], el)
			if err != nil {
				return nil, err
			}
			out = append(out, s...)
		}
		return out, nil
	}
	return nil, errAt(p, "keys must be quoted text or integers")
}

// flatKey joins segments into a stored attribute key; ok is false if one is
// a negative index, which has no flat spelling.
func flatKey(segs []pathSeg) (string, bool) {
	parts := make([]string, len(segs))
	for i, s := range segs {
		if s.isIdx && s.index < 0 {
			return "", false
		}
		parts[i] = s.key
	}
	return strings.Join(parts, "."), true
}
