package fulltext

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestPhrases(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"   ", nil},
		{"refund", []string{"refund"}},
		{"  refund   policy ", []string{"refund", "policy"}},
		{`"exact phrase" word`, []string{"exact phrase", "word"}},
		{`word "exact   phrase"`, []string{"word", "exact phrase"}},
		{`unclosed "quote runs on`, []string{"unclosed", "quote runs on"}},
		{`""`, nil},
		{`" "`, nil},
		{`* : ( ) - ^`, nil},
		{`a NEAR b`, []string{"a", "NEAR", "b"}},
		{`col:value`, []string{"col:value"}},
		{"refund refund", []string{"refund"}},
		{"tab\there\x00nul", []string{"tab", "here", "nul"}},
		{"東京の天気", []string{" 東  京  の  天  気 "}},
		{"GPU東京", []string{"GPU 東  京 "}},
		{"café Привет", []string{"café", "Привет"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, Phrases(tc.in)); diff != "" {
			t.Errorf("Phrases(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
	many := strings.Repeat("w ", 10) + strings.Repeat("x y z ", 10)
	if got := Phrases(many); len(got) != 4 {
		t.Errorf("repeated words: got %q", got)
	}
	var distinct []string
	for i := range 40 {
		distinct = append(distinct, strings.Repeat("a", i+1))
	}
	if got := Phrases(strings.Join(distinct, " ")); len(got) != MaxPhrases {
		t.Errorf("got %d phrases, want at most %d", len(got), MaxPhrases)
	}
}

func TestSegment(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain English, café", "plain English, café"},
		{"Привет мир", "Привет мир"},
		{"東京", " 東  京 "},
		{"データベース", " デ ー タ  ベ ー ス "},
		{"서울에서", " 서  울  에  서 "},
		{"ภาษาไทย", " ภ  า  ษ  า  ไ  ท  ย "},
		{"see 東京 now", "see  東  京  now"},
	}
	for _, tc := range tests {
		if got := Segment(tc.in); got != tc.want {
			t.Errorf("Segment(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestDocument(t *testing.T) {
	got := Document([]string{"question", "", "answer", "question", "東京"})
	if want := "question\nanswer\n 東  京 "; got != want {
		t.Errorf("Document = %q, want %q", got, want)
	}
	long := Document([]string{strings.Repeat("é", MaxDocument)})
	if len(long) > MaxDocument || !strings.HasSuffix(long, "é") {
		t.Errorf("long document: %d bytes, ends %q", len(long), long[len(long)-4:])
	}
}

func TestWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"How do I get a REFUND?", []string{"how", "do", "i", "get", "a", "refund"}},
		{"col:value -x ^y e-mail@host.io", []string{"col", "value", "x", "y", "e", "mail", "host", "io"}},
		{"Je voudrais un café crème", []string{"je", "voudrais", "un", "cafe", "creme"}},
		{"Привет, МИР!", []string{"привет", "мир"}},
		{Segment("東京の天気"), []string{"東", "京", "の", "天", "気"}},
		{"gpt-4o 1.5", []string{"gpt", "4o", "1", "5"}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, Words(tc.in)); diff != "" {
			t.Errorf("Words(%q) (-want +got):\n%s", tc.in, diff)
		}
	}
}

func TestSearchableKey(t *testing.T) {
	for key, want := range map[string]bool{
		"llm.input_messages.0.message.content":                          true,
		"llm.output_messages.3.message.contents.1.message_content.text": true,
		"retrieval.documents.2.document.content":                        true,
		"llm.input_messages.0.message.role":                             false,
		"input.value":                                                   false,
	} {
		if got := SearchableKey(key); got != want {
			t.Errorf("SearchableKey(%q) = %v, want %v", key, got, want)
		}
	}
}
