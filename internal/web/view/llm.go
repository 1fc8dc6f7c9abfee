package view

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// LLM is the reading of an LLM span.
type LLM struct {
	Model, Provider, System, FinishReason string
	Input, Output                         []Message
	Tools                                 []ToolDef
	Invocation                            Text
	Template                              *Template
}

// Message is one chat message.
type Message struct {
	Anchor     string // element id of the message
	Role       string
	Name       string
	Content    Text
	Parts      []Part
	ToolCalls  []ToolCall
	ToolCallID string // on a tool result: the call it answers
	CallAnchor string // element id of that call, when it is in the transcript
}

// Part is one part of a multi-part message.
type Part struct {
	Type     string
	Text     Text
	ImageURL string
}

// ToolCall is a function call a model asked for.
type ToolCall struct {
	Anchor       string
	ID           string
	Name         string
	Arguments    Text
	ResultAnchor string // element id of the tool message answering it
}

// ToolDef is a tool offered to the model.
type ToolDef struct {
	Name, Description string
	Schema            Text
}

// Template is a prompt template with its variables.
type Template struct {
	Version   string
	Segments  []Segment
	Variables []KV
}

// Segment is a run of template text; Var marks a placeholder.
type Segment struct {
	Text string
	Var  bool
}

func readLLM(a Attrs, limit int) *LLM {
	l := &LLM{
		Model:        a.Str("llm.model_name"),
		Provider:     a.Str("llm.provider"),
		System:       a.Str("llm.system"),
		FinishReason: a.Str("llm.finish_reason"),
		Input:        readMessages(a, "llm.input_messages", "in", limit),
		Output:       readMessages(a, "llm.output_messages", "out", limit),
		Template:     readTemplate(a),
	}
	if a.Has("llm.invocation_parameters") {
		l.Invocation = NewText(a.Str("llm.invocation_parameters"), "llm.invocation_parameters", limit, true)
	}
	for _, it := range a.List("llm.tools") {
		schema := it.Str("tool.json_schema")
		def := ToolDef{Schema: NewText(schema, it.Key+"tool.json_schema", limit, true)}
		def.Name, def.Description = toolNameFromSchema(schema)
		if n := it.Str("tool.name"); n != "" {
			def.Name = n
		}
		if d := it.Str("tool.description"); d != "" {
			def.Description = d
		}
		l.Tools = append(l.Tools, def)
	}
	linkToolResults(l.Input, l.Output)
	return l
}

func readMessages(a Attrs, prefix, side string, limit int) []Message {
	var out []Message
	for _, it := range a.List(prefix) {
		m := Message{
			Anchor:     fmt.Sprintf("msg-%s-%d", side, it.Index),
			Role:       it.Str("message.role"),
			Name:       it.Str("message.name"),
			ToolCallID: it.Str("message.tool_call_id"),
		}
		if it.Has("message.content") {
			m.Content = NewText(it.Str("message.content"), it.Key+"message.content", limit, false)
		}
		for _, p := range it.List("message.contents") {
			part := Part{Type: p.Str("message_content.type")}
			if p.Has("message_content.text") {
				part.Text = NewText(p.Str("message_content.text"), it.Key+p.Key+"message_content.text", limit, false)
			}
			part.ImageURL = p.Str("message_content.image.image.url")
			if part.Type == "" && part.ImageURL != "" {
				part.Type = "image"
			}
			m.Parts = append(m.Parts, part)
		}
		for _, c := range it.List("message.tool_calls") {
			m.ToolCalls = append(m.ToolCalls, ToolCall{
				Anchor:    fmt.Sprintf("call-%s-%d-%d", side, it.Index, c.Index),
				ID:        c.Str("tool_call.id"),
				Name:      c.Str("tool_call.function.name"),
				Arguments: NewText(c.Str("tool_call.function.arguments"), it.Key+c.Key+"tool_call.function.arguments", limit, true),
			})
		}
		if m.Role == "" && len(m.ToolCalls) > 0 {
			m.Role = "assistant"
		}
		out = append(out, m)
	}
	return out
}

// linkToolResults connects each tool-result message to the call it answers
// (by tool_call_id), in both directions, across input and output.
func linkToolResults(in, out []Message) {
	calls := map[string]*ToolCall{}
	for _, msgs := range [][]Message{in, out} {
		for i := range msgs {
			for k := range msgs[i].ToolCalls {
				if c := &msgs[i].ToolCalls[k]; c.ID != "" {
					calls[c.ID] = c
				}
			}
		}
	}
	for _, msgs := range [][]Message{in, out} {
		for i := range msgs {
			m := &msgs[i]
			if c, ok := calls[m.ToolCallID]; ok && m.ToolCallID != "" {
				m.CallAnchor = c.Anchor
				c.ResultAnchor = m.Anchor
				if m.Name == "" {
					m.Name = c.Name
				}
			}
		}
	}
}

func toolNameFromSchema(schema string) (name, description string) {
	var s struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Function    struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"function"`
	}
	if json.Unmarshal([]byte(schema), &s) != nil {
		return "", ""
	}
	if s.Function.Name != "" {
		return s.Function.Name, s.Function.Description
	}
	return s.Name, s.Description
}

// placeholder matches {name}, {{name}} and {{ name }} as template engines write them.
var placeholder = regexp.MustCompile(`\{\{\s*[\w.\-]+\s*\}\}|\{[\w.\-]+\}`)

// SplitTemplate cuts template text into literal runs and placeholders.
func SplitTemplate(tmpl string) []Segment {
	var out []Segment
	last := 0
	for _, m := range placeholder.FindAllStringIndex(tmpl, -1) {
		if m[0] > last {
			out = append(out, Segment{Text: tmpl[last:m[0]]})
		}
		out = append(out, Segment{Text: tmpl[m[0]:m[1]], Var: true})
		last = m[1]
	}
	if last < len(tmpl) {
		out = append(out, Segment{Text: tmpl[last:]})
	}
	return out
}

func readTemplate(a Attrs) *Template {
	tmpl := a.Str("llm.prompt_template.template")
	vars := a.Str("llm.prompt_template.variables")
	// Variables are a JSON object in a string, by OpenInference's
	// definition; a map value reads the same (Str gives its JSON), and a
	// map some exporters flatten comes as one key per variable.
	flat := a.under("llm.prompt_template.variables.")
	if tmpl == "" && vars == "" && len(flat) == 0 {
		return nil
	}
	t := &Template{Version: a.Str("llm.prompt_template.version"), Segments: SplitTemplate(tmpl)}
	var m map[string]any
	if err := json.Unmarshal([]byte(vars), &m); err == nil {
		for k, v := range m {
			t.Variables = append(t.Variables, KV{Key: k, Value: valueText(v)})
		}
		sort.Slice(t.Variables, func(i, j int) bool { return t.Variables[i].Key < t.Variables[j].Key })
	} else if strings.TrimSpace(vars) != "" {
		t.Variables = []KV{{Key: "variables", Value: vars}}
	}
	t.Variables = append(t.Variables, flat...)
	return t
}

// CutOff reports whether the model stopped because it ran out of tokens
// (max_tokens or the context), not because it had finished: the answer is
// truncated. Providers spell it differently: OpenAI "length", Anthropic
// "max_tokens", Gemini "MAX_TOKENS", the Responses API
// "max_output_tokens".
func (l *LLM) CutOff() bool {
	switch strings.ToLower(strings.TrimSpace(l.FinishReason)) {
	case "length", "max_tokens", "max_output_tokens", "model_length", "max_tokens_reached":
		return true
	}
	return false
}

// A long input history shows its opening system messages and its last
// keptTail messages; the turns between fold under "show N earlier
// messages", so the newest exchange is on screen without scrolling.
const (
	foldAbove = 8
	keptTail  = 4
)

// InputHead is the messages shown above the fold: all of them when the
// history is short, else the leading system messages.
func (l *LLM) InputHead() []Message {
	lead, fold := l.fold()
	if !fold {
		return l.Input
	}
	return l.Input[:lead]
}

// InputEarlier is the messages folded away; none for a short history.
func (l *LLM) InputEarlier() []Message {
	lead, fold := l.fold()
	if !fold {
		return nil
	}
	return l.Input[lead : len(l.Input)-keptTail]
}

// InputTail is the newest messages, shown below the fold.
func (l *LLM) InputTail() []Message {
	if _, fold := l.fold(); !fold {
		return nil
	}
	return l.Input[len(l.Input)-keptTail:]
}

func (l *LLM) fold() (lead int, fold bool) {
	for lead < len(l.Input) && strings.EqualFold(l.Input[lead].Role, "system") {
		lead++
	}
	return lead, len(l.Input)-lead-keptTail >= foldAbove-keptTail
}

// CopyKey is the attribute whose whole value the message's copy button
// copies: its content, else its first text part; "" when it has neither
// (a message that only calls tools).
func (m Message) CopyKey() string {
	if !m.Content.Empty() {
		return m.Content.Key
	}
	for _, p := range m.Parts {
		if !p.Text.Empty() {
			return p.Text.Key
		}
	}
	return ""
}
