package loupe

import (
	"context"

	"go.opentelemetry.io/otel/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// StartChain starts a CHAIN span: a step of glue or orchestration, often the
// root of a request. A nil input sets no input.value.
func (t *Tracer) StartChain(ctx context.Context, name string, input any, opts ...trace.SpanStartOption) (context.Context, *Span) {
	return t.start(ctx, name, oi.SpanKindChain, valueAttrs(oi.InputValue, oi.InputMimeType, input), opts)
}

// StartAgent starts an AGENT span: a reasoning loop that wraps LLM and TOOL
// spans. Set agent.name or graph.node.* with SetAttributes when useful.
func (t *Tracer) StartAgent(ctx context.Context, name string, input any, opts ...trace.SpanStartOption) (context.Context, *Span) {
	return t.start(ctx, name, oi.SpanKindAgent, valueAttrs(oi.InputValue, oi.InputMimeType, input), opts)
}

// StartGuardrail starts a GUARDRAIL span: a moderation check on input or
// output that may block or rewrite it.
func (t *Tracer) StartGuardrail(ctx context.Context, name string, input any, opts ...trace.SpanStartOption) (context.Context, *Span) {
	return t.start(ctx, name, oi.SpanKindGuardrail, valueAttrs(oi.InputValue, oi.InputMimeType, input), opts)
}

// StartEvaluator starts an EVALUATOR span: a judgement of a model output,
// such as an LLM-as-judge call or a code metric. Its output is the verdict.
func (t *Tracer) StartEvaluator(ctx context.Context, name string, input any, opts ...trace.SpanStartOption) (context.Context, *Span) {
	return t.start(ctx, name, oi.SpanKindEvaluator, valueAttrs(oi.InputValue, oi.InputMimeType, input), opts)
}
