package view

import (
	"fmt"
	"testing"
)

func TestInputFold(t *testing.T) {
	msgs := func(system, others int) []Message {
		var out []Message
		for i := range system {
			out = append(out, Message{Role: "system", Anchor: fmt.Sprint("s", i)})
		}
		for i := range others {
			out = append(out, Message{Role: "user", Anchor: fmt.Sprint("m", i)})
		}
		return out
	}
	for _, tc := range []struct {
		system, others      int
		head, earlier, tail int
	}{
		{0, 0, 0, 0, 0},
		{1, 6, 7, 0, 0},   // short: everything shown
		{1, 7, 8, 0, 0},   // still short: folding 3 would save little
		{1, 8, 1, 4, 4},   // the system prompt, 4 folded, the last 4
		{2, 20, 2, 16, 4}, // every leading system message stays
		{0, 9, 0, 5, 4},
	} {
		l := &LLM{Input: msgs(tc.system, tc.others)}
		if h, e, tl := len(l.InputHead()), len(l.InputEarlier()), len(l.InputTail()); h != tc.head || e != tc.earlier || tl != tc.tail {
			t.Errorf("%d system + %d messages: head %d, earlier %d, tail %d; want %d, %d, %d",
				tc.system, tc.others, h, e, tl, tc.head, tc.earlier, tc.tail)
		}
		if n := len(l.InputHead()) + len(l.InputEarlier()) + len(l.InputTail()); n != len(l.Input) {
			t.Errorf("%d system + %d messages: the parts hold %d", tc.system, tc.others, n)
		}
	}
}

func TestCutOff(t *testing.T) {
	for reason, want := range map[string]bool{"length": true, "max_tokens": true, "MAX_TOKENS": true,
		"max_output_tokens": true, "stop": false, "tool_calls": false, "end_turn": false, "": false} {
		if got := (&LLM{FinishReason: reason}).CutOff(); got != want {
			t.Errorf("CutOff(%q) = %v, want %v", reason, got, want)
		}
	}
}

func TestFirstToken(t *testing.T) {
	for _, tc := range []struct {
		name   string
		events []Event
		want   int64
	}{
		{"none", nil, 0},
		{"other events", []Event{{Name: "retry", Time: 5}}, 0},
		{"openinference", []Event{{Name: "retry", Time: 5}, {Name: "First Token Stream Event", Time: 9}}, 9},
		{"chunks: the first", []Event{{Name: "llm.content.completion.chunk", Time: 12}, {Name: "llm.content.completion.chunk", Time: 10}}, 10},
		{"gen_ai", []Event{{Name: "gen_ai.first_token", Time: 7}}, 7},
	} {
		got, ok := (&Span{Events: tc.events}).FirstToken()
		if got != tc.want || ok != (tc.want > 0) {
			t.Errorf("%s: FirstToken() = %d, %v; want %d", tc.name, got, ok, tc.want)
		}
	}
}
