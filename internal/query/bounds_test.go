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
		{"latency_ms > 6000", AtLeast{"latency", 6000}},
		{"latency_ms >= 2.5", AtLeast{"latency", 2.5}},
		{"6000 < latency_ms", AtLeast{"latency", 6000}},
		{"latency_ms < 6000", nil},
		{"llm.token_count.total > 1000", AtLeast{"total_tokens", 1000}},
		{"llm.token_count.prompt == 10", AtLeast{"prompt_tokens", 10}},
		{"total_cost > 0.5", AtLeast{"cost_total", 0.5}},
		{"span_kind == 'llm'", OneOf{"span_kind", []string{"LLM"}}},
		{"span_kind in ['LLM', 'tool']", OneOf{"span_kind", []string{"LLM", "TOOL"}}},
		{"span_kind not in ['LLM']", nil},
		{"span_kind != 'LLM'", nil},
		{"status_code == 'ERROR'", OneOf{"status_code", []string{"ERROR"}}},
		{"llm.model_name == 'gpt-4o'", OneOf{"model_name", []string{"gpt-4o"}}},
		{"span_kind == 'LLM' and latency_ms > 4000", AllOf{OneOf{"span_kind", []string{"LLM"}}, AtLeast{"latency", 4000}}},
		{"span_kind == 'LLM' and 'x' in input.value", OneOf{"span_kind", []string{"LLM"}}},
		{"latency_ms > 4000 or status_code == 'ERROR'", AnyOf{AtLeast{"latency", 4000}, OneOf{"status_code", []string{"ERROR"}}}},
		{"latency_ms > 4000 or name == 'x'", nil},
		{"not (latency_ms > 4000)", nil},
		{"1000 < latency_ms < 5000", AtLeast{"latency", 1000}},
		{"name == 'x'", nil},
		{"metadata.topic == 'x'", nil},
		{"latency_ms > 4000 and (span_kind == 'LLM' or span_kind == 'TOOL')",
			AllOf{AtLeast{"latency", 4000}, AnyOf{OneOf{"span_kind", []string{"LLM"}}, OneOf{"span_kind", []string{"TOOL"}}}}},
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
