package span

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func attrs(kv ...any) Attributes {
	var a Attributes
	for i := 0; i < len(kv); i += 2 {
		var v Value
		switch x := kv[i+1].(type) {
		case string:
			v = StringValue(x)
		case int:
			v = IntValue(int64(x))
		case float64:
			v = DoubleValue(x)
		case bool:
			v = BoolValue(x)
		case Value:
			v = x
		}
		a = append(a, Attr{Key: kv[i].(string), Value: v})
	}
	return a
}

func TestNormalizeView(t *testing.T) {
	tests := []struct {
		name  string
		attrs Attributes
		want  View
	}{
		{"no attributes", nil, View{Kind: KindUnknown}},
		{"unknown kind", attrs(AttrSpanKind, "WIDGET"), View{Kind: KindUnknown}},
		{"lower-case kind", attrs(AttrSpanKind, "llm"), View{Kind: KindLLM}},
		{
			"OpenInference LLM span",
			attrs(AttrSpanKind, "LLM", AttrModelName, "gpt-4o", AttrProvider, "openai", AttrSystem, "openai",
				AttrInputValue, `{"messages":[]}`, AttrInputMimeType, MimeJSON, AttrOutputValue, "hi",
				AttrSessionID, " s1 ", AttrUserID, "u1",
				AttrTokensPrompt, 100, AttrTokensComplete, "20", AttrTokensCacheRead, 64, AttrTokensCacheWrit, 8,
				AttrTokensReasoning, 12, AttrTokensAudioIn, 3, AttrTokensAudioOut, 4,
				AttrTemplate, "Hi {name}", AttrTemplateVersion, "v2", AttrTemplateVars, `{"name":"Ann"}`),
			View{Kind: KindLLM, ModelName: "gpt-4o", Provider: "openai", System: "openai",
				InputValue: `{"messages":[]}`, InputMimeType: MimeJSON, OutputValue: "hi", SessionID: "s1", UserID: "u1",
				InputPreview: `{"messages":[]}`, OutputPreview: "hi",
				Tokens:         TokenCounts{Prompt: 100, Completion: 20, Total: 120, CacheRead: 64, CacheWrite: 8, Reasoning: 12, AudioPrompt: 3, AudioCompletion: 4},
				PromptTemplate: PromptTemplate{Template: "Hi {name}", Version: "v2", Variables: `{"name":"Ann"}`}},
		},
		{
			"total sent wins over the sum",
			attrs(AttrSpanKind, "LLM", AttrTokensPrompt, 10, AttrTokensComplete, 5, AttrTokensTotal, 99),
			View{Kind: KindLLM, Tokens: TokenCounts{Prompt: 10, Completion: 5, Total: 99}},
		},
		{
			"non-string input becomes JSON",
			attrs(AttrInputValue, Value{Type: TypeSlice, Slice: []Value{IntValue(1), StringValue("a")}}),
			View{Kind: KindUnknown, InputValue: `[1,"a"]`, InputMimeType: MimeJSON, InputPreview: `[1,"a"]`},
		},
		{
			"embedding model",
			attrs(AttrSpanKind, "EMBEDDING", AttrEmbeddingModel, "text-embedding-3-small"),
			View{Kind: KindEmbedding, ModelName: "text-embedding-3-small"},
		},
		{
			"GenAI chat span",
			attrs("gen_ai.operation.name", "chat", "gen_ai.request.model", "claude-3-5-sonnet", "gen_ai.response.model", "claude-3-5-sonnet-20241022",
				"gen_ai.system", "anthropic", "gen_ai.usage.input_tokens", 50, "gen_ai.usage.output_tokens", 7,
				"gen_ai.usage.cache_read_input_tokens", 40, "gen_ai.conversation.id", "conv-9"),
			View{Kind: KindLLM, ModelName: "claude-3-5-sonnet-20241022", Provider: "anthropic", System: "anthropic", SessionID: "conv-9",
				Tokens: TokenCounts{Prompt: 50, Completion: 7, Total: 57, CacheRead: 40}},
		},
		{
			"OpenInference keys win over GenAI",
			attrs(AttrSpanKind, "CHAIN", "gen_ai.operation.name", "chat", AttrModelName, "mine", "gen_ai.request.model", "theirs"),
			View{Kind: KindChain, ModelName: "mine"},
		},
		{
			"GenAI tool call",
			attrs("gen_ai.operation.name", "execute_tool", "gen_ai.tool.name", "search", "gen_ai.tool.call.arguments", `{"q":"x"}`, "gen_ai.tool.call.result", "found"),
			View{Kind: KindTool, InputValue: `{"q":"x"}`, InputMimeType: MimeJSON, OutputValue: "found", OutputMimeType: MimeText,
				InputPreview: `{"q":"x"}`, OutputPreview: "found"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Span{Attributes: tc.attrs}
			Normalize(&s)
			if diff := cmp.Diff(tc.want, s.View); diff != "" {
				t.Errorf("view (-want +got):\n%s", diff)
			}
			if s.StatusCode != StatusUnset {
				t.Errorf("status = %q, want UNSET by default", s.StatusCode)
			}
		})
	}
}

func TestNormalizeKeepsOriginals(t *testing.T) {
	in := attrs("gen_ai.request.model", "m", "custom.key", "v")
	s := Span{Attributes: append(Attributes(nil), in...)}
	Normalize(&s)
	for _, a := range in {
		if v, ok := s.Attributes.Get(a.Key); !ok || v.AsString() != a.Value.AsString() {
			t.Errorf("attribute %s lost or changed: %v", a.Key, v)
		}
	}
	if got := s.Attributes.GetString(AttrModelName); got != "m" {
		t.Errorf("derived llm.model_name = %q, want m", got)
	}
}

func TestGenAIMessages(t *testing.T) {
	s := Span{Attributes: attrs(
		"gen_ai.operation.name", "chat",
		"gen_ai.system_instructions", `[{"type":"text","content":"Be brief."}]`,
		"gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]`,
		"gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":{"city":"Paris"}}],"finish_reason":"tool_call"}]`,
	)}
	Normalize(&s)
	want := map[string]string{
		"llm.input_messages.0.message.role":                                       "system",
		"llm.input_messages.0.message.content":                                    "Be brief.",
		"llm.input_messages.1.message.role":                                       "user",
		"llm.input_messages.1.message.content":                                    "Weather in Paris?",
		"llm.output_messages.0.message.role":                                      "assistant",
		"llm.output_messages.0.message.tool_calls.0.tool_call.id":                 "c1",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.name":      "get_weather",
		"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments": `{"city":"Paris"}`,
		"llm.finish_reason":                                                       "tool_call",
	}
	for k, v := range want {
		if got := s.Attributes.GetString(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if s.View.InputMimeType != MimeJSON || s.View.InputValue == "" {
		t.Errorf("input not set from gen_ai.input.messages: %+v", s.View)
	}
}

func TestGenAILegacyIndexedMessages(t *testing.T) {
	s := Span{Attributes: attrs("gen_ai.system", "openai", "gen_ai.prompt.0.role", "user", "gen_ai.prompt.0.content", "hi",
		"gen_ai.completion.0.role", "assistant", "gen_ai.completion.0.content", "hello")}
	Normalize(&s)
	for k, v := range map[string]string{
		"llm.input_messages.0.message.role": "user", "llm.input_messages.0.message.content": "hi",
		"llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.content": "hello",
	} {
		if got := s.Attributes.GetString(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}

func TestParseKind(t *testing.T) {
	for in, want := range map[string]Kind{"LLM": KindLLM, "retriever": KindRetriever, "Agent": KindAgent, "": KindUnknown, "x": KindUnknown, "UNKNOWN": KindUnknown} {
		if got := ParseKind(in); got != want {
			t.Errorf("ParseKind(%q) = %q, want %q", in, got, want)
		}
	}
}
