package view

import (
	"encoding/json"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

// A document that does not decode (no build of Loupe writes one) leaves
// out what it held; the rest of the span is shown.
func TestBuildLeavesOutUndecodable(t *testing.T) {
	tests := []struct {
		name, attrs, events string
		wantAttrs, wantEvts int
	}{
		{"attributes", `{"a":`, `[{"name":"tick","time_unix_nano":1,"attributes":{}}]`, 0, 1},
		{"events", `{"a":"b"}`, `[{"name":`, 1, 0},
		{"an event's attributes", `{"a":"b"}`, `[{"name":"tick","time_unix_nano":1,"attributes":"x"}]`, 1, 1},
	}
	for _, tc := range tests {
		rec := record(t, span.KindChain, nil, tc.events)
		rec.AttributesJSON = json.RawMessage(tc.attrs)
		v, err := Build(rec, 1000)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(v.Attributes) != tc.wantAttrs || len(v.Events) != tc.wantEvts {
			t.Errorf("%s: %d attributes and %d events, want %d and %d", tc.name, len(v.Attributes), len(v.Events), tc.wantAttrs, tc.wantEvts)
		}
	}
}
