package loupe

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

func TestContextAttributes(t *testing.T) {
	tests := []struct {
		name string
		ctx  func(context.Context) context.Context
		want map[string]any
	}{
		{
			name: "none",
			ctx:  func(ctx context.Context) context.Context { return ctx },
			want: map[string]any{},
		},
		{
			name: "all of them",
			ctx: func(ctx context.Context) context.Context {
				ctx = WithSession(ctx, "s1")
				ctx = WithUser(ctx, "u1")
				ctx = WithMetadata(ctx, map[string]any{"tenant": "acme", "n": 2})
				ctx = WithTags(ctx, "beta", "eu")
				return WithPromptTemplate(ctx, PromptTemplate{Template: "Hi {name}", Version: "3", Variables: map[string]any{"name": "Ada"}})
			},
			want: map[string]any{
				"session.id":                    "s1",
				"user.id":                       "u1",
				"metadata":                      `{"n":2,"tenant":"acme"}`,
				"tag.tags":                      []string{"beta", "eu"},
				"llm.prompt_template.template":  "Hi {name}",
				"llm.prompt_template.version":   "3",
				"llm.prompt_template.variables": `{"name":"Ada"}`,
			},
		},
		{
			name: "inner values replace outer ones",
			ctx: func(ctx context.Context) context.Context {
				ctx = WithSession(ctx, "outer")
				ctx = WithTags(ctx, "a")
				ctx = WithPromptTemplate(ctx, PromptTemplate{Template: "old", Version: "1"})
				ctx = WithSession(ctx, "inner")
				ctx = WithTags(ctx, "b")
				return WithPromptTemplate(ctx, PromptTemplate{Template: "new"})
			},
			want: map[string]any{
				"session.id":                   "inner",
				"tag.tags":                     []string{"b"},
				"llm.prompt_template.template": "new",
			},
		},
		{
			name: "empty values remove",
			ctx: func(ctx context.Context) context.Context {
				ctx = WithSession(ctx, "s")
				ctx = WithUser(ctx, "u")
				ctx = WithMetadata(ctx, map[string]any{"a": 1})
				ctx = WithTags(ctx, "t")
				ctx = WithSession(ctx, "")
				ctx = WithMetadata(ctx, nil)
				return WithTags(ctx)
			},
			want: map[string]any{"user.id": "u"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx(context.Background())
			if diff := cmp.Diff(tt.want, attrs(AttributesFromContext(ctx))); diff != "" {
				t.Errorf("AttributesFromContext (-want +got):\n%s", diff)
			}

			// Every span under ctx carries them, children included.
			tr, _, rec := newTestTracer(t, TraceConfig{})
			ctx, parent := tr.StartChain(ctx, "parent", nil)
			_, child := tr.StartTool(ctx, Tool{Name: "child"}, nil)
			child.End()
			parent.End()
			for _, span := range rec.Ended() {
				got := attrs(span.Attributes())
				delete(got, "openinference.span.kind")
				delete(got, "tool.name")
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("span %q attributes (-want +got):\n%s", span.Name(), diff)
				}
			}
		})
	}
}

func TestContextDoesNotLeakBetweenBranches(t *testing.T) {
	base := WithTags(WithSession(context.Background(), "s"), "x")
	a := WithSession(base, "a")
	b := WithUser(base, "b")
	if diff := cmp.Diff(map[string]any{"session.id": "a", "tag.tags": []string{"x"}}, attrs(AttributesFromContext(a))); diff != "" {
		t.Errorf("branch a (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"session.id": "s", "tag.tags": []string{"x"}, "user.id": "b"}, attrs(AttributesFromContext(b))); diff != "" {
		t.Errorf("branch b (-want +got):\n%s", diff)
	}
	// Changing the returned slice changes nothing in the context.
	got := AttributesFromContext(base)
	got[0] = attribute.String("session.id", "changed")
	if v := attrs(AttributesFromContext(base))["session.id"]; v != "s" {
		t.Errorf("context changed through the returned slice: %v", v)
	}
}

func TestContextProcessorCoversOtherInstrumentation(t *testing.T) {
	_, tp, rec := newTestTracer(t, TraceConfig{})
	ctx := WithSession(context.Background(), "s1")
	// A span from any OpenTelemetry tracer, not through the loupe helpers.
	_, span := tp.Tracer("otelhttp").Start(ctx, "GET /", trace.WithAttributes(attribute.String("http.method", "GET")))
	span.End()
	if diff := cmp.Diff(map[string]any{"session.id": "s1", "http.method": "GET"}, attrs(onlySpan(t, rec).Attributes())); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}

func TestSpanAttributesWinOverContext(t *testing.T) {
	tr, _, rec := newTestTracer(t, TraceConfig{})
	ctx := WithSession(context.Background(), "s1")
	ctx = WithPromptTemplate(ctx, PromptTemplate{Template: "from context", Version: "1"})
	_, s := tr.StartLLM(ctx, "llm", LLMRequest{PromptTemplate: &PromptTemplate{Template: "explicit"}})
	s.End()
	// The context's version does not pair with the span's own template; the
	// session, which the span did not set, still comes from the context.
	want := map[string]any{"openinference.span.kind": "LLM", "llm.prompt_template.template": "explicit", "session.id": "s1"}
	if diff := cmp.Diff(want, attrs(onlySpan(t, rec).Attributes())); diff != "" {
		t.Errorf("attributes (-want +got):\n%s", diff)
	}
}
