package agentgen

import (
	"fmt"
	"strconv"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

const systemPrompt = "You are the support assistant of a hosted database service. Answer from the " +
	"documentation only, cite the documents you used, and ask for the account id before changing anything."

// models are the (model, provider) pairs LLM spans name, so that cost and
// model breakdowns see more than one.
var models = [][2]string{
	{"gpt-4o-mini-2024-07-18", "openai"},
	{"gpt-4.1-2025-04-14", "openai"},
	{"claude-3-5-sonnet-20241022", "anthropic"},
}

// message is one chat message of an LLM call.
type message struct {
	role       string
	content    string
	call       *toolCall // an assistant message asking for a tool
	toolCallID string    // a tool message answering one
}

type toolCall struct {
	id, name, args string
}

// agentRun builds one agent run: an AGENT root whose LLM calls ask for
// tools (search_docs, which retrieves documents, and fetch_chunk) until a
// last LLM call answers. Now and then a tool fails with an exception.
func agentRun(b *builder, start time.Time) {
	g := b.g
	small := g.shape == Small
	question := "How do I " + g.words(g.between(8, 20)) + "?"
	root := b.add(-1, "agent.run", trace.SpanKindServer, start, start, nil)
	model := models[g.rng.IntN(len(models))]

	t := start.Add(b.ms(1, 5))
	history := []message{{role: "system", content: systemPrompt}, {role: "user", content: question}}
	lastTool := -1
	for round := range g.between(1, 3) {
		call := toolCall{id: fmt.Sprintf("call_%012x", g.rng.Uint64()>>16), name: "search_docs"}
		if round%2 == 1 {
			call.name = "fetch_chunk"
			call.args = fmt.Sprintf(`{"doc_id":"doc-%05d","chunk":%d}`, g.rng.IntN(100000), g.rng.IntN(40))
		} else {
			call.args = `{"query":"` + g.words(g.between(3, 7)) + `","top_k":4}`
		}
		t = llmCall(b, root, t, model, history, &call, "").Add(b.ms(1, 3))
		var result string
		lastTool, t, result = toolRun(b, root, t, call)
		t = t.Add(b.ms(1, 3))
		// Each call sees the question and the latest tool exchange, as an
		// agent that summarises older turns sends.
		history = append(history[:2], message{role: "assistant", call: &call},
			message{role: "tool", toolCallID: call.id, content: result})
	}
	answer := ""
	if !small {
		answer = g.words(g.between(40, 90))
	}
	end := llmCall(b, root, t, model, history, nil, answer).Add(b.ms(1, 5))

	r := &b.spans[root]
	r.End = end
	if small {
		r.Attrs = []attribute.KeyValue{attribute.String(KeySpanKind, "AGENT")}
	} else {
		r.Attrs = []attribute.KeyValue{
			attribute.String(KeySpanKind, "AGENT"),
			attribute.String(KeyAgentName, "support-agent"),
			attribute.String(KeyInputValue, question),
			attribute.String(KeyInputMime, MimeText),
			attribute.String(KeyOutputValue, answer),
			attribute.String(KeyOutputMime, MimeText),
			attribute.String(KeyMetadata, `{"tenant":"acme","channel":"web","prompt_version":"v7"}`),
			attribute.StringSlice(KeyTags, []string{"support", "bench"}),
		}
	}
	// Instrumentations copy the session (and the user) onto every span of the run.
	for i := range b.spans {
		s := &b.spans[i]
		s.Attrs = append(s.Attrs, attribute.String(KeySessionID, g.session))
		if !small {
			s.Attrs = append(s.Attrs, attribute.String(KeyUserID, g.user))
		}
	}
	if g.rng.IntN(15) == 0 {
		fail(b, lastTool)
	}
}

// llmCall adds an LLM span that either asks for call or answers with
// answer, and returns when it ended.
func llmCall(b *builder, parent int, start time.Time, model [2]string, history []message, call *toolCall, answer string) time.Time {
	g := b.g
	end := start.Add(b.ms(300, 2500))
	prompt := int64(g.between(900, 6000))
	completion := int64(g.between(20, 400))
	if g.shape == Small {
		b.add(parent, "llm.chat", trace.SpanKindClient, start, end, []attribute.KeyValue{
			attribute.String(KeySpanKind, "LLM"),
			attribute.String(KeyModelName, model[0]),
			attribute.Int64(KeyTokensTotal, prompt+completion),
		})
		return end
	}
	attrs := make([]attribute.KeyValue, 0, 40)
	attrs = append(attrs,
		attribute.String(KeySpanKind, "LLM"),
		attribute.String(KeyModelName, model[0]),
		attribute.String(KeyProvider, model[1]),
		attribute.String(KeySystem, model[1]),
		attribute.String(KeyInvocation, `{"temperature":0.2,"max_tokens":1024,"tool_choice":"auto"}`),
	)
	attrs = appendMessages(attrs, KeyInputMessages, history)
	out := message{role: "assistant", content: answer, call: call}
	attrs = appendMessages(attrs, KeyOutputMessages, []message{out})
	last := history[len(history)-1]
	attrs = append(attrs,
		attribute.String(KeyInputValue, last.content),
		attribute.String(KeyInputMime, MimeText),
		attribute.Int64(KeyTokensPrompt, prompt),
		attribute.Int64(KeyTokensComplete, completion),
		attribute.Int64(KeyTokensTotal, prompt+completion),
		attribute.Int64(KeyTokensCache, prompt/2),
	)
	if call != nil {
		attrs = append(attrs, attribute.String(KeyOutputValue, call.args), attribute.String(KeyOutputMime, MimeJSON))
	} else {
		attrs = append(attrs, attribute.String(KeyOutputValue, answer), attribute.String(KeyOutputMime, MimeText))
	}
	b.add(parent, "llm.chat", trace.SpanKindClient, start, end, attrs)
	return end
}

// appendMessages writes msgs as the flattened llm.*_messages.{i}.message.* keys.
func appendMessages(attrs []attribute.KeyValue, prefix string, msgs []message) []attribute.KeyValue {
	for i, m := range msgs {
		p := prefix + "." + strconv.Itoa(i) + ".message."
		attrs = append(attrs, attribute.String(p+"role", m.role))
		if m.content != "" {
			attrs = append(attrs, attribute.String(p+"content", m.content))
		}
		if m.toolCallID != "" {
			attrs = append(attrs, attribute.String(p+"tool_call_id", m.toolCallID))
		}
		if m.call != nil {
			attrs = append(attrs,
				attribute.String(p+"tool_calls.0.tool_call.id", m.call.id),
				attribute.String(p+"tool_calls.0.tool_call.function.name", m.call.name),
				attribute.String(p+"tool_calls.0.tool_call.function.arguments", m.call.args))
		}
	}
	return attrs
}

// toolRun adds the TOOL span of call (with a RETRIEVER child for
// search_docs) and returns its index, when it ended and what it returned.
func toolRun(b *builder, parent int, start time.Time, call toolCall) (int, time.Time, string) {
	g := b.g
	small := g.shape == Small
	var attrs []attribute.KeyValue
	if small {
		attrs = []attribute.KeyValue{attribute.String(KeySpanKind, "TOOL"), attribute.String(KeyToolName, call.name)}
	}
	if call.name == "fetch_chunk" {
		end := start.Add(b.ms(5, 80))
		result := ""
		if !small {
			result = g.words(g.between(30, 60))
			attrs = toolAttrs(call, "Returns one chunk of a document by id.", `{"doc_id":"string","chunk":"integer"}`, result)
		}
		return b.add(parent, call.name, trace.SpanKindInternal, start, end, attrs), end, result
	}

	end := start.Add(b.ms(40, 250))
	tool := b.add(parent, call.name, trace.SpanKindInternal, start, end, attrs)
	rStart := start.Add(b.ms(1, 5))
	rEnd := rStart.Add(end.Sub(rStart) * 3 / 4)
	n := g.between(3, 5)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("doc-%05d", g.rng.IntN(100000))
	}
	if small {
		b.add(tool, "retrieval", trace.SpanKindClient, rStart, rEnd, []attribute.KeyValue{
			attribute.String(KeySpanKind, "RETRIEVER"),
			attribute.String(KeyDocuments+".0.document.id", ids[0]),
		})
		return tool, end, ""
	}
	rattrs := make([]attribute.KeyValue, 0, 3+3*n)
	rattrs = append(rattrs, attribute.String(KeySpanKind, "RETRIEVER"),
		attribute.String(KeyInputValue, call.args), attribute.String(KeyInputMime, MimeJSON))
	score := 0.95 - g.rng.Float64()*0.1
	result := ""
	for i, id := range ids {
		p := KeyDocuments + "." + strconv.Itoa(i) + ".document."
		rattrs = append(rattrs,
			attribute.String(p+"id", id),
			attribute.Float64(p+"score", score),
			attribute.String(p+"content", g.words(g.between(16, 30))))
		result += fmt.Sprintf("%s (%.2f); ", id, score)
		score -= g.rng.Float64() * 0.15
	}
	b.add(tool, "retrieval", trace.SpanKindClient, rStart, rEnd, rattrs)
	b.spans[tool].Attrs = toolAttrs(call, "Searches the documentation and returns the best matching documents.",
		`{"query":"string","top_k":"integer"}`, result)
	return tool, end, result
}

func toolAttrs(call toolCall, desc, params, result string) []attribute.KeyValue {
	return []attribute.KeyValue{
		attribute.String(KeySpanKind, "TOOL"),
		attribute.String(KeyToolName, call.name),
		attribute.String(KeyToolDesc, desc),
		attribute.String(KeyToolParams, params),
		attribute.String(KeyInputValue, call.args),
		attribute.String(KeyInputMime, MimeJSON),
		attribute.String(KeyOutputValue, result),
		attribute.String(KeyOutputMime, MimeText),
	}
}

// fail turns span i into an error recorded as OpenTelemetry records an exception.
func fail(b *builder, i int) {
	s := &b.spans[i]
	s.Err = "upstream timed out"
	attrs := []attribute.KeyValue{
		attribute.String("exception.type", "TimeoutError"),
		attribute.String("exception.message", "upstream timed out after 30s"),
	}
	if b.g.shape == Agent {
		attrs = append(attrs, attribute.String("exception.stacktrace",
			"Traceback (most recent call last):\n  File \"agent/tools.py\", line 88, in "+s.Name+
				"\n    resp = client.get(url, timeout=30)\nTimeoutError: upstream timed out after 30s"))
	}
	s.Events = append(s.Events, Event{Name: "exception", Time: s.End, Attrs: attrs})
}
