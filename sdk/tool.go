package loupe

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// Tool describes a function a model can call: in LLMRequest.Tools the tools
// offered to the model, in StartTool the tool being run.
type Tool struct {
	Name        string
	Description string
	// Parameters is the JSON Schema of the arguments: a map, a struct, or
	// JSON text (string, []byte, json.RawMessage).
	Parameters any
}

// StartTool starts a TOOL span named after the tool. The arguments become
// input.value (pass the model's argument string as json.RawMessage to have it
// recorded as JSON); the result goes to Finish or SetOutput. Pass
// ToolCallID to link the run to the model's tool call.
func (t *Tracer) StartTool(ctx context.Context, tool Tool, arguments any, opts ...trace.SpanStartOption) (context.Context, *Span) {
	attrs := []attribute.KeyValue{attribute.String(oi.ToolName, tool.Name)}
	if tool.Description != "" {
		attrs = append(attrs, attribute.String(oi.ToolDescription, tool.Description))
	}
	if kv, ok := jsonAttr(oi.ToolParameters, tool.Parameters); ok {
		attrs = append(attrs, kv)
	}
	attrs = append(attrs, valueAttrs(oi.InputValue, oi.InputMimeType, arguments)...)
	return t.start(ctx, tool.Name, oi.SpanKindTool, attrs, opts)
}

// ToolCallID records on a TOOL span the id of the model's tool call that the
// run answers (tool.id), for StartTool's opts.
func ToolCallID(id string) trace.SpanStartOption {
	return trace.WithAttributes(attribute.String(oi.ToolID, id))
}

// toolSchema is the OpenAI function-tool shape, which is what
// llm.tools.{i}.tool.json_schema holds in practice.
type toolSchema struct {
	Type     string         `json:"type"`
	Function toolSchemaFunc `json:"function"`
}

type toolSchemaFunc struct {
	Name        string `json:"name"`
	Description string `json:"description,omitempty"`
	Parameters  any    `json:"parameters,omitempty"`
}

func (tool Tool) jsonSchema() toolSchema {
	params := tool.Parameters
	switch p := params.(type) {
	case string:
		params = rawJSON(p)
	case []byte:
		params = rawJSON(string(p))
	}
	return toolSchema{Type: "function", Function: toolSchemaFunc{Name: tool.Name, Description: tool.Description, Parameters: params}}
}
