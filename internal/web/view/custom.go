package view

import "strings"

// MaxCustom bounds the attributes the Overview lists as they are.
const MaxCustom = 50

// openInferenceKeys are the OpenInference attributes that are not lists:
// the Overview reads them (the header, the transcript, documents, tool,
// context), or they say how a span was sent rather than what happened.
var openInferenceKeys = map[string]bool{}

// openInferencePrefixes are OpenInference's flattened lists and groups,
// and OpenTelemetry GenAI's keys, which ingest maps to OpenInference ones.
var openInferencePrefixes = []string{
	"llm.input_messages.", "llm.output_messages.", "llm.tools.", "llm.prompts.", "llm.choices.",
	"llm.token_count.", "llm.cost.", "llm.prompt_template.",
	"retrieval.documents.", "reranker.input_documents.", "reranker.output_documents.",
	"embedding.embeddings.", "input.images.", "output.images.", "input.documents.", "output.documents.",
	"annotations.", "evaluations.", "trace.annotations.", "trace.evaluations.",
	"session.annotations.", "session.evaluations.", "openinference.", "gen_ai.",
}

func init() {
	for _, k := range strings.Fields(`input.value input.mime_type output.value output.mime_type
		session.id user.id metadata tag.tags agent.name graph.node.id graph.node.name graph.node.parent_id
		prompt.vendor prompt.id prompt.url
		llm.system llm.provider llm.model_name llm.request.model_name llm.response.model_name
		llm.invocation_parameters llm.finish_reason llm.function_call
		llm.input_messages llm.output_messages llm.tools llm.prompts llm.choices
		embedding.model_name embedding.invocation_parameters embedding.embeddings
		retrieval.documents reranker.input_documents reranker.output_documents
		reranker.query reranker.model_name reranker.top_k
		tool.name tool.description tool.parameters tool.id tool.json_schema`) {
		openInferenceKeys[k] = true
	}
}

// isOpenInference reports whether key is an attribute OpenInference (or
// GenAI) defines, rather than one the application chose.
func isOpenInference(key string) bool {
	if openInferenceKeys[key] {
		return true
	}
	for _, p := range openInferencePrefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}
