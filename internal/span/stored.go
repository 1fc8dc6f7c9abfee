package span

import "strconv"

// StoredJSON is a span's attributes, events and links in the JSON both
// stores keep.
type StoredJSON struct {
	// Attributes holds every attribute but input.value and output.value,
	// which the stores keep in columns of their own (isIOValue).
	Attributes string
	Events     string // a JSON array, "" when the span has none
	Links      string // a JSON array, "" when the span has none
}

// isIOValue reports the attribute keys stored in columns of their own
// instead of the attributes JSON.
func isIOValue(key string) bool {
	return key == AttrInputValue || key == AttrOutputValue
}

// StoredJSON encodes the span's attributes, events and links for storing.
// buf is scratch space for the encoding, kept by the caller between calls
// so that only the results are allocated.
func (s *Span) StoredJSON(buf *[]byte) StoredJSON {
	*buf = s.AppendStoredAttributes((*buf)[:0])
	out := StoredJSON{Attributes: string(*buf)}
	out.Events, out.Links = s.StoredEventsAndLinks(buf)
	return out
}

// AppendStoredAttributes appends the attributes as StoredJSON has them,
// for a store that transforms them further before keeping them.
func (s *Span) AppendStoredAttributes(b []byte) []byte {
	return s.Attributes.AppendJSONExcept(b, isIOValue)
}

// StoredEventsAndLinks encodes the events and links as StoredJSON does.
func (s *Span) StoredEventsAndLinks(buf *[]byte) (events, links string) {
	b := (*buf)[:0]
	if len(s.Events) > 0 {
		b = append(b[:0], '[')
		for i, e := range s.Events {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"name":`...)
			b = AppendJSONString(b, e.Name)
			b = append(b, `,"time_unix_nano":`...)
			b = strconv.AppendInt(b, e.Time, 10)
			b = append(b, `,"attributes":`...)
			b = e.Attributes.AppendJSON(b)
			b = append(b, '}')
		}
		b = append(b, ']')
		events = string(b)
	}
	if len(s.Links) > 0 {
		b = append(b[:0], '[')
		for i, l := range s.Links {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"trace_id":`...)
			b = AppendJSONString(b, l.TraceID)
			b = append(b, `,"span_id":`...)
			b = AppendJSONString(b, l.SpanID)
			b = append(b, `,"trace_state":`...)
			b = AppendJSONString(b, l.TraceState)
			b = append(b, `,"attributes":`...)
			b = l.Attributes.AppendJSON(b)
			b = append(b, '}')
		}
		b = append(b, ']')
		links = string(b)
	}
	*buf = b
	return events, links
}
