// Package openinference declares the OpenInference attribute keys and values
// that Loupe, Arize Phoenix and the OpenInference instrumentations agree on.
//
// Lists are flattened with zero-based integer segments, for example
// "llm.input_messages.0.message.role": the list keys below (LLMInputMessages,
// RetrievalDocuments, …) are prefixes and the item keys (MessageRole,
// DocumentID, …) are the suffixes that follow the index. Values documented as
// JSON are strings holding serialized JSON.
package openinference

// Span kind, the one attribute every OpenInference span must carry.
const (
	SpanKind = "openinference.span.kind"

	SpanKindLLM       = "LLM"
	SpanKindChain     = "CHAIN"
	SpanKindAgent     = "AGENT"
	SpanKindTool      = "TOOL"
	SpanKindRetriever = "RETRIEVER"
	SpanKindReranker  = "RERANKER"
	SpanKindEmbedding = "EMBEDDING"
	SpanKindGuardrail = "GUARDRAIL"
	SpanKindEvaluator = "EVALUATOR"
	SpanKindPrompt    = "PROMPT"
)

// ProjectName is a resource attribute: the project the spans belong to.
const ProjectName = "openinference.project.name"

// Input and output of any span, and their mime types.
const (
	InputValue     = "input.value"
	InputMimeType  = "input.mime_type"
	OutputValue    = "output.value"
	OutputMimeType = "output.mime_type"

	MimeTypeText = "text/plain"
	MimeTypeJSON = "application/json"
)

// Context and cross-cutting attributes.
const (
	SessionID         = "session.id"
	UserID            = "user.id"
	Metadata          = "metadata" // JSON
	TagTags           = "tag.tags" // string list
	AgentName         = "agent.name"
	GraphNodeID       = "graph.node.id"
	GraphNodeName     = "graph.node.name"
	GraphNodeParentID = "graph.node.parent_id"
	PromptVendor      = "prompt.vendor"
	PromptID          = "prompt.id"
	PromptURL         = "prompt.url"
)

// LLM call attributes.
const (
	LLMSystem                  = "llm.system"
	LLMProvider                = "llm.provider"
	LLMModelName               = "llm.model_name"
	LLMInvocationParameters    = "llm.invocation_parameters" // JSON
	LLMFinishReason            = "llm.finish_reason"
	LLMInputMessages           = "llm.input_messages"  // list of Message*
	LLMOutputMessages          = "llm.output_messages" // list of Message*
	LLMTools                   = "llm.tools"           // list of ToolJSONSchema
	LLMPrompts                 = "llm.prompts"         // legacy completions API
	LLMChoices                 = "llm.choices"         // legacy completions API
	LLMPromptTemplate          = "llm.prompt_template.template"
	LLMPromptTemplateVariables = "llm.prompt_template.variables" // JSON
	LLMPromptTemplateVersion   = "llm.prompt_template.version"
)

// Known values of LLMSystem (the API shape) and LLMProvider (the host).
const (
	LLMSystemOpenAI    = "openai"
	LLMSystemAnthropic = "anthropic"
	LLMSystemVertexAI  = "vertexai"
	LLMSystemCohere    = "cohere"
	LLMSystemMistralAI = "mistralai"

	LLMProviderOpenAI     = "openai"
	LLMProviderAnthropic  = "anthropic"
	LLMProviderAzure      = "azure"
	LLMProviderGoogle     = "google"
	LLMProviderAWS        = "aws"
	LLMProviderCohere     = "cohere"
	LLMProviderMistralAI  = "mistralai"
	LLMProviderXAI        = "xai"
	LLMProviderDeepSeek   = "deepseek"
	LLMProviderGroq       = "groq"
	LLMProviderFireworks  = "fireworks"
	LLMProviderMoonshot   = "moonshot"
	LLMProviderCerebras   = "cerebras"
	LLMProviderPerplexity = "perplexity"
	LLMProviderTogether   = "together"
	LLMProviderOllama     = "ollama"
)

// Message item keys, following "llm.{input|output}_messages.{i}.".
const (
	MessageRole       = "message.role"
	MessageContent    = "message.content"
	MessageContents   = "message.contents" // list of MessageContent*
	MessageToolCalls  = "message.tool_calls"
	MessageToolCallID = "message.tool_call_id"
	MessageName       = "message.name"
)

// Message content part keys, following "message.contents.{j}.".
const (
	MessageContentType  = "message_content.type"
	MessageContentText  = "message_content.text"
	MessageContentImage = "message_content.image" // holds an ImageURL: "message_content.image.image.url"

	MessageContentTypeText  = "text"
	MessageContentTypeImage = "image"
)

// ImageURL is a URL or a "data:image/...;base64," URI.
const ImageURL = "image.url"

// Tool call keys, following "message.tool_calls.{k}.".
const (
	ToolCallID                = "tool_call.id"
	ToolCallFunctionName      = "tool_call.function.name"
	ToolCallFunctionArguments = "tool_call.function.arguments" // JSON
)

// TOOL span attributes; ToolJSONSchema also follows "llm.tools.{i}.".
const (
	ToolName        = "tool.name"
	ToolDescription = "tool.description"
	ToolParameters  = "tool.parameters" // JSON
	ToolID          = "tool.id"
	ToolJSONSchema  = "tool.json_schema" // JSON
)

// Token counts (integers).
const (
	LLMTokenCountPrompt                     = "llm.token_count.prompt"
	LLMTokenCountCompletion                 = "llm.token_count.completion"
	LLMTokenCountTotal                      = "llm.token_count.total"
	LLMTokenCountPromptDetailsCacheRead     = "llm.token_count.prompt_details.cache_read"
	LLMTokenCountPromptDetailsCacheWrite    = "llm.token_count.prompt_details.cache_write"
	LLMTokenCountPromptDetailsAudio         = "llm.token_count.prompt_details.audio"
	LLMTokenCountCompletionDetailsReasoning = "llm.token_count.completion_details.reasoning"
	LLMTokenCountCompletionDetailsAudio     = "llm.token_count.completion_details.audio"
)

// Cost in USD (floats), for emitters that price their own calls.
const (
	LLMCostPrompt     = "llm.cost.prompt"
	LLMCostCompletion = "llm.cost.completion"
	LLMCostTotal      = "llm.cost.total"
)

// Retrieval and reranking.
const (
	RetrievalDocuments      = "retrieval.documents"       // list of Document*
	RerankerInputDocuments  = "reranker.input_documents"  // list of Document*
	RerankerOutputDocuments = "reranker.output_documents" // list of Document*
	RerankerQuery           = "reranker.query"
	RerankerModelName       = "reranker.model_name"
	RerankerTopK            = "reranker.top_k"
)

// Document item keys, following a document list prefix and "{i}.".
const (
	DocumentID       = "document.id"
	DocumentScore    = "document.score"
	DocumentContent  = "document.content"
	DocumentMetadata = "document.metadata" // JSON
)

// Embedding attributes.
const (
	EmbeddingModelName            = "embedding.model_name"
	EmbeddingInvocationParameters = "embedding.invocation_parameters" // JSON
	EmbeddingEmbeddings           = "embedding.embeddings"            // list of Embedding*
	EmbeddingText                 = "embedding.text"
	EmbeddingVector               = "embedding.vector" // float list
)

// RedactedValue replaces content hidden by masking.
const RedactedValue = "__REDACTED__"
