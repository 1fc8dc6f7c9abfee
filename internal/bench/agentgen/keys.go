package agentgen

// OpenInference attribute keys the generated spans carry.
const (
	KeySpanKind       = "openinference.span.kind"
	KeyProjectName    = "openinference.project.name"
	KeyInputValue     = "input.value"
	KeyInputMime      = "input.mime_type"
	KeyOutputValue    = "output.value"
	KeyOutputMime     = "output.mime_type"
	KeySessionID      = "session.id"
	KeyUserID         = "user.id"
	KeyMetadata       = "metadata"
	KeyTags           = "tag.tags"
	KeyAgentName      = "agent.name"
	KeyModelName      = "llm.model_name"
	KeyProvider       = "llm.provider"
	KeySystem         = "llm.system"
	KeyInvocation     = "llm.invocation_parameters"
	KeyInputMessages  = "llm.input_messages"
	KeyOutputMessages = "llm.output_messages"
	KeyTokensPrompt   = "llm.token_count.prompt"
	KeyTokensComplete = "llm.token_count.completion"
	KeyTokensTotal    = "llm.token_count.total"
	KeyTokensCache    = "llm.token_count.prompt_details.cache_read"
	KeyToolName       = "tool.name"
	KeyToolDesc       = "tool.description"
	KeyToolParams     = "tool.parameters"
	KeyDocuments      = "retrieval.documents"

	MimeJSON = "application/json"
	MimeText = "text/plain"
)
