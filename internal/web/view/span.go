package view

import (
	"encoding/json"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// Span is everything the span detail shows, read from one stored span.
type Span struct {
	Kind      string
	Input     Text
	Output    Text
	LLM       *LLM
	Retrieval *Retrieval
	Embedding *Embedding
	Tool      *Tool
	Metadata  Text
	Tags      []string
	// Custom are the attributes the Overview shows as they are: those
	// OpenInference does not define, which the application set itself
	// (agent.stop_reason, retrieval.top_k), at most MaxCustom of them;
	// MoreCustom counts the rest, which the Attributes tab lists.
	Custom     []Attribute
	MoreCustom int
	Exceptions []Exception
	Events     []Event
	Attributes []Attribute
}

// Attribute is one attribute row of the searchable table.
type Attribute struct {
	Key   string
	Value Text
}

// Event is a span event other than an exception.
type Event struct {
	Name       string
	Time       int64 // unix ns
	Attributes []KV
}

// Exception is an exception event.
type Exception struct {
	Type, Message, Stacktrace string
	Time                      int64
}

// Build reads rec for display, clipping every long value to limit bytes.
func Build(rec store.SpanRecord, limit int) (*Span, error) {
	// A document that does not decode is left out rather than failing the
	// page (span.ReadableJSON); the raw tab still shows its text.
	stored, err := ParseAttrs(span.ReadableJSON(rec.AttributesJSON))
	if err != nil {
		stored = Attrs{}
	}
	a := stored.withJSONLists()
	v := &Span{Kind: string(rec.View.Kind)}
	if a.Has(span.AttrInputValue) {
		v.Input = NewText(a.Str(span.AttrInputValue), span.AttrInputValue, limit, a.Str(span.AttrInputMimeType) == span.MimeJSON)
	}
	if a.Has(span.AttrOutputValue) {
		v.Output = NewText(a.Str(span.AttrOutputValue), span.AttrOutputValue, limit, a.Str(span.AttrOutputMimeType) == span.MimeJSON)
	}
	switch rec.View.Kind {
	case span.KindLLM:
		v.LLM = readLLM(a, limit)
	case span.KindRetriever, span.KindReranker:
		v.Retrieval = readRetrieval(a, string(rec.View.Kind), limit)
	case span.KindEmbedding:
		v.Embedding = readEmbedding(a, limit)
	case span.KindTool:
		v.Tool = readTool(a, limit)
	default:
		// Other kinds may still carry messages or documents (an agent that
		// records its conversation, say); show them when present.
		if len(a.List("llm.input_messages")) > 0 || len(a.List("llm.output_messages")) > 0 {
			v.LLM = readLLM(a, limit)
		}
		v.Retrieval = readRetrieval(a, "RETRIEVER", limit)
	}
	if a.Has("metadata") {
		v.Metadata = NewText(a.Str("metadata"), "metadata", limit, true)
	}
	if tags, ok := a["tag.tags"].([]any); ok {
		for _, t := range tags {
			v.Tags = append(v.Tags, valueText(t))
		}
	}
	for _, kv := range stored.Sorted() {
		v.Attributes = append(v.Attributes, Attribute{Key: kv.Key, Value: NewText(kv.Value, kv.Key, limit, false)})
		if !isOpenInference(kv.Key) {
			v.Custom = append(v.Custom, v.Attributes[len(v.Attributes)-1])
		}
	}
	if len(v.Custom) > MaxCustom {
		v.MoreCustom = len(v.Custom) - MaxCustom
		v.Custom = v.Custom[:MaxCustom]
	}
	v.readEvents(span.ReadableJSON(rec.EventsJSON))
	return v, nil
}

// readEvents adds the events of raw; like Build, it leaves out what does
// not decode.
func (v *Span) readEvents(raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	var events []struct {
		Name       string          `json:"name"`
		Time       int64           `json:"time_unix_nano"`
		Attributes json.RawMessage `json:"attributes"`
	}
	if err := json.Unmarshal(raw, &events); err != nil {
		return
	}
	for _, e := range events {
		a, err := ParseAttrs(e.Attributes)
		if err != nil {
			a = Attrs{}
		}
		if e.Name == "exception" {
			v.Exceptions = append(v.Exceptions, Exception{
				Type: a.Str("exception.type"), Message: a.Str("exception.message"),
				Stacktrace: a.Str("exception.stacktrace"), Time: e.Time,
			})
			continue
		}
		v.Events = append(v.Events, Event{Name: e.Name, Time: e.Time, Attributes: a.Sorted()})
	}
}

// FullValue returns the whole value of one attribute of rec, pretty-printed
// when it is JSON, for a "show all" request.
func FullValue(rec store.SpanRecord, key string) (Text, bool, error) {
	a, err := ParseAttrs(span.ReadableJSON(rec.AttributesJSON))
	if err != nil {
		return Text{}, false, err
	}
	if !a.Has(key) {
		a = a.withJSONLists() // a message of a list stored as one JSON string
	}
	if !a.Has(key) {
		return Text{}, false, nil
	}
	asJSON := key == span.AttrInputValue && a.Str(span.AttrInputMimeType) == span.MimeJSON ||
		key == span.AttrOutputValue && a.Str(span.AttrOutputMimeType) == span.MimeJSON
	return NewText(a.Str(key), key, 0, asJSON), true, nil
}

// FirstException is the first exception event of a span's events document
// (store.SpanRecord.EventsJSON), for the lists' error column.
func FirstException(raw json.RawMessage) (Exception, bool) {
	var v Span
	v.readEvents(span.ReadableJSON(raw))
	if len(v.Exceptions) == 0 {
		return Exception{}, false
	}
	return v.Exceptions[0], true
}
