package loupe

import (
	"context"
	"strconv"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// Document is a retrieved or reranked document.
type Document struct {
	ID string
	// Score is the relevance score; zero is taken as "no score" and left out.
	Score    float64
	Content  string
	Metadata map[string]any
}

// RetrieverSpan is the span of a fetch from a vector store, search engine or
// database.
type RetrieverSpan struct {
	*Span
}

// StartRetriever starts a RETRIEVER span; the query becomes input.value.
// Record the results with SetDocuments.
func (t *Tracer) StartRetriever(ctx context.Context, name string, query any, opts ...trace.SpanStartOption) (context.Context, *RetrieverSpan) {
	ctx, span := t.start(ctx, name, oi.SpanKindRetriever, valueAttrs(oi.InputValue, oi.InputMimeType, query), opts)
	return ctx, &RetrieverSpan{span}
}

// SetDocuments records the retrieved documents (retrieval.documents.*).
func (s *RetrieverSpan) SetDocuments(docs []Document) {
	s.SetAttributes(documentAttrs(oi.RetrievalDocuments, docs)...)
}

// RerankRequest describes a reranking call.
type RerankRequest struct {
	Query     string
	Model     string
	TopK      int
	Documents []Document // the candidates
}

// RerankerSpan is the span of a call that reorders candidate documents by
// relevance.
type RerankerSpan struct {
	*Span
}

// StartReranker starts a RERANKER span with the query, model, top k and input
// documents. Record the reranked documents with SetDocuments.
func (t *Tracer) StartReranker(ctx context.Context, name string, req RerankRequest, opts ...trace.SpanStartOption) (context.Context, *RerankerSpan) {
	var attrs []attribute.KeyValue
	attrs = appendNonEmpty(attrs, oi.RerankerQuery, req.Query)
	attrs = appendNonEmpty(attrs, oi.RerankerModelName, req.Model)
	if req.TopK > 0 {
		attrs = append(attrs, attribute.Int(oi.RerankerTopK, req.TopK))
	}
	attrs = append(attrs, documentAttrs(oi.RerankerInputDocuments, req.Documents)...)
	if req.Query != "" {
		attrs = append(attrs, valueAttrs(oi.InputValue, oi.InputMimeType, req.Query)...)
	}
	ctx, span := t.start(ctx, name, oi.SpanKindReranker, attrs, opts)
	return ctx, &RerankerSpan{span}
}

// SetDocuments records the reranked documents (reranker.output_documents.*).
func (s *RerankerSpan) SetDocuments(docs []Document) {
	s.SetAttributes(documentAttrs(oi.RerankerOutputDocuments, docs)...)
}

func documentAttrs(list string, docs []Document) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4*len(docs))
	for i, d := range docs {
		prefix := list + "." + strconv.Itoa(i) + "."
		attrs = appendNonEmpty(attrs, prefix+oi.DocumentID, d.ID)
		if d.Score != 0 {
			attrs = append(attrs, attribute.Float64(prefix+oi.DocumentScore, d.Score))
		}
		attrs = appendNonEmpty(attrs, prefix+oi.DocumentContent, d.Content)
		if kv, ok := jsonAttr(prefix+oi.DocumentMetadata, d.Metadata); ok {
			attrs = append(attrs, kv)
		}
	}
	return attrs
}
