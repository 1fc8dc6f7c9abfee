// Package span is Loupe's domain model: spans as received from OpenTelemetry,
// plus the OpenInference view of them that the store and the UI read.
package span

import "time"

// Kind is the OpenInference span kind (the openinference.span.kind attribute).
type Kind string

// The OpenInference span kinds. A missing or unrecognised kind is Unknown.
const (
	KindLLM       Kind = "LLM"
	KindChain     Kind = "CHAIN"
	KindAgent     Kind = "AGENT"
	KindTool      Kind = "TOOL"
	KindRetriever Kind = "RETRIEVER"
	KindEmbedding Kind = "EMBEDDING"
	KindReranker  Kind = "RERANKER"
	KindGuardrail Kind = "GUARDRAIL"
	KindEvaluator Kind = "EVALUATOR"
	KindPrompt    Kind = "PROMPT"
	KindDecision  Kind = "DECISION"
	KindUnknown   Kind = "UNKNOWN"
)

// Kinds lists every kind in a stable order.
var Kinds = []Kind{KindLLM, KindChain, KindAgent, KindTool, KindRetriever, KindEmbedding,
	KindReranker, KindGuardrail, KindEvaluator, KindPrompt, KindDecision, KindUnknown}

// ParseKind maps an attribute value to a Kind; anything unrecognised is KindUnknown.
func ParseKind(s string) Kind {
	k, ok := kindByName[upperASCII(s)]
	if !ok {
		return KindUnknown
	}
	return k
}

// ValidKind reports whether s names a kind exactly (upper case).
func ValidKind(s string) bool {
	_, ok := kindByName[s]
	return ok
}

var kindByName = func() map[string]Kind {
	m := make(map[string]Kind, len(Kinds))
	for _, k := range Kinds {
		m[string(k)] = k
	}
	return m
}()

// StatusCode is the OpenTelemetry span status as Phoenix names it.
type StatusCode string

const (
	StatusUnset StatusCode = "UNSET"
	StatusOK    StatusCode = "OK"
	StatusError StatusCode = "ERROR"
)

// DefaultProject receives spans that name no project.
const DefaultProject = "default"

// Span is one span as Loupe stores it. Attributes keep everything the client
// sent; the fields after them are the OpenInference view derived by Normalize.
type Span struct {
	Project       string // resolved project name; a trace keeps the project of its first span
	TraceID       string // 32 lower-case hex digits
	SpanID        string // 16 lower-case hex digits
	ParentID      string // empty for a root span
	TraceState    string
	Name          string
	OTelKind      int32 // OTLP SpanKind (INTERNAL, SERVER, …), kept for export
	StartTime     int64 // unix nanoseconds
	EndTime       int64 // unix nanoseconds
	StatusCode    StatusCode
	StatusMessage string
	Attributes    Attributes
	Events        []Event
	Links         []Link
	Resource      Attributes // resource attributes of the ResourceSpans the span came in
	Scope         Scope

	View View // derived by Normalize; never sent by a client
}

// Latency is the span's duration; negative durations (clock skew) read as zero.
func (s *Span) Latency() time.Duration {
	if s.EndTime < s.StartTime {
		return 0
	}
	return time.Duration(s.EndTime - s.StartTime)
}

// IsRoot reports whether the span has no parent.
func (s *Span) IsRoot() bool { return s.ParentID == "" }

// Event is a span event. Exceptions are events named "exception" carrying
// exception.type, exception.message and exception.stacktrace attributes.
type Event struct {
	Name       string
	Time       int64 // unix nanoseconds
	Attributes Attributes
}

// Link is a span link, kept so that an export returns what was received.
type Link struct {
	TraceID    string
	SpanID     string
	TraceState string
	Attributes Attributes
}

// Scope is the instrumentation scope that produced a span.
type Scope struct {
	Name    string
	Version string
}

// View is the OpenInference reading of a span's attributes: the fields that
// lists, filters and roll-ups need without parsing attributes again.
type View struct {
	Kind           Kind
	ModelName      string
	Provider       string
	System         string
	InputValue     string
	InputMimeType  string
	OutputValue    string
	OutputMimeType string
	// InputPreview and OutputPreview are what lists show of the span: the
	// last user message and the model's answer or tool calls when it has
	// messages, else input.value and output.value; cut by Preview.
	InputPreview   string
	OutputPreview  string
	SessionID      string
	UserID         string
	Tokens         TokenCounts
	PromptTemplate PromptTemplate
	Feedback       []Feedback // annotations and evaluations carried as attributes
	Cost           Cost       // set by the ingest pipeline's pricer, not by Normalize
	// ErrorGroup is the group of a failed span's failure (ErrorGroup),
	// empty unless it failed.
	ErrorGroup string
}

// CostStatus tells whether a span has a cost.
type CostStatus string

const (
	CostNone    CostStatus = ""         // not priced: not an LLM span, or no tokens
	CostPriced  CostStatus = "priced"   // computed from the price table, sent by the client, or both
	CostNoPrice CostStatus = "no_price" // an LLM span with tokens whose model has no price
)

// Cost is what a span cost in USD.
type Cost struct {
	Status     CostStatus
	Total      float64
	Prompt     float64
	Completion float64
	Source     string // computed, client or mixed
	Entry      string // the price entry used
	// Details is a JSON object of the cost per token type:
	// {"input":{"tokens":n,"cost":usd,"rate":usd_per_token}, …}.
	Details string
}

// TokenCounts are the llm.token_count.* values. Zero means absent.
type TokenCounts struct {
	Prompt          int64
	Completion      int64
	Total           int64
	CacheRead       int64
	CacheWrite      int64
	Reasoning       int64
	AudioPrompt     int64
	AudioCompletion int64
}

// Add accumulates o into t.
func (t *TokenCounts) Add(o TokenCounts) {
	t.Prompt += o.Prompt
	t.Completion += o.Completion
	t.Total += o.Total
	t.CacheRead += o.CacheRead
	t.CacheWrite += o.CacheWrite
	t.Reasoning += o.Reasoning
	t.AudioPrompt += o.AudioPrompt
	t.AudioCompletion += o.AudioCompletion
}

// PromptTemplate is the llm.prompt_template.* group.
type PromptTemplate struct {
	Template  string
	Version   string
	Variables string // JSON object as sent
}

func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}
