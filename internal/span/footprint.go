package span

import "unsafe"

// Footprint estimates the memory a decoded span holds, in bytes: its
// structures and the text of its names, ids and attributes. The ingest
// queue bounds what it holds by this, not by the request's wire size,
// which decoding multiplies by three to six. Resource attributes are
// shared by the spans of a request and not counted.
func (s *Span) Footprint() int {
	n := int(unsafe.Sizeof(*s)) + len(s.Project) + len(s.TraceID) + len(s.SpanID) + len(s.ParentID) +
		len(s.TraceState) + len(s.Name) + len(s.StatusMessage)
	n += s.Attributes.footprint()
	for i := range s.Events {
		e := &s.Events[i]
		n += int(unsafe.Sizeof(*e)) + len(e.Name) + e.Attributes.footprint()
	}
	for i := range s.Links {
		l := &s.Links[i]
		n += int(unsafe.Sizeof(*l)) + len(l.TraceID) + len(l.SpanID) + len(l.TraceState) + l.Attributes.footprint()
	}
	return n
}

func (a Attributes) footprint() int {
	n := cap(a) * int(unsafe.Sizeof(Attr{}))
	for i := range a {
		n += len(a[i].Key) + a[i].Value.footprint()
	}
	return n
}

func (v *Value) footprint() int {
	n := len(v.Str) + v.Map.footprint()
	if v.Slice != nil {
		n += cap(v.Slice) * int(unsafe.Sizeof(Value{}))
		for i := range v.Slice {
			n += v.Slice[i].footprint()
		}
	}
	return n
}
