package span

import (
	"strings"
)

// OpenInference attribute keys the view reads.
const (
	AttrSpanKind        = "openinference.span.kind"
	AttrProjectName     = "openinference.project.name"
	AttrInputValue      = "input.value"
	AttrInputMimeType   = "input.mime_type"
	AttrOutputValue     = "output.value"
	AttrOutputMimeType  = "output.mime_type"
	AttrSessionID       = "session.id"
	AttrUserID          = "user.id"
	AttrModelName       = "llm.model_name"
	AttrProvider        = "llm.provider"
	AttrSystem          = "llm.system"
	AttrEmbeddingModel  = "embedding.model_name"
	AttrTokensPrompt    = "llm.token_count.prompt"
	AttrTokensComplete  = "llm.token_count.completion"
	AttrTokensTotal     = "llm.token_count.total"
	AttrTokensCacheRead = "llm.token_count.prompt_details.cache_read"
	AttrTokensCacheWrit = "llm.token_count.prompt_details.cache_write"
	AttrTokensAudioIn   = "llm.token_count.prompt_details.audio"
	AttrTokensReasoning = "llm.token_count.completion_details.reasoning"
	AttrTokensAudioOut  = "llm.token_count.completion_details.audio"
	AttrTemplate        = "llm.prompt_template.template"
	AttrTemplateVersion = "llm.prompt_template.version"
	AttrTemplateVars    = "llm.prompt_template.variables"

	MimeJSON = "application/json"
	MimeText = "text/plain"
)

// Normalize derives the OpenInference view of s from its attributes. OTel
// GenAI (gen_ai.*) keys are translated to OpenInference keys first, added
// beside the originals only where the OpenInference key is absent, so the
// stored attributes keep everything the client sent; the one change is an
// OpenInference list sent as one JSON string (llm.input_messages,
// retrieval.documents, …), which is replaced by its flattened keys
// (jsonlist.go). Values nested deeper
// than MaxValueDepth are limited (LimitDepth) in the span's attributes,
// events and links; its Resource, which spans of a request share, is left
// to the caller that builds it.
func Normalize(s *Span) {
	if s.StatusCode == "" {
		s.StatusCode = StatusUnset
	}
	// First, so that nothing after it, here or in the stores and readers,
	// meets a value nested deeper than MaxValueDepth.
	s.Attributes.LimitDepth()
	for i := range s.Events {
		s.Events[i].Attributes.LimitDepth()
	}
	for i := range s.Links {
		s.Links[i].Attributes.LimitDepth()
	}
	expandJSONLists(&s.Attributes)
	mapGenAI(&s.Attributes)
	a := s.Attributes
	v := &s.View
	*v = View{}

	v.Kind = KindUnknown
	if k, ok := a.Get(AttrSpanKind); ok {
		v.Kind = ParseKind(k.AsString())
	}
	v.ModelName = a.GetString(AttrModelName)
	if v.ModelName == "" && v.Kind == KindEmbedding {
		v.ModelName = a.GetString(AttrEmbeddingModel)
	}
	v.Provider = a.GetString(AttrProvider)
	v.System = a.GetString(AttrSystem)
	v.InputValue, v.InputMimeType = ioValue(&s.Attributes, AttrInputValue, AttrInputMimeType)
	v.OutputValue, v.OutputMimeType = ioValue(&s.Attributes, AttrOutputValue, AttrOutputMimeType)
	in, out := previewTexts(a, v)
	v.InputPreview, v.OutputPreview = Preview(in), Preview(out)
	v.SessionID = strings.TrimSpace(a.GetString(AttrSessionID))
	v.UserID = strings.TrimSpace(a.GetString(AttrUserID))
	v.Tokens = TokenCounts{
		Prompt:          intAttr(a, AttrTokensPrompt),
		Completion:      intAttr(a, AttrTokensComplete),
		Total:           intAttr(a, AttrTokensTotal),
		CacheRead:       intAttr(a, AttrTokensCacheRead),
		CacheWrite:      intAttr(a, AttrTokensCacheWrit),
		Reasoning:       intAttr(a, AttrTokensReasoning),
		AudioPrompt:     intAttr(a, AttrTokensAudioIn),
		AudioCompletion: intAttr(a, AttrTokensAudioOut),
	}
	if v.Tokens.Total == 0 {
		v.Tokens.Total = v.Tokens.Prompt + v.Tokens.Completion
	}
	v.Feedback = FeedbackFromAttributes(a)
	v.PromptTemplate = PromptTemplate{
		Template:  a.GetString(AttrTemplate),
		Version:   a.GetString(AttrTemplateVersion),
		Variables: a.GetString(AttrTemplateVars),
	}
	if f, ok := FailureOf(s); ok {
		v.ErrorGroup = ErrorGroup(f)
	}
}

// ioValue reads input.value or output.value. A value that is not a string is
// stored as JSON with a JSON mime type, as Phoenix does.
func ioValue(a *Attributes, valueKey, mimeKey string) (value, mime string) {
	val, ok := a.Get(valueKey)
	if !ok {
		return "", a.GetString(mimeKey)
	}
	mime = a.GetString(mimeKey)
	if val.Type == TypeString {
		return val.Str, mime
	}
	value = string(val.AppendJSON(nil))
	a.Set(valueKey, StringValue(value))
	a.Set(mimeKey, StringValue(MimeJSON))
	return value, MimeJSON
}

func intAttr(a Attributes, key string) int64 {
	v, ok := a.Get(key)
	if !ok {
		return 0
	}
	n, _ := v.AsInt()
	return n
}
