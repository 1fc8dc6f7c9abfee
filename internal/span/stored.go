package span

import (
	"encoding/json"
	"strconv"
)

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
	if len(s.Events) > 0 {
		events = appendArray(buf, len(s.Events), func(b []byte, i int) []byte {
			e := &s.Events[i]
			b = append(b, `{"name":`...)
			b = AppendJSONString(b, e.Name)
			b = append(b, `,"time_unix_nano":`...)
			b = strconv.AppendInt(b, e.Time, 10)
			b = append(b, `,"attributes":`...)
			b = e.Attributes.AppendJSON(b)
			return append(b, '}')
		})
	}
	if len(s.Links) > 0 {
		links = appendArray(buf, len(s.Links), func(b []byte, i int) []byte {
			l := &s.Links[i]
			b = append(b, `{"trace_id":`...)
			b = AppendJSONString(b, l.TraceID)
			b = append(b, `,"span_id":`...)
			b = AppendJSONString(b, l.SpanID)
			b = append(b, `,"trace_state":`...)
			b = AppendJSONString(b, l.TraceState)
			b = append(b, `,"attributes":`...)
			b = l.Attributes.AppendJSON(b)
			return append(b, '}')
		})
	}
	return events, links
}

// StoredEvent is an event as StoredJSON encodes it.
type StoredEvent struct {
	Name         string          `json:"name"`
	TimeUnixNano int64           `json:"time_unix_nano"`
	Attributes   json.RawMessage `json:"attributes"`
}

// ReadStoredEvents decodes a stored events document (StoredJSON.Events). A
// document that does not decode reads as no events rather than failing the
// page of spans it is on (ReadableJSON).
func ReadStoredEvents(doc []byte) []StoredEvent {
	var events []StoredEvent
	if err := json.Unmarshal(ReadableJSON(doc), &events); err != nil {
		return nil
	}
	return events
}

// appendArray encodes n elements, each appended by elem, as a JSON array in
// the scratch space buf, and returns it.
func appendArray(buf *[]byte, n int, elem func(b []byte, i int) []byte) string {
	b := append((*buf)[:0], '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, i)
	}
	b = append(b, ']')
	*buf = b
	return string(b)
}
