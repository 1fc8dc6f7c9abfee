package pricing

import "testing"

func TestContextWindow(t *testing.T) {
	if _, err := contextWindows(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		model string
		want  int64
	}{
		{"gpt-4o-mini", 128000},
		{"gpt-4o-2024-08-06", 128000},
		{"GPT-4o", 128000},
		{"openai/gpt-4o-mini", 128000},
		{"gpt-4.1-nano", 1047576},
		{"gpt-4", 8192},
		{"gpt-3.5-turbo", 16385},
		{"o3-mini", 200000},
		{"gpt-5-mini", 400000},
		{"claude-sonnet-4-5-20250929", 200000},
		{"anthropic.claude-3-5-sonnet-20240620-v1:0", 200000},
		{"gemini-2.5-flash", 1048576},
		{"models/gemini-1.5-pro-002", 2097152},
		{"deepseek-chat", 128000},
		{"my-finetune", 0},
		{"", 0},
	} {
		got, ok := ContextWindow(tc.model)
		if got != tc.want || ok != (tc.want > 0) {
			t.Errorf("ContextWindow(%q) = %d, %v; want %d", tc.model, got, ok, tc.want)
		}
	}
}
