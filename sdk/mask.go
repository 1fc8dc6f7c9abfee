package loupe

import (
	"os"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/attribute"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// DefaultBase64ImageMaxLength is the length above which a base64 data URI
// image in an input message is redacted, as in the OpenInference helpers.
const DefaultBase64ImageMaxLength = 32000

// TraceConfig hides sensitive or bulky content from the spans a Tracer
// writes. It behaves like the TraceConfig of the OpenInference Python and JS
// helpers: hidden values become "__REDACTED__", or the attribute is left out
// where the helpers leave it out.
//
// To let code override the environment, start from TraceConfigFromEnv and
// change fields; a TraceConfig literal ignores the environment.
type TraceConfig struct {
	// HideInputs redacts input.value and drops input.mime_type, the input
	// messages and the tools offered to the model.
	HideInputs bool
	// HideOutputs redacts output.value and drops output.mime_type and the
	// output messages.
	HideOutputs bool
	// HideInputMessages and HideOutputMessages drop the message lists.
	HideInputMessages  bool
	HideOutputMessages bool
	// HideInputText and HideOutputText redact message text but keep the
	// structure (roles, tool calls, images).
	HideInputText  bool
	HideOutputText bool
	// HideInputImages drops images from input messages.
	HideInputImages bool
	// HideEmbeddingVectors and HideEmbeddingText redact embedding vectors
	// and the texts they were computed from.
	HideEmbeddingVectors bool
	HideEmbeddingText    bool
	// HideLLMInvocationParameters drops llm.invocation_parameters.
	HideLLMInvocationParameters bool
	// HideLLMTools drops the tools offered to the model.
	HideLLMTools bool
	// HidePrompts and HideChoices redact the legacy completions-API prompts
	// and choices.
	HidePrompts bool
	HideChoices bool
	// Base64ImageMaxLength redacts input images given as base64 data URIs
	// longer than this. Zero or less means DefaultBase64ImageMaxLength.
	Base64ImageMaxLength int
}

// TraceConfigFromEnv reads the OPENINFERENCE_HIDE_* and
// OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH environment variables. Booleans are
// "true" or "false" (anything strconv.ParseBool accepts); an unparsable value
// keeps the default, as the other OpenInference helpers do.
func TraceConfigFromEnv() TraceConfig {
	return traceConfigFrom(os.Getenv)
}

func traceConfigFrom(getenv func(string) string) TraceConfig {
	flag := func(names ...string) bool {
		for _, name := range names {
			if b, err := strconv.ParseBool(strings.TrimSpace(getenv(name))); err == nil {
				return b
			}
		}
		return false
	}
	cfg := TraceConfig{
		HideInputs:         flag("OPENINFERENCE_HIDE_INPUTS"),
		HideOutputs:        flag("OPENINFERENCE_HIDE_OUTPUTS"),
		HideInputMessages:  flag("OPENINFERENCE_HIDE_INPUT_MESSAGES"),
		HideOutputMessages: flag("OPENINFERENCE_HIDE_OUTPUT_MESSAGES"),
		HideInputText:      flag("OPENINFERENCE_HIDE_INPUT_TEXT"),
		HideOutputText:     flag("OPENINFERENCE_HIDE_OUTPUT_TEXT"),
		HideInputImages:    flag("OPENINFERENCE_HIDE_INPUT_IMAGES"),
		// Both spellings are in use: the Python helpers renamed the variable.
		HideEmbeddingVectors:        flag("OPENINFERENCE_HIDE_EMBEDDINGS_VECTORS", "OPENINFERENCE_HIDE_EMBEDDING_VECTORS"),
		HideEmbeddingText:           flag("OPENINFERENCE_HIDE_EMBEDDINGS_TEXT"),
		HideLLMInvocationParameters: flag("OPENINFERENCE_HIDE_LLM_INVOCATION_PARAMETERS"),
		HideLLMTools:                flag("OPENINFERENCE_HIDE_LLM_TOOLS"),
		HidePrompts:                 flag("OPENINFERENCE_HIDE_PROMPTS"),
		HideChoices:                 flag("OPENINFERENCE_HIDE_CHOICES"),
		Base64ImageMaxLength:        DefaultBase64ImageMaxLength,
	}
	if n, err := strconv.Atoi(strings.TrimSpace(getenv("OPENINFERENCE_BASE64_IMAGE_MAX_LENGTH"))); err == nil && n > 0 {
		cfg.Base64ImageMaxLength = n
	}
	return cfg
}

var redacted = attribute.StringValue(oi.RedactedValue)

// mask applies the config to one attribute. It returns false when the
// attribute must be left out. The order of the checks follows the Python
// helper, so that overlapping flags resolve the same way.
func (c *TraceConfig) mask(kv attribute.KeyValue) (attribute.KeyValue, bool) {
	key := string(kv.Key)
	inMsg := strings.HasPrefix(key, oi.LLMInputMessages+".")
	outMsg := strings.HasPrefix(key, oi.LLMOutputMessages+".")
	inContents := strings.Contains(key, "."+oi.MessageContents+".")
	switch {
	case c.HideLLMInvocationParameters && key == oi.LLMInvocationParameters:
		return kv, false
	case c.HideInputs && key == oi.InputValue:
		kv.Value = redacted
	case c.HideInputs && key == oi.InputMimeType:
		return kv, false
	case c.HideOutputs && key == oi.OutputValue:
		kv.Value = redacted
	case c.HideOutputs && key == oi.OutputMimeType:
		return kv, false
	case (c.HideInputs || c.HideInputMessages) && inMsg:
		return kv, false
	case (c.HideOutputs || c.HideOutputMessages) && outMsg:
		return kv, false
	case c.HideInputText && inMsg && strings.HasSuffix(key, "."+oi.MessageContent):
		kv.Value = redacted
	case c.HideOutputText && outMsg && strings.HasSuffix(key, "."+oi.MessageContent):
		kv.Value = redacted
	case c.HideInputText && inMsg && inContents && strings.HasSuffix(key, "."+oi.MessageContentText):
		kv.Value = redacted
	case c.HideOutputText && outMsg && inContents && strings.HasSuffix(key, "."+oi.MessageContentText):
		kv.Value = redacted
	case c.HideInputImages && inMsg && inContents && strings.Contains(key, "."+oi.MessageContentImage+"."):
		return kv, false
	case inMsg && inContents && strings.Contains(key, "."+oi.MessageContentImage+".") && c.isLongBase64Image(kv.Value):
		kv.Value = redacted
	case c.HideEmbeddingVectors && strings.HasPrefix(key, oi.EmbeddingEmbeddings+".") && strings.HasSuffix(key, "."+oi.EmbeddingVector):
		kv.Value = redacted
	case c.HideEmbeddingText && strings.HasPrefix(key, oi.EmbeddingEmbeddings+".") && strings.HasSuffix(key, "."+oi.EmbeddingText):
		kv.Value = redacted
	case (c.HideInputs || c.HideLLMTools) && strings.HasPrefix(key, oi.LLMTools+"."):
		return kv, false
	case (c.HideInputs || c.HidePrompts) && strings.HasPrefix(key, oi.LLMPrompts+"."):
		kv.Value = redacted
	case (c.HideOutputs || c.HideChoices) && strings.HasPrefix(key, oi.LLMChoices+"."):
		kv.Value = redacted
	}
	return kv, true
}

func (c *TraceConfig) isLongBase64Image(v attribute.Value) bool {
	if v.Type() != attribute.STRING {
		return false
	}
	s := v.AsString()
	limit := c.Base64ImageMaxLength
	if limit <= 0 {
		limit = DefaultBase64ImageMaxLength
	}
	return len(s) > limit && strings.HasPrefix(s, "data:image/") && strings.Contains(s, "base64")
}

// maskAll returns the masked attributes in a new slice: kvs may be the
// caller's own. A nil config (a Span built by hand) masks nothing.
func (c *TraceConfig) maskAll(kvs []attribute.KeyValue) []attribute.KeyValue {
	if c == nil {
		return kvs
	}
	out := make([]attribute.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		if kv, ok := c.mask(kv); ok {
			out = append(out, kv)
		}
	}
	return out
}
