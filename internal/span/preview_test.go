package span

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPreviewCutsOnACharacter(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"short", "hello", "hello"},
		{"at the bound", strings.Repeat("a", PreviewLength), strings.Repeat("a", PreviewLength)},
		{"past the bound", strings.Repeat("a", PreviewLength+1), strings.Repeat("a", PreviewLength) + "…"},
		// é is two bytes: the 500th ends at byte 1000, the 501st would cross it.
		{"two-byte characters", strings.Repeat("é", PreviewLength), strings.Repeat("é", PreviewLength/2) + "…"},
		{"a character across the bound", "a" + strings.Repeat("é", PreviewLength), "a" + strings.Repeat("é", (PreviewLength-1)/2) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Preview(tc.in)
			if got != tc.want {
				t.Errorf("Preview = %q…, want %q…", got[:min(len(got), 20)], tc.want[:min(len(tc.want), 20)])
			}
			if !utf8.ValidString(got) {
				t.Error("the preview is not valid UTF-8")
			}
		})
	}
}

// TestGenAIMessagesPreview checks that messages mapped from OpenTelemetry
// GenAI attributes preview as OpenInference ones do.
func TestGenAIMessagesPreview(t *testing.T) {
	s := Span{Attributes: attrs(
		"gen_ai.operation.name", "chat",
		"gen_ai.input.messages", `[{"role":"user","parts":[{"type":"text","content":"Weather in Paris?"}]}]`,
		"gen_ai.output.messages", `[{"role":"assistant","parts":[{"type":"tool_call","id":"c1","name":"get_weather","arguments":{"city":"Paris"}}]}]`,
	)}
	Normalize(&s)
	if s.View.InputPreview != "Weather in Paris?" || s.View.OutputPreview != `get_weather({"city":"Paris"})` {
		t.Errorf("previews = %q / %q", s.View.InputPreview, s.View.OutputPreview)
	}
}

// TestPreviewOfALongMessage checks that a long last user message is cut,
// not dropped for input.value.
func TestPreviewOfALongMessage(t *testing.T) {
	long := strings.Repeat("word ", 1000)
	s := Span{Attributes: attrs(AttrInputValue, `{"messages":[]}`,
		"llm.input_messages.0.message.role", "user", "llm.input_messages.0.message.content", long)}
	Normalize(&s)
	if want := long[:PreviewLength] + "…"; s.View.InputPreview != want {
		t.Errorf("input preview = %.40q…, want the message's first %d bytes", s.View.InputPreview, PreviewLength)
	}
}

// TestKeptPreviews checks that a store keeps a preview only when it is not
// its value's own, and reads back the same previews either way.
func TestKeptPreviews(t *testing.T) {
	long := strings.Repeat("x", PreviewLength+10)
	for _, tc := range []struct {
		name            string
		attrs           Attributes
		keptIn, keptOut bool
	}{
		{"no messages", attrs(AttrInputValue, "question", AttrOutputValue, long), false, false},
		{"nothing at all", nil, false, false},
		{"messages and request JSON", attrs(AttrInputValue, `{"messages":[]}`, AttrOutputValue, `{"choices":[]}`,
			"llm.input_messages.0.message.role", "user", "llm.input_messages.0.message.content", "question",
			"llm.output_messages.0.message.content", "answer"), true, true},
		{"messages saying what the values say", attrs(AttrInputValue, "question", AttrOutputValue, "answer",
			"llm.input_messages.0.message.role", "user", "llm.input_messages.0.message.content", "question",
			"llm.output_messages.0.message.content", "answer"), false, false},
		{"plain-text values beside messages", attrs(AttrInputValue, "question", AttrOutputValue, "answer",
			"llm.input_messages.0.message.role", "user", "llm.input_messages.0.message.content", "Context: …\nquestion",
			"llm.output_messages.0.message.content", "answer, at length"), false, false},
		{"messages and no values", attrs("llm.input_messages.0.message.role", "user", "llm.input_messages.0.message.content", "question"), true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Span{Attributes: tc.attrs}
			Normalize(&s)
			in, out := s.View.KeptPreviews()
			if (in != "") != tc.keptIn || (out != "") != tc.keptOut {
				t.Errorf("kept %q / %q, want kept %v / %v", in, out, tc.keptIn, tc.keptOut)
			}
			if got := ReadPreview(in, in != "", s.View.InputValue); got != s.View.InputPreview {
				t.Errorf("input preview read back as %.40q, want %.40q", got, s.View.InputPreview)
			}
			if got := ReadPreview(out, out != "", s.View.OutputValue); got != s.View.OutputPreview {
				t.Errorf("output preview read back as %.40q, want %.40q", got, s.View.OutputPreview)
			}
		})
	}
}

func TestIsPreviewOf(t *testing.T) {
	long := "a" + strings.Repeat("é", PreviewLength)
	for _, tc := range []struct {
		p, value string
		want     bool
	}{
		{"", "", true}, {"x", "x", true}, {"x", "y", false},
		{Preview(long), long, true},
		{Preview(long)[:10], long, false},
		{strings.Replace(Preview(long), "a", "b", 1), long, false},
		{long, long, false},
	} {
		if got := isPreviewOf(tc.p, tc.value); got != tc.want {
			t.Errorf("isPreviewOf(%.12q…, %.12q…) = %v, want %v", tc.p, tc.value, got, tc.want)
		}
	}
}
