package loupe

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// EmbeddingRequest describes a call that computes embeddings.
type EmbeddingRequest struct {
	Model string
	// Texts are the inputs, when they are text (not token ids).
	Texts []string
	// InvocationParameters are the request parameters other than the input,
	// recorded as JSON.
	InvocationParameters any
}

// EmbeddingResponse describes the result of an embedding call.
type EmbeddingResponse struct {
	// Model is the model that answered; it replaces the requested name.
	Model string
	// Vectors are in the order of the request's texts.
	Vectors [][]float64
	Tokens  TokenCount
}

// EmbeddingSpan is the span of one embedding call.
type EmbeddingSpan struct {
	*Span
}

// StartEmbedding starts an EMBEDDING span. The OpenInference spec names
// these spans "CreateEmbeddings". Record the vectors with SetResponse.
func (t *Tracer) StartEmbedding(ctx context.Context, name string, req EmbeddingRequest, opts ...trace.SpanStartOption) (context.Context, *EmbeddingSpan) {
	var attrs []attribute.KeyValue
	attrs = appendNonEmpty(attrs, oi.EmbeddingModelName, req.Model)
	if kv, ok := jsonAttr(oi.EmbeddingInvocationParameters, req.InvocationParameters); ok {
		attrs = append(attrs, kv)
	}
	for i, text := range req.Texts {
		attrs = append(attrs, attribute.String(item(oi.EmbeddingEmbeddings, i, oi.EmbeddingText), text))
	}
	ctx, span := t.start(ctx, name, oi.SpanKindEmbedding, attrs, opts)
	return ctx, &EmbeddingSpan{span}
}

// SetResponse records the vectors, the model that answered and the usage.
func (s *EmbeddingSpan) SetResponse(resp EmbeddingResponse) {
	var attrs []attribute.KeyValue
	attrs = appendNonEmpty(attrs, oi.EmbeddingModelName, resp.Model)
	for i, v := range resp.Vectors {
		attrs = append(attrs, attribute.Float64Slice(item(oi.EmbeddingEmbeddings, i, oi.EmbeddingVector), v))
	}
	attrs = append(attrs, resp.Tokens.attributes()...)
	s.SetAttributes(attrs...)
}
