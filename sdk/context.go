package loupe

import (
	"context"
	"slices"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

// Context attributes live in the context.Context, not in baggage, so they
// never leave the process. OpenTelemetry spans do not inherit attributes from
// their parents; the ContextProcessor copies these onto every span instead.

type contextAttrsKey struct{}

// WithSession returns a context whose spans carry session.id, which groups
// the traces of one conversation. An empty id removes it.
func WithSession(ctx context.Context, id string) context.Context {
	return withContextAttrs(ctx, []string{oi.SessionID}, stringAttr(oi.SessionID, id)...)
}

// WithUser returns a context whose spans carry user.id. An empty id removes it.
func WithUser(ctx context.Context, id string) context.Context {
	return withContextAttrs(ctx, []string{oi.UserID}, stringAttr(oi.UserID, id)...)
}

// WithMetadata returns a context whose spans carry metadata, recorded as
// JSON. It replaces metadata set further out; nil removes it.
func WithMetadata(ctx context.Context, metadata map[string]any) context.Context {
	var kvs []attribute.KeyValue
	if kv, ok := jsonAttr(oi.Metadata, metadata); ok {
		kvs = append(kvs, kv)
	}
	return withContextAttrs(ctx, []string{oi.Metadata}, kvs...)
}

// WithTags returns a context whose spans carry tag.tags. It replaces tags
// set further out; no tags removes them.
func WithTags(ctx context.Context, tags ...string) context.Context {
	var kvs []attribute.KeyValue
	if len(tags) > 0 {
		kvs = append(kvs, attribute.StringSlice(oi.TagTags, slices.Clone(tags)))
	}
	return withContextAttrs(ctx, []string{oi.TagTags}, kvs...)
}

// WithPromptTemplate returns a context whose spans carry the prompt template,
// its version and its variables (as JSON). It replaces a template set
// further out.
func WithPromptTemplate(ctx context.Context, pt PromptTemplate) context.Context {
	keys := []string{oi.LLMPromptTemplate, oi.LLMPromptTemplateVersion, oi.LLMPromptTemplateVariables}
	return withContextAttrs(ctx, keys, pt.attributes()...)
}

// AttributesFromContext returns the attributes set on ctx by WithSession,
// WithUser, WithMetadata, WithTags and WithPromptTemplate, for spans that do
// not go through a tracer provider with the ContextProcessor.
func AttributesFromContext(ctx context.Context) []attribute.KeyValue {
	return slices.Clone(contextAttrs(ctx))
}

func contextAttrs(ctx context.Context) []attribute.KeyValue {
	kvs, _ := ctx.Value(contextAttrsKey{}).([]attribute.KeyValue)
	return kvs
}

// withContextAttrs stores a new slice: the one in ctx is shared with every
// context derived from it and must not change.
func withContextAttrs(ctx context.Context, replace []string, add ...attribute.KeyValue) context.Context {
	old := contextAttrs(ctx)
	next := make([]attribute.KeyValue, 0, len(old)+len(add))
	for _, kv := range old {
		if !slices.Contains(replace, string(kv.Key)) {
			next = append(next, kv)
		}
	}
	next = append(next, add...)
	return context.WithValue(ctx, contextAttrsKey{}, next)
}

func stringAttr(key, value string) []attribute.KeyValue {
	return appendNonEmpty(nil, key, value)
}

// NewContextProcessor returns a span processor that copies the context
// attributes (WithSession, WithUser, …) onto every span started under them,
// including spans from other instrumentation. Attributes the span was started
// with win over the context. Register installs it; add it with
// sdktrace.WithSpanProcessor when building a tracer provider by hand.
func NewContextProcessor() sdktrace.SpanProcessor {
	return contextProcessor{}
}

type contextProcessor struct{}

func (contextProcessor) OnStart(ctx context.Context, s sdktrace.ReadWriteSpan) {
	kvs := contextAttrs(ctx)
	if len(kvs) == 0 {
		return
	}
	existing := s.Attributes()
	// A template, its version and its variables belong together: a span
	// with a template of its own takes none of the context's.
	ownTemplate := slices.ContainsFunc(existing, isPromptTemplateKey)
	missing := make([]attribute.KeyValue, 0, len(kvs))
	for _, kv := range kvs {
		if ownTemplate && isPromptTemplateKey(kv) {
			continue
		}
		if !slices.ContainsFunc(existing, func(e attribute.KeyValue) bool { return e.Key == kv.Key }) {
			missing = append(missing, kv)
		}
	}
	s.SetAttributes(missing...)
}

func isPromptTemplateKey(kv attribute.KeyValue) bool {
	return strings.HasPrefix(string(kv.Key), "llm.prompt_template.")
}

func (contextProcessor) OnEnd(sdktrace.ReadOnlySpan)      {}
func (contextProcessor) Shutdown(context.Context) error   { return nil }
func (contextProcessor) ForceFlush(context.Context) error { return nil }
