package span

import (
	"cmp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// PreviewLength bounds a preview, in bytes: enough for a table cell and a
// chat bubble summary.
const PreviewLength = 1000

// Preview cuts s to PreviewLength bytes at a character boundary, marking
// the cut with an ellipsis.
func Preview(s string) string {
	if cut, ok := CutText(s, PreviewLength); ok {
		return cut + ellipsis
	}
	return s
}

const ellipsis = "…"

// CutText cuts s to at most n bytes at a character boundary, and reports
// whether it cut.
func CutText(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}

// isPreviewOf reports whether p is Preview(value), without making it.
func isPreviewOf(p, value string) bool {
	cut, ok := CutText(value, PreviewLength)
	if !ok {
		return p == value
	}
	return len(p) == len(cut)+len(ellipsis) && p[:len(cut)] == cut && p[len(cut):] == ellipsis
}

// The previews are what lists show of a span, a trace (its root span) and
// a session: what a person reads, not the request an instrumentation
// recorded. For a model call input.value is usually the whole request as
// JSON ({"messages": [{"role": …) and output.value the whole response; the
// messages say it plainly. So when a value is such a document (its mime
// type says JSON, or it opens as an object or a list), or is missing, the
// input preview is the last user message and the output preview the
// model's last message, its text and the tools it called, however the
// messages came. A value in plain text is kept: it is what the application
// (or an instrumentation such as OpenInference's Go middleware, which puts
// the last user message there) chose to say the input or output was.

// previewTexts are the texts InputPreview and OutputPreview cut. The input
// is input.value in plain text, else the last user message of
// llm.input_messages, else the last legacy prompt (llm.prompts), else
// input.value, else the last input message that says anything, of any
// role. The output is output.value in plain text, else the last output
// message that says anything (its text and the tool calls it made), else
// the first legacy choice (llm.choices), else output.value.
func previewTexts(a Attributes, v *View) (input, output string) {
	const in, out = "llm.input_messages.", "llm.output_messages."
	input, output = plainText(v.InputValue, v.InputMimeType), plainText(v.OutputValue, v.OutputMimeType)
	if input != "" && output != "" {
		return input, output // most spans: no need to look for messages
	}
	// One pass finds the messages to read.
	lastUser, lastIn, lastOut := -1, -1, -1
	var prompts, choices bool
	for i := range a {
		key := a[i].Key
		if !strings.HasPrefix(key, "llm.") {
			continue
		}
		if n, field, ok := listItem(key, in); ok {
			if field == "message.role" && n > lastUser && isUserRole(a[i].Value.AsString()) {
				lastUser = n
			}
			if n > lastIn && says(field, a[i].Value) {
				lastIn = n
			}
		} else if n, field, ok := listItem(key, out); ok {
			if n > lastOut && says(field, a[i].Value) {
				lastOut = n
			}
		} else {
			prompts = prompts || strings.HasPrefix(key, "llm.prompts.")
			choices = choices || strings.HasPrefix(key, "llm.choices.")
		}
	}
	if input == "" {
		input = messageText(a, in, lastUser, false)
	}
	if input == "" && prompts {
		input = listText(a, "llm.prompts.", "prompt.text", true)
	}
	if input == "" {
		input = v.InputValue
	}
	if input == "" {
		input = messageText(a, in, lastIn, false)
	}
	if output == "" {
		output = messageText(a, out, lastOut, true)
	}
	if output == "" && choices {
		output = listText(a, "llm.choices.", "completion.text", false)
	}
	if output == "" {
		output = v.OutputValue
	}
	return input, output
}

// plainText is value when it is text rather than a JSON document, else "".
func plainText(value, mime string) string {
	if mime == MimeJSON {
		return ""
	}
	for i := 0; i < len(value); i++ {
		switch value[i] {
		case ' ', '\t', '\n', '\r':
			continue
		case '{', '[':
			return ""
		}
		return value
	}
	return ""
}

func isUserRole(role string) bool {
	return strings.EqualFold(role, "user") || strings.EqualFold(role, "human")
}

// listItem splits a key of the flattened list under prefix ("….N.field")
// into its index and field.
func listItem(key, prefix string) (int, string, bool) {
	rest, ok := strings.CutPrefix(key, prefix)
	if !ok {
		return 0, "", false
	}
	idx, field, ok := strings.Cut(rest, ".")
	if !ok {
		return 0, "", false
	}
	n, err := strconv.Atoi(idx)
	if err != nil || n < 0 {
		return 0, "", false
	}
	return n, field, true
}

// says reports whether field, of a message, holds text, an image or a
// tool call (or a legacy function call).
func says(field string, v Value) bool {
	switch {
	case field == "message.content":
		return v.AsString() != ""
	case strings.HasPrefix(field, "message.contents."):
		return strings.HasSuffix(field, ".message_content.text") || strings.HasSuffix(field, ".message_content.image.image.url")
	case strings.HasPrefix(field, "message.tool_calls."):
		return strings.HasSuffix(field, ".tool_call.function.name")
	}
	return field == "message.function_call_name"
}

// messageText is message n of the list under prefix as one text: its
// content, else its parts (an image as "[image]"), then, with calls, each
// tool call as name(arguments), a line each.
func messageText(a Attributes, prefix string, n int, calls bool) string {
	if n < 0 {
		return ""
	}
	var content string
	type piece struct {
		n    int
		text string
	}
	var parts []piece
	var toolCalls []callText
	legacy := callText{n: -1}
	for i := range a {
		m, field, ok := listItem(a[i].Key, prefix)
		if !ok || m != n {
			continue
		}
		if field, ok = strings.CutPrefix(field, "message."); !ok {
			continue
		}
		switch {
		case field == "content":
			content = a[i].Value.AsString()
		case strings.HasPrefix(field, "contents."):
			j, sub, ok := listItem(field, "contents.")
			switch {
			case !ok:
			case sub == "message_content.text":
				parts = append(parts, piece{j, a[i].Value.AsString()})
			case sub == "message_content.image.image.url":
				parts = append(parts, piece{j, "[image]"})
			}
		case calls && strings.HasPrefix(field, "tool_calls."):
			k, sub, ok := listItem(field, "tool_calls.")
			if !ok || sub != "tool_call.function.name" && sub != "tool_call.function.arguments" {
				continue
			}
			at := slices.IndexFunc(toolCalls, func(c callText) bool { return c.n == k })
			if at < 0 {
				toolCalls = append(toolCalls, callText{n: k})
				at = len(toolCalls) - 1
			}
			if sub == "tool_call.function.name" {
				toolCalls[at].name = a[i].Value.AsString()
			} else {
				toolCalls[at].args = a[i].Value.AsString()
			}
		case calls && field == "function_call_name":
			legacy.name = a[i].Value.AsString()
		case calls && field == "function_call_arguments_json":
			legacy.args = a[i].Value.AsString()
		}
	}
	if legacy.name != "" {
		toolCalls = append(toolCalls, legacy)
	}
	if content != "" && len(toolCalls) == 0 {
		return content
	}
	var lines []string
	if content != "" {
		lines = append(lines, content)
	} else {
		slices.SortFunc(parts, func(x, y piece) int { return cmp.Compare(x.n, y.n) })
		for _, p := range parts {
			if p.text != "" {
				lines = append(lines, p.text)
			}
		}
	}
	slices.SortFunc(toolCalls, func(x, y callText) int { return cmp.Compare(x.n, y.n) })
	for _, c := range toolCalls {
		if c.name != "" {
			lines = append(lines, c.name+"("+c.args+")")
		}
	}
	return strings.Join(lines, "\n")
}

// callText is a tool call of a message, for its preview.
type callText struct {
	n          int
	name, args string
}

// listText is the field of the first (or, with last, the last) item of the
// flattened list under prefix that has one.
func listText(a Attributes, prefix, field string, last bool) string {
	best, text := -1, ""
	for i := range a {
		n, f, ok := listItem(a[i].Key, prefix)
		if !ok || f != field {
			continue
		}
		s := a[i].Value.AsString()
		if s != "" && (best < 0 || last && n > best || !last && n < best) {
			best, text = n, s
		}
	}
	return text
}

// KeptPreviews are the previews a store keeps beside a span's values: each
// is "" when it is only its value's own preview, which the store reads back
// from the value (ReadPreview) rather than keep the text twice. Spans
// without messages, most of them, keep none.
func (v *View) KeptPreviews() (input, output string) {
	if !isPreviewOf(v.InputPreview, v.InputValue) {
		input = v.InputPreview
	}
	if !isPreviewOf(v.OutputPreview, v.OutputValue) {
		output = v.OutputPreview
	}
	return input, output
}

// ReadPreview is a preview as a store reads it back: the one it kept
// (KeptPreviews), or else its value's own. Spans stored before previews
// were kept read as their values.
func ReadPreview(kept string, isKept bool, value string) string {
	if isKept {
		return kept
	}
	return Preview(value)
}
