package span

import (
	"encoding/json"
	"strconv"
	"strings"
)

// mapGenAI adds OpenInference keys derived from OpenTelemetry GenAI semantic
// conventions (gen_ai.*), as Phoenix does. OpenInference keys the client sent win.
func mapGenAI(a *Attributes) {
	if !hasGenAI(*a) {
		return
	}
	if op := a.GetString("gen_ai.operation.name"); op != "" {
		if k := genAIKind(op); k != "" {
			a.SetDefault(AttrSpanKind, StringValue(string(k)))
		}
	}
	copyFirst(a, AttrModelName, "gen_ai.response.model", "gen_ai.request.model")
	copyFirst(a, AttrProvider, "gen_ai.provider.name", "gen_ai.system")
	copyFirst(a, AttrSystem, "gen_ai.system", "gen_ai.provider.name")
	copyFirst(a, AttrSessionID, "gen_ai.conversation.id")
	copyFirst(a, "agent.name", "gen_ai.agent.name")
	copyFirst(a, "tool.name", "gen_ai.tool.name")
	copyFirst(a, "tool.description", "gen_ai.tool.description")
	copyFirst(a, "tool.id", "gen_ai.tool.call.id")
	copyIntFirst(a, AttrTokensPrompt, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
	copyIntFirst(a, AttrTokensComplete, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
	copyIntFirst(a, AttrTokensCacheRead, "gen_ai.usage.cache_read.input_tokens", "gen_ai.usage.cache_read_input_tokens")
	copyIntFirst(a, AttrTokensCacheWrit, "gen_ai.usage.cache_creation.input_tokens", "gen_ai.usage.cache_creation_input_tokens")
	copyIntFirst(a, AttrTokensReasoning, "gen_ai.usage.reasoning.output_tokens", "gen_ai.usage.reasoning_tokens")
	if _, ok := a.Get(AttrTokensTotal); !ok {
		p, _ := valueInt(*a, AttrTokensPrompt)
		c, _ := valueInt(*a, AttrTokensComplete)
		if p+c > 0 {
			a.Set(AttrTokensTotal, IntValue(p+c))
		}
	}
	if fr, ok := a.Get("gen_ai.response.finish_reasons"); ok && fr.Type == TypeSlice && len(fr.Slice) > 0 {
		a.SetDefault("llm.finish_reason", StringValue(fr.Slice[0].AsString()))
	}
	mapInvocationParameters(a)
	mapToolCall(a)
	mapMessages(a)
}

func hasGenAI(a Attributes) bool {
	for i := range a {
		if strings.HasPrefix(a[i].Key, "gen_ai.") {
			return true
		}
	}
	return false
}

func genAIKind(op string) Kind {
	switch op {
	case "chat", "text_completion", "generate_content":
		return KindLLM
	case "embeddings":
		return KindEmbedding
	case "execute_tool":
		return KindTool
	case "invoke_agent", "create_agent":
		return KindAgent
	}
	return ""
}

func copyFirst(a *Attributes, dst string, srcs ...string) {
	if _, ok := a.Get(dst); ok {
		return
	}
	for _, src := range srcs {
		if v, ok := a.Get(src); ok && v.AsString() != "" {
			a.Set(dst, StringValue(v.AsString()))
			return
		}
	}
}

func copyIntFirst(a *Attributes, dst string, srcs ...string) {
	if _, ok := a.Get(dst); ok {
		return
	}
	for _, src := range srcs {
		if n, ok := valueInt(*a, src); ok {
			a.Set(dst, IntValue(n))
			return
		}
	}
}

func valueInt(a Attributes, key string) (int64, bool) {
	v, ok := a.Get(key)
	if !ok {
		return 0, false
	}
	return v.AsInt()
}

var genAIRequestParams = []struct{ key, name string }{
	{"gen_ai.request.temperature", "temperature"},
	{"gen_ai.request.max_tokens", "max_tokens"},
	{"gen_ai.request.top_p", "top_p"},
	{"gen_ai.request.top_k", "top_k"},
	{"gen_ai.request.frequency_penalty", "frequency_penalty"},
	{"gen_ai.request.presence_penalty", "presence_penalty"},
	{"gen_ai.request.seed", "seed"},
	{"gen_ai.request.stop_sequences", "stop"},
}

func mapInvocationParameters(a *Attributes) {
	if _, ok := a.Get("llm.invocation_parameters"); ok {
		return
	}
	var params Attributes
	for _, p := range genAIRequestParams {
		if v, ok := a.Get(p.key); ok {
			params = append(params, Attr{Key: p.name, Value: v})
		}
	}
	if len(params) > 0 {
		a.Set("llm.invocation_parameters", StringValue(string(params.AppendJSON(nil))))
	}
}

func mapToolCall(a *Attributes) {
	if args := a.GetString("gen_ai.tool.call.arguments"); args != "" {
		if a.SetDefault(AttrInputValue, StringValue(args)) {
			a.SetDefault(AttrInputMimeType, StringValue(mimeOf(args)))
		}
	}
	if res := a.GetString("gen_ai.tool.call.result"); res != "" {
		if a.SetDefault(AttrOutputValue, StringValue(res)) {
			a.SetDefault(AttrOutputMimeType, StringValue(mimeOf(res)))
		}
	}
}

func mimeOf(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 0 && (s[0] == '{' || s[0] == '[') && json.Valid([]byte(s)) {
		return MimeJSON
	}
	return MimeText
}

// genAIMessage is one message of gen_ai.input.messages / gen_ai.output.messages.
type genAIMessage struct {
	Role         string      `json:"role"`
	Parts        []genAIPart `json:"parts"`
	FinishReason string      `json:"finish_reason"`
}

type genAIPart struct {
	Type      string          `json:"type"`
	Content   json.RawMessage `json:"content"`
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Response  json.RawMessage `json:"response"`
	URI       string          `json:"uri"`
}

// mapMessages turns GenAI message attributes into llm.input_messages /
// llm.output_messages. Both the structured form (gen_ai.input.messages, a
// JSON string) and the older indexed form (gen_ai.prompt.{i}.role/content)
// are understood.
func mapMessages(a *Attributes) {
	if !hasPrefix(*a, "llm.input_messages.") {
		var msgs []genAIMessage
		if sys := a.GetString("gen_ai.system_instructions"); sys != "" {
			var parts []genAIPart
			if json.Unmarshal([]byte(sys), &parts) != nil {
				parts = []genAIPart{{Type: "text", Content: mustJSONString(sys)}}
			}
			msgs = append(msgs, genAIMessage{Role: "system", Parts: parts})
		}
		raw := a.GetString("gen_ai.input.messages")
		var in []genAIMessage
		if raw != "" && json.Unmarshal([]byte(raw), &in) == nil {
			msgs = append(msgs, in...)
			if a.SetDefault(AttrInputValue, StringValue(raw)) {
				a.SetDefault(AttrInputMimeType, StringValue(MimeJSON))
			}
		}
		writeMessages(a, "llm.input_messages", msgs)
		if len(msgs) == 0 {
			copyIndexed(a, "gen_ai.prompt.", "llm.input_messages")
		}
	}
	if !hasPrefix(*a, "llm.output_messages.") {
		raw := a.GetString("gen_ai.output.messages")
		var out []genAIMessage
		if raw != "" && json.Unmarshal([]byte(raw), &out) == nil {
			writeMessages(a, "llm.output_messages", out)
			if a.SetDefault(AttrOutputValue, StringValue(raw)) {
				a.SetDefault(AttrOutputMimeType, StringValue(MimeJSON))
			}
			if len(out) > 0 && out[0].FinishReason != "" {
				a.SetDefault("llm.finish_reason", StringValue(out[0].FinishReason))
			}
		} else {
			copyIndexed(a, "gen_ai.completion.", "llm.output_messages")
		}
	}
}

func writeMessages(a *Attributes, prefix string, msgs []genAIMessage) {
	for i, m := range msgs {
		base := prefix + "." + strconv.Itoa(i) + ".message."
		a.Set(base+"role", StringValue(m.Role))
		var text []string
		calls := 0
		for _, p := range m.Parts {
			switch p.Type {
			case "text", "reasoning":
				text = append(text, rawText(p.Content))
			case "tool_call":
				cb := base + "tool_calls." + strconv.Itoa(calls) + ".tool_call."
				calls++
				if p.ID != "" {
					a.Set(cb+"id", StringValue(p.ID))
				}
				a.Set(cb+"function.name", StringValue(p.Name))
				if len(p.Arguments) > 0 {
					a.Set(cb+"function.arguments", StringValue(rawText(p.Arguments)))
				}
			case "tool_call_response":
				if p.ID != "" {
					a.Set(base+"tool_call_id", StringValue(p.ID))
				}
				text = append(text, rawText(p.Response))
			case "uri", "image":
				if p.URI != "" {
					a.Set(base+"contents.0.message_content.type", StringValue("image"))
					a.Set(base+"contents.0.message_content.image.image.url", StringValue(p.URI))
				}
			}
		}
		if len(text) > 0 {
			a.Set(base+"content", StringValue(strings.Join(text, "\n")))
		}
	}
}

// rawText unwraps a JSON string, or returns other JSON as written.
func rawText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

func mustJSONString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// copyIndexed maps gen_ai.prompt.{i}.role/content to {prefix}.{i}.message.role/content.
func copyIndexed(a *Attributes, from, prefix string) {
	for _, attr := range *a {
		rest, ok := strings.CutPrefix(attr.Key, from)
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		if !ok || (field != "role" && field != "content") {
			continue
		}
		if _, err := strconv.Atoi(idx); err != nil {
			continue
		}
		a.SetDefault(prefix+"."+idx+".message."+field, StringValue(attr.Value.AsString()))
	}
}
