package query

import (
	"reflect"
	"testing"
)

func TestSpanBound(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   Bound
	}{
		{"latency_ms > 6000", AtLeast{"latency", 6000, true}},
		{"latency_ms >= 2.5", AtLeast{"latency", 2.5, false}},
		{"6000 < latency_ms", AtLeast{"latency", 6000, true}},
		{"latency_ms < 6000", nil},
		{"llm.token_count.total > 1000", AtLeast{"total_tokens", 1000, true}},
		{"llm.token_count.prompt == 10", AtLeast{"prompt_tokens", 10, false}},
		{"total_cost > 0.5", AtLeast{"cost_total", 0.5, true}},
		{"span_kind == 'llm'", OneOf{"span_kind", []string{"LLM"}}},
		{"span_kind in ['LLM', 'tool']", OneOf{"span_kind", []string{"LLM", "TOOL"}}},
		{"span_kind not in ['LLM']", nil},
		{"span_kind != 'LLM'", nil},
		{"status_code == 'ERROR'", OneOf{"status_code", []string{"ERROR"}}},
		{"llm.model_name == 'gpt-4o'", OneOf{"model_name", []string{"gpt-4o"}}},
		{"span_kind == 'LLM' and latency_ms > 4000", AllOf{OneOf{"span_kind", []string{"LLM"}}, AtLeast{"latency", 4000, true}}},
		{"span_kind == 'LLM' and 'x' in input.value", OneOf{"span_kind", []string{"LLM"}}},
		{"latency_ms > 4000 or status_code == 'ERROR'", AnyOf{AtLeast{"latency", 4000, true}, OneOf{"status_code", []string{"ERROR"}}}},
		{"latency_ms > 4000 or name == 'x'", nil},
		{"not (latency_ms > 4000)", nil},
		{"1000 < latency_ms < 5000", AtLeast{"latency", 1000, true}},
		{"name == 'x'", nil},
		{"metadata.topic == 'x'", nil},
		{"latency_ms > 4000 and (span_kind == 'LLM' or span_kind == 'TOOL')",
			AllOf{AtLeast{"latency", 4000, true}, AnyOf{OneOf{"span_kind", []string{"LLM"}}, OneOf{"span_kind", []string{"TOOL"}}}}},
	} {
		e, err := Parse(tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		if got := SpanBound(e); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("SpanBound(%s) = %#v, want %#v", tc.filter, got, tc.want)
		}
	}
}

func TestTraceBound(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   Bound
	}{
		{"latency_ms > 6000", AtLeast{"latency", 6000, true}},
		{"error_count > 0", AtLeast{"error_count", 0, true}},
		{"error_count >= 1 and latency_ms > 10", AllOf{AtLeast{"error_count", 1, false}, AtLeast{"latency", 10, true}}},
		{"num_spans > 10", nil},
		{"token_count_total > 10", nil},
		{"latency_ms < 10", nil},
		{"'refund' in input", nil},
	} {
		e, err := Parse(tc.filter)
		if err != nil {
			t.Fatalf("%s: %v", tc.filter, err)
		}
		if got := TraceBound(e); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("TraceBound(%s) = %#v, want %#v", tc.filter, got, tc.want)
		}
	}
}
