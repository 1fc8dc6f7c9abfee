package agentdemo

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/sdk/openai"
)

// fakeLLM is an OpenAI-compatible chat-completions server that plays a model
// deterministically, from the conversation it is sent: with no tool result
// yet it asks for search_docs, after the search it asks for fetch_chunk on
// the best hit, and after the fetch it answers from the chunk.
type fakeLLM struct {
	URL    string // base URL, ending in /v1
	server *http.Server
}

func startFakeLLM() (*fakeLLM, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listening for the fake model: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", serveChatCompletion)
	f := &fakeLLM{
		URL:    "http://" + ln.Addr().String() + "/v1",
		server: &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second},
	}
	// Serve only fails once closed, or when the listener breaks, which the
	// agent then sees as a failed model call.
	go f.server.Serve(ln)
	return f, nil
}

func (f *fakeLLM) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f.server.Shutdown(ctx)
}

func serveChatCompletion(w http.ResponseWriter, r *http.Request) {
	var req openai.ChatCompletionRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"malformed request","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	reply, finish := decide(req.Messages)
	promptTokens := 0
	for _, m := range req.Messages {
		promptTokens += 4 + len(m.Content)/4
	}
	completionTokens := 8 + len(reply.Content)/4
	cached := 0
	if toolResults(req.Messages) > 0 {
		// The system prompt and question are a prefix the provider caches.
		cached = 64
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(openai.ChatCompletion{
		ID:      fmt.Sprintf("chatcmpl-demo-%d", len(req.Messages)),
		Object:  "chat.completion",
		Created: 1767225600,
		Model:   req.Model + "-2026-01-01",
		Choices: []openai.Choice{{Index: 0, Message: reply, FinishReason: finish}},
		Usage: &openai.Usage{
			PromptTokens:            promptTokens,
			CompletionTokens:        completionTokens,
			TotalTokens:             promptTokens + completionTokens,
			PromptTokensDetails:     &openai.PromptTokensDetails{CachedTokens: cached},
			CompletionTokensDetails: &openai.CompletionTokensDetails{ReasoningTokens: 16},
		},
	})
}

func decide(msgs []openai.Message) (openai.Message, string) {
	switch toolResults(msgs) {
	case 0:
		return toolCall("call_search_1", "search_docs", map[string]string{"query": lastUser(msgs)}), "tool_calls"
	case 1:
		var hits []searchHit
		_ = json.Unmarshal([]byte(msgs[len(msgs)-1].Content), &hits)
		id := "unknown"
		if len(hits) > 0 {
			id = hits[0].ID
		}
		return toolCall("call_fetch_1", "fetch_chunk", map[string]string{"id": id}), "tool_calls"
	default:
		text := strings.TrimSpace(msgs[len(msgs)-1].Content)
		return openai.Message{Role: "assistant", Content: "From the docs: " + text}, "stop"
	}
}

func toolCall(id, name string, args map[string]string) openai.Message {
	b, _ := json.Marshal(args)
	return openai.Message{Role: "assistant", ToolCalls: []openai.ToolCall{{
		ID: id, Type: "function", Function: openai.FunctionCall{Name: name, Arguments: string(b)},
	}}}
}

func toolResults(msgs []openai.Message) int {
	n := 0
	for _, m := range msgs {
		if m.Role == "tool" {
			n++
		}
	}
	return n
}

func lastUser(msgs []openai.Message) string {
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role == "user" {
			return msgs[i].Content
		}
	}
	return ""
}
