package span

import (
	"encoding/json"
	"testing"
)

func TestStoredJSON(t *testing.T) {
	tests := []struct {
		name string
		span Span
		want StoredJSON
	}{
		{
			name: "no attributes",
			want: StoredJSON{Attributes: "{}"},
		},
		{
			name: "input and output values have columns of their own",
			span: Span{Attributes: Attributes{
				{Key: AttrInputValue, Value: StringValue("question")},
				{Key: "llm.model_name", Value: StringValue("gpt-4o")},
				{Key: AttrOutputValue, Value: StringValue("answer")},
				{Key: "llm.model_name", Value: StringValue("gpt-4o-mini")}, // a repeated key keeps its last value
			}},
			want: StoredJSON{Attributes: `{"llm.model_name":"gpt-4o-mini"}`},
		},
		{
			name: "events and links",
			span: Span{
				Events: []Event{{Name: "exception", Time: 1_750_000_000_000_000_001, Attributes: Attributes{
					{Key: "exception.message", Value: StringValue("quote \" and\nline")}}}},
				Links: []Link{{TraceID: "0102030405060708090a0b0c0d0e0f10", SpanID: "0102030405060708", TraceState: "k=v",
					Attributes: Attributes{{Key: "n", Value: IntValue(3)}}}},
			},
			want: StoredJSON{
				Attributes: "{}",
				Events:     `[{"name":"exception","time_unix_nano":1750000000000000001,"attributes":{"exception.message":"quote \" and\nline"}}]`,
				Links:      `[{"trace_id":"0102030405060708090a0b0c0d0e0f10","span_id":"0102030405060708","trace_state":"k=v","attributes":{"n":3}}]`,
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf []byte
			got := tc.span.StoredJSON(&buf)
			if got != tc.want {
				t.Errorf("StoredJSON =\n%+v\nwant\n%+v", got, tc.want)
			}
			for _, doc := range []string{got.Attributes, got.Events, got.Links} {
				if doc != "" && !json.Valid([]byte(doc)) {
					t.Errorf("not valid JSON: %s", doc)
				}
			}
		})
	}
}
