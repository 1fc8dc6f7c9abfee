package openai

import (
	"bufio"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	loupe "github.com/loupe-dev/loupe/sdk"
)

// CreateChatCompletionStream sends req as a streamed completion and returns
// the stream of chunks. Unless req.StreamOptions says otherwise it asks for
// the usage chunk (stream_options.include_usage), so that the span has token
// counts. The span ends when the stream does: read it to io.EOF or Close it.
func (c *Client) CreateChatCompletionStream(ctx context.Context, req ChatCompletionRequest) (*Stream, error) {
	req.Stream = true
	if req.StreamOptions == nil {
		req.StreamOptions = &StreamOptions{IncludeUsage: true}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("encoding the chat completion request: %w", err)
	}
	ctx, span := c.startSpan(ctx, req, body)
	resp, err := c.post(ctx, body, true)
	if err != nil {
		span.Finish(nil, err)
		return nil, err
	}
	return &Stream{span: span, body: resp.Body, events: bufio.NewReader(resp.Body)}, nil
}

// Stream is a streamed chat completion. It is not safe for concurrent use.
type Stream struct {
	span   *loupe.LLMSpan
	body   io.ReadCloser
	events *bufio.Reader
	acc    accumulator
	err    error // set once the stream has ended: io.EOF or the failure
}

// Recv returns the next chunk. At the end of the stream it returns io.EOF,
// and after a failure the error, on this and every later call.
func (s *Stream) Recv() (ChatCompletionChunk, error) {
	if s.err != nil {
		return ChatCompletionChunk{}, s.err
	}
	data, err := s.nextData()
	switch {
	case err == io.EOF || (err == nil && data == "[DONE]"):
		s.finish(nil)
		return ChatCompletionChunk{}, s.err
	case err != nil:
		s.finish(fmt.Errorf("reading the chat completion stream: %w", err))
		return ChatCompletionChunk{}, s.err
	}
	var ev struct {
		ChatCompletionChunk
		Error *errorBody `json:"error"`
	}
	if err := json.Unmarshal([]byte(data), &ev); err != nil {
		s.finish(fmt.Errorf("decoding a chat completion chunk: %w", err))
		return ChatCompletionChunk{}, s.err
	}
	if ev.Error != nil {
		s.finish(ev.Error.apiError(0, []byte(data)))
		return ChatCompletionChunk{}, s.err
	}
	s.acc.add(ev.ChatCompletionChunk)
	return ev.ChatCompletionChunk, nil
}

// Close ends the stream, and its span with what was received so far.
func (s *Stream) Close() error {
	s.finish(nil)
	return nil
}

// Completion returns the chunks received so far merged into one completion,
// as the non-streamed call would have returned it.
func (s *Stream) Completion() ChatCompletion {
	return s.acc.completion()
}

// finish closes the body and ends the span, once.
func (s *Stream) finish(err error) {
	if s.err != nil {
		return
	}
	s.err = io.EOF
	if err != nil {
		s.err = err
	}
	s.body.Close()
	cc := s.acc.completion()
	var output json.RawMessage
	if b, mErr := json.Marshal(cc); mErr == nil {
		output = b
	}
	// Even a failed stream shows what the model said before it failed.
	s.span.SetResponse(llmResponse(cc, output))
	s.span.Finish(nil, err)
}

// nextData returns the data of the next server-sent event, skipping events
// without data (comments, keep-alives).
func (s *Stream) nextData() (string, error) {
	var data []string
	for {
		line, err := s.events.ReadString('\n')
		line = strings.TrimRight(line, "\r\n")
		if v, ok := strings.CutPrefix(line, "data:"); ok {
			data = append(data, strings.TrimPrefix(v, " "))
		}
		if (line == "" || err != nil) && len(data) > 0 {
			return strings.Join(data, "\n"), nil
		}
		if err != nil {
			return "", err
		}
	}
}

// accumulator merges chunks. Choices and tool calls are keyed by the index
// the server sends, so a hostile index cannot make it allocate.
type accumulator struct {
	head    ChatCompletionChunk // id, model, created, fingerprint, usage
	choices map[int]*choiceAcc
}

type choiceAcc struct {
	role      string
	content   strings.Builder
	toolCalls map[int]*ToolCall
	finish    string
}

func (a *accumulator) add(ch ChatCompletionChunk) {
	a.head.ID = cmp.Or(a.head.ID, ch.ID)
	a.head.Model = cmp.Or(ch.Model, a.head.Model)
	a.head.Created = cmp.Or(a.head.Created, ch.Created)
	a.head.SystemFingerprint = cmp.Or(ch.SystemFingerprint, a.head.SystemFingerprint)
	if ch.Usage != nil {
		a.head.Usage = ch.Usage
	}
	if a.choices == nil {
		a.choices = map[int]*choiceAcc{}
	}
	for _, cc := range ch.Choices {
		c := a.choices[cc.Index]
		if c == nil {
			c = &choiceAcc{toolCalls: map[int]*ToolCall{}}
			a.choices[cc.Index] = c
		}
		c.role = cmp.Or(cc.Delta.Role, c.role)
		c.content.WriteString(cc.Delta.Content)
		c.finish = cmp.Or(cc.FinishReason, c.finish)
		for _, d := range cc.Delta.ToolCalls {
			tc := c.toolCalls[d.Index]
			if tc == nil {
				tc = &ToolCall{}
				c.toolCalls[d.Index] = tc
			}
			// The id and type come once; the name and arguments may be
			// split across chunks.
			tc.ID = cmp.Or(tc.ID, d.ID)
			tc.Type = cmp.Or(tc.Type, d.Type)
			tc.Function.Name += d.Function.Name
			tc.Function.Arguments += d.Function.Arguments
		}
	}
}

func (a *accumulator) completion() ChatCompletion {
	cc := ChatCompletion{
		ID:                a.head.ID,
		Object:            "chat.completion",
		Created:           a.head.Created,
		Model:             a.head.Model,
		Usage:             a.head.Usage,
		SystemFingerprint: a.head.SystemFingerprint,
	}
	for _, i := range slices.Sorted(maps.Keys(a.choices)) {
		c := a.choices[i]
		msg := Message{Role: cmp.Or(c.role, "assistant"), Content: c.content.String()}
		for _, j := range slices.Sorted(maps.Keys(c.toolCalls)) {
			msg.ToolCalls = append(msg.ToolCalls, *c.toolCalls[j])
		}
		cc.Choices = append(cc.Choices, Choice{Index: i, Message: msg, FinishReason: c.finish})
	}
	return cc
}
