package view

// firstTokenEvents are the span events instrumentors write when a
// streamed response yields its first chunk. OpenInference's OpenAI
// instrumentors (Python, and openai-go) add "First Token Stream Event"
// with no attributes, stamped when the chunk arrived; OpenLLMetry writes
// "llm.content.completion.chunk" per chunk, of which the first counts;
// "gen_ai.first_token" and the rest are the names other SDKs use. None
// sets an attribute with the figure, so it is read from the event's time.
var firstTokenEvents = map[string]bool{
	"First Token Stream Event":     true,
	"llm.content.completion.chunk": true,
	"gen_ai.content.chunk":         true,
	"gen_ai.first_token":           true,
	"llm.first_token":              true,
	"first_token":                  true,
}

// FirstToken is when the span's streamed response yielded its first
// token (unix ns), from the earliest first-token event; false when the
// span has none, as a call that did not stream has not.
func (v *Span) FirstToken() (int64, bool) {
	var first int64
	for _, e := range v.Events {
		if firstTokenEvents[e.Name] && e.Time > 0 && (first == 0 || e.Time < first) {
			first = e.Time
		}
	}
	return first, first > 0
}
