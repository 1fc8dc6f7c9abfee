package storetest

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// testFilters runs the filter language against the backend: the same table
// of expressions and expected spans for every backend.
func testFilters(t *testing.T, s store.Store) {
	ctx := context.Background()
	t1 := agentTrace("flt", 1, 0, "s1", "alice")
	t1[1].attrs = span.Attributes{
		{Key: span.AttrModelName, Value: span.StringValue("gpt-4o")},
		{Key: "metadata", Value: span.StringValue(`{"topic":"billing","tier":2}`)},
		{Key: span.AttrInputValue, Value: span.StringValue("Where is my REFUND?")},
		{Key: "llm.input_messages.0.message.role", Value: span.StringValue("user")},
		{Key: span.AttrTokensTotal, Value: span.IntValue(1500)},
	}
	t2 := agentTrace("flt", 2, 10_000, "", "bob")
	t2[0].durMs = 6000
	t2[1].attrs = span.Attributes{{Key: span.AttrModelName, Value: span.StringValue("gpt-4o-mini")},
		{Key: "tag.tags", Value: span.Value{Type: span.TypeSlice, Slice: []span.Value{span.StringValue("eu")}}}}
	write(t, s, build(t1...))
	write(t, s, build(t2...))
	if _, err := s.UpsertAnnotations(ctx, []store.Annotation{
		{Kind: store.SpanAnnotation, SpanID: spanID(102), Name: "correctness", Label: ptr("incorrect"), Score: ptr(0.0), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(202), Name: "correctness", Label: ptr("correct"), Score: ptr(1.0), AnnotatorKind: "LLM"},
		{Kind: store.SpanAnnotation, SpanID: spanID(202), Name: "hallucination", Score: ptr(0.2), AnnotatorKind: "LLM"},
	}); err != nil {
		t.Fatal(err)
	}
	pid := project(t, s, "flt").ID
	tests := []struct {
		filter string
		want   []string
	}{
		{"span_kind == 'LLM'", []string{spanID(205), spanID(202), spanID(105), spanID(102)}},
		{"span_kind == 'llm' and status_code == 'ERROR'", []string{spanID(205), spanID(105)}},
		{"latency_ms > 4000", []string{spanID(201)}},
		{"span_kind == 'AGENT' and latency_ms > 4000", []string{spanID(201)}},
		{"'refund' in input.value", []string{spanID(102)}},
		{"llm.model_name in ['gpt-4o', 'gpt-4o-mini']", []string{spanID(202), spanID(102)}},
		{"llm.model_name == 'gpt-4o'", []string{spanID(102)}},
		{"metadata['topic'] == 'billing'", []string{spanID(102)}},
		{"llm.token_count.total > 1000", []string{spanID(102)}},
		{"annotations['correctness'].label == 'incorrect'", []string{spanID(102)}},
		{"evals['hallucination'].score < 0.5", []string{spanID(202)}},
		{"parent_span is None", []string{spanID(201), spanID(101)}},
		{"parent_id is None and user.id == 'bob'", []string{spanID(201)}},
		{"llm.input_messages.0.message.role == 'user'", []string{spanID(102)}},
		{"not span_kind in ['LLM', 'TOOL', 'RETRIEVER'] ", []string{spanID(201), spanID(101)}},
		{"100 < llm.token_count.prompt <= 300 and span_kind == 'LLM'", []string{spanID(205), spanID(105)}},
		{"name == 'retrieval' and start_time >= '2024-05-01T10:00:10+00:00'", []string{spanID(204)}},
		{"cumulative_token_count.total > 400", []string{spanID(201), spanID(101)}},
		{"input.value == '\\' OR 1=1 --'", []string{}},
		{"span_id == '" + spanID(202) + "'", []string{spanID(202)}},
		{"span_id in ['" + spanID(202) + "', '" + spanID(104) + "'] and span_kind != 'LLM'", []string{spanID(104)}},
		{"span_id != '" + spanID(101) + "' and trace_id == '" + traceID(1) + "'", []string{spanID(105), spanID(104), spanID(103), spanID(102)}},
		{"trace_id == '" + traceID(2) + "' and span_kind == 'LLM'", []string{spanID(205), spanID(202)}},
		{"trace_id not in ['" + traceID(1) + "'] and parent_id is None", []string{spanID(201)}},
		{"span_id == 'ffffffffffffffff'", []string{}},
	}
	for _, tc := range tests {
		e, err := query.Parse(tc.filter)
		if err == nil {
			err = query.Check(e)
		}
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		got, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, Filter: e})
		if err != nil {
			t.Errorf("%s: %v", tc.filter, err)
			continue
		}
		if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.filter, diff)
		}
	}
}
