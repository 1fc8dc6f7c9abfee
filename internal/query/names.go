package query

import (
	"slices"
	"strings"
)

// Tables the compiled SQL reads besides spans (alias s) and traces.
const (
	spanAnnotationsTable    = "span_annotations"
	traceAnnotationsTable   = "trace_annotations"
	sessionAnnotationsTable = "session_annotations"
)

type colKind uint8

const (
	colPlain         colKind = iota // a column of spans
	colJSON                         // a JSON column read as text
	colLatency                      // (end_time - start_time) in milliseconds
	colTraceID                      // traces.trace_id of the span's trace
	colCumulative                   // token sum over the span's subtree
	colSessionTraces                // an aggregate over the session's traces
)

// column is a filter name backed by something other than a JSON lookup.
type column struct {
	kind  colKind
	sql   string // the spans column; for colCumulative, the token column(s)
	typ   typ
	upper bool // text literals compared with it are upper-cased, as Phoenix does
	// alias is the table the column is read from: s (spans, the default),
	// tr (traces) or se (sessions).
	alias string
	// zero reads NULL as 0, for sums Phoenix reports as 0 when absent.
	zero bool
	// where narrows the rows of a colSessionTraces aggregate.
	where string
}

func plain(sql string, t typ) *column { return &column{kind: colPlain, sql: sql, typ: t} }

var (
	spanIDCol = plain("span_id", tyText)
	// errorGroupCol is the group of a failed span's failure
	// (span.ErrorGroup), NULL unless it failed: Loupe's own name, which
	// the error groups page links to the spans of a group with.
	errorGroupCol = plain("error_group", tyText)
	traceIDCol    = &column{kind: colTraceID, typ: tyText}
	cumPrompt     = &column{kind: colCumulative, sql: "prompt_tokens", typ: tyNumber}
	cumCompl      = &column{kind: colCumulative, sql: "completion_tokens", typ: tyNumber}
	cumTotal      = &column{kind: colCumulative, sql: "", typ: tyNumber} // prompt + completion
)

// columns are the names Phoenix's span filter knows (_STRING_NAMES,
// _FLOAT_NAMES, _DATETIME_NAMES and the JSON names), plus its legacy aliases.
var columns = map[string]*column{
	"span_id":                               spanIDCol,
	"context.span_id":                       spanIDCol,
	"trace_id":                              traceIDCol,
	"context.trace_id":                      traceIDCol,
	"parent_id":                             plain("parent_id", tyText),
	"name":                                  plain("name", tyText),
	"span_kind":                             {kind: colPlain, sql: "span_kind", typ: tyText, upper: true},
	"status_code":                           {kind: colPlain, sql: "status_code", typ: tyText, upper: true},
	"status_message":                        plain("status_message", tyText),
	"start_time":                            plain("start_time", tyTime),
	"end_time":                              plain("end_time", tyTime),
	"latency_ms":                            {kind: colLatency, typ: tyNumber},
	"cumulative_llm_token_count_prompt":     cumPrompt,
	"cumulative_llm_token_count_completion": cumCompl,
	"cumulative_llm_token_count_total":      cumTotal,
	"cumulative_token_count.prompt":         cumPrompt,
	"cumulative_token_count.completion":     cumCompl,
	"cumulative_token_count.total":          cumTotal,
	"attributes":                            {kind: colJSON, sql: "attributes", typ: tyText},
	"events":                                {kind: colJSON, sql: "events", typ: tyText},
	"error_group":                           errorGroupCol,
	// A span's cost, as priced at ingest or sent by the client; a span
	// without one reads 0, as in Phoenix.
	"total_cost":      {kind: colPlain, sql: "cost_total", typ: tyNumber, zero: true},
	"prompt_cost":     {kind: colPlain, sql: "cost_prompt", typ: tyNumber, zero: true},
	"completion_cost": {kind: colPlain, sql: "cost_completion", typ: tyNumber, zero: true},
}

// spanCollections are what Phoenix's span filter iterates with
// comprehensions (any(d.cost > 0 for d in cost_details)), which Loupe's
// filters do not.
var spanCollections = map[string]string{
	"cost_details": "a span's cost by token type",
}

// attributeColumns are attribute keys the store copies into their own
// columns; input.value and output.value exist only there.
var attributeColumns = map[string]*column{
	"input.value":      plain("input_value", tyText),
	"input.mime_type":  plain("input_mime_type", tyText),
	"output.value":     plain("output_value", tyText),
	"output.mime_type": plain("output_mime_type", tyText),
	"llm.model_name":   plain("model_name", tyText),
	"llm.provider":     plain("provider", tyText),
	"session.id":       plain("session_id", tyText),
	"user.id":          plain("user_id", tyText),

	"llm.token_count.prompt":                       plain("prompt_tokens", tyNumber),
	"llm.token_count.completion":                   plain("completion_tokens", tyNumber),
	"llm.token_count.total":                        plain("total_tokens", tyNumber),
	"llm.token_count.prompt_details.cache_read":    plain("cache_read_tokens", tyNumber),
	"llm.token_count.prompt_details.cache_write":   plain("cache_write_tokens", tyNumber),
	"llm.token_count.completion_details.reasoning": plain("reasoning_tokens", tyNumber),

	// OpenInference's cost attributes read the span's cost as stored:
	// what the client sent in them, else what the price table gave at
	// ingest. A span without a cost reads None, as an absent attribute does.
	"llm.cost.total":      plain("cost_total", tyNumber),
	"llm.cost.prompt":     plain("cost_prompt", tyNumber),
	"llm.cost.completion": plain("cost_completion", tyNumber),
}

// jsonStringSuffixes name attributes whose value is a JSON document held in
// a string (OpenInference "JSON string" attributes). A path that goes past
// one, like metadata.topic, reads inside the document. Phoenix parses keys
// ending in these at ingest; we read them at query time instead.
var jsonStringSuffixes = []string{
	"metadata", // also retrieval.documents.N.document.metadata
	"llm.prompt_template.variables",
	"tool.parameters",
	"invocation_parameters", // llm. and embedding.
}

func isJSONStringKey(key string) bool {
	for _, s := range jsonStringSuffixes {
		if key == s || strings.HasSuffix(key, "."+s) {
			return true
		}
	}
	return false
}

// Roots with a meaning of their own; anything else with a dot is an
// attribute path.
const (
	rootAnnotations      = "annotations"
	rootEvals            = "evals"
	rootTraceAnnotations = "trace_annotations"
	rootParentSpan       = "parent_span"
	rootMetadata         = "metadata"
	rootAttributes       = "attributes"
)

// reservedRoots start a dotted column name, so an unknown name under them is
// a typo rather than an attribute.
var reservedRoots = []string{"context", "cumulative_token_count"}

var annotationFields = map[string]typ{"label": tyText, "score": tyNumber, "explanation": tyText, "identifier": tyText}

var functions = []string{"str", "int", "float"}

// knownNames lists every name a filter can start with, for "did you mean".
var knownNames = func() []string {
	var out []string
	for n := range columns {
		out = append(out, n)
	}
	out = append(out, rootAnnotations, rootEvals, rootTraceAnnotations, rootParentSpan, rootMetadata)
	for k := range attributeColumns {
		out = append(out, k)
	}
	slices.Sort(out)
	return slices.Compact(out)
}()
