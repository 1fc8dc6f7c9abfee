// Package loupe instruments Go applications with OpenInference spans for
// Loupe (and any other OpenInference backend such as Arize Phoenix).
//
// Register sets up an OpenTelemetry tracer provider that exports OTLP to
// Loupe using the same environment variables as Phoenix's helpers. A Tracer
// built from any tracer provider then starts typed spans for every
// OpenInference kind (LLM, CHAIN, AGENT, TOOL, RETRIEVER, RERANKER, EMBEDDING,
// GUARDRAIL, EVALUATOR) and writes the attributes Loupe reads. Session, user,
// metadata, tags and prompt template set on a context.Context with
// WithSession and friends are copied onto every span started under it by the
// ContextProcessor that Register installs.
package loupe
