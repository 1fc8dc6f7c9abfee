package span

import (
	"encoding/json"
	"fmt"
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

// A repeated key has its last value wherever it is read, in short lists and
// in long ones, which find repeats another way.
func TestRepeatedKeysKeepTheirLastValue(t *testing.T) {
	for _, n := range []int{3, shadowScanMax + 1, 5000} {
		var a Attributes
		for i := 0; i < n; i++ {
			a = append(a, Attr{Key: fmt.Sprintf("k%d", i%(n/3+1)), Value: IntValue(int64(i))})
		}
		var got map[string]int64
		if err := json.Unmarshal(a.AppendJSON(nil), &got); err != nil {
			t.Fatal(err)
		}
		want := make(map[string]int64)
		for _, kv := range a {
			want[kv.Key] = kv.Value.Int
		}
		if len(got) != len(want) {
			t.Errorf("%d attributes: %d keys in the JSON, want %d", n, len(got), len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%d attributes: JSON has %s = %d, want %d", n, k, got[k], v)
			}
			if g, ok := a.Get(k); !ok || g.Int != v {
				t.Errorf("%d attributes: Get(%s) = %d, want %d", n, k, g.Int, v)
			}
		}
	}
}

// Stored events read back as they were written; a document that does not
// decode reads as none.
func TestReadStoredEvents(t *testing.T) {
	sp := Span{Events: []Event{{Name: "exception", Time: 42, Attributes: Attributes{{Key: "k", Value: IntValue(1)}}}}}
	var buf []byte
	events, _ := sp.StoredEventsAndLinks(&buf)
	got := ReadStoredEvents([]byte(events))
	if len(got) != 1 || got[0].Name != "exception" || got[0].TimeUnixNano != 42 || string(got[0].Attributes) != `{"k":1}` {
		t.Errorf("ReadStoredEvents(%s) = %+v", events, got)
	}
	if got := ReadStoredEvents([]byte(`[{"name":`)); got != nil {
		t.Errorf("ReadStoredEvents of a broken document = %+v, want none", got)
	}
}
