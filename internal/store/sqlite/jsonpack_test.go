package sqlite

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/bench/agentgen"
	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
)

// Rows already written name dictionary 1 by their format byte; a changed file
// would unpack them into other text, or fail.
func TestJSONPackDictionaryIsFrozen(t *testing.T) {
	sum := sha256.Sum256(jsonPackDict1Bytes)
	const want = "9c8821356d4c452879a7809618dd4ee1fa5d343ec34a7fc70de58a6976fcfa45"
	if got := hex.EncodeToString(sum[:]); got != want {
		t.Fatalf("jsonpack1.dict changed (sha256 %s, want %s): add a new dictionary and format byte instead", got, want)
	}
}

func TestPackJSONRoundTrip(t *testing.T) {
	long := `{"llm.input_messages.0.message.content":"` + strings.Repeat("the quick brown fox, ", 20_000) + `"}`
	for _, tc := range []struct{ name, json string }{
		{"empty object", `{}`},
		{"span attributes", `{"openinference.span.kind":"LLM","llm.model_name":"gpt-4o-mini","llm.token_count.prompt":4054,"metadata":"{\"a\":[1,2]}"}`},
		{"non-ASCII", `{"input.value":"größer als 😀","tag.tags":["é","\u0000"]}`},
		{"over 64 KiB", long},
	} {
		t.Run(tc.name, func(t *testing.T) {
			packed := packJSON(new([]byte), []byte(tc.json))
			if packed[0] != jsonPackS2Dict1 {
				t.Fatalf("format byte %#x", packed[0])
			}
			got, err := unpackJSON(nil, packed)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tc.json {
				t.Errorf("unpacked %.80q…, want %.80q…", got, tc.json)
			}
		})
	}
	if got := len(packJSON(new([]byte), []byte(long))); got > len(long)/10 {
		t.Errorf("a repetitive 420 KB object packed to %d bytes", got)
	}
}

// Attributes written before packing stay JSON text and read as they are.
func TestUnpackJSONLeavesTextAlone(t *testing.T) {
	for _, text := range []string{``, `{}`, `{"a":1}`} {
		got, err := unpackJSON(nil, []byte(text))
		if err != nil || string(got) != text {
			t.Errorf("unpackJSON(%q) = %q, %v", text, got, err)
		}
	}
}

func TestUnpackJSONRejectsCorruptValues(t *testing.T) {
	good := packJSON(new([]byte), []byte(`{"llm.model_name":"gpt-4o-mini","llm.provider":"openai"}`))
	for _, tc := range []struct {
		name   string
		stored []byte
	}{
		{"format byte alone", []byte{jsonPackS2Dict1}},
		{"truncated", good[:len(good)-3]},
		{"length beyond the bound", append([]byte{jsonPackS2Dict1}, 0xff, 0xff, 0xff, 0xff, 0x0f)},
		{"trailing garbage", append(append([]byte(nil), good...), 0x55, 0x55)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := unpackJSON(nil, tc.stored); err == nil {
				t.Errorf("unpacked %q without an error", got)
			}
		})
	}
}

func FuzzUnpackJSON(f *testing.F) {
	f.Add([]byte(`{"a":1}`))
	f.Add(packJSON(new([]byte), []byte(`{"openinference.span.kind":"TOOL","tool.name":"search"}`)))
	f.Add([]byte{jsonPackS2Dict1, 0x05, 0x00})
	f.Fuzz(func(t *testing.T, stored []byte) {
		// Whatever is stored, unpacking returns or fails; it never panics.
		unpackJSON(nil, stored)
		// And whatever text is packed comes back byte for byte.
		got, err := unpackJSON(nil, packJSON(new([]byte), stored))
		if err != nil || !bytes.Equal(got, stored) {
			t.Fatalf("round trip of %q: %q, %v", stored, got, err)
		}
	})
}

// New spans keep packed attributes, spans written as text before packing
// read back the same, and both answer filters on attributes.
func TestPackedAndTextAttributesReadAlike(t *testing.T) {
	ctx := context.Background()
	s := openTempStore(t)
	res := agentgen.Resource{ServiceName: "pack", Project: "pack"}
	gen := agentgen.New(agentgen.Agent, 1, time.Unix(1_750_000_000, 0))
	spans := otlp.Decode(agentgen.Traces(res, gen.Spans(400)), "").Spans
	if _, err := s.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}
	var packed, all int
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FILTER (WHERE typeof(attributes) = 'blob'), count(*) FROM spans`).
		Scan(&packed, &all); err != nil {
		t.Fatal(err)
	}
	if all != len(spans) || packed != all {
		t.Fatalf("%d of %d stored spans have packed attributes; want all %d", packed, all, len(spans))
	}

	project, err := s.ProjectByName(ctx, "pack")
	if err != nil {
		t.Fatal(err)
	}
	read := func() map[string]string {
		t.Helper()
		filter, err := query.Parse(`llm.model_name == 'gpt-4o-mini-2024-07-18' and llm.token_count.prompt > 1000`)
		if err != nil {
			t.Fatal(err)
		}
		got := make(map[string]string)
		for _, q := range []store.SpanQuery{
			{ProjectID: project.ID, Limit: 1000},
			{ProjectID: project.ID, Limit: 1000, Filter: filter},
			{ProjectID: project.ID, Limit: 1000, Attributes: []store.AttributeMatch{{Key: "openinference.span.kind", Value: "TOOL"}}},
		} {
			recs, err := s.Spans(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range recs {
				var attrs map[string]any
				if err := json.Unmarshal(r.AttributesJSON, &attrs); err != nil {
					t.Fatalf("span %s: attributes %q: %v", r.SpanID, r.AttributesJSON, err)
				}
				got[r.SpanID] = string(r.AttributesJSON)
			}
			if len(recs) == 0 {
				t.Errorf("no span for %+v", q)
			}
		}
		return got
	}
	fromPacked := read()

	// As a database written before packing has them.
	if _, err := s.write.ExecContext(ctx, `UPDATE spans SET attributes = loupe_json(attributes)`); err != nil {
		t.Fatal(err)
	}
	if err := s.read.QueryRowContext(ctx, `SELECT count(*) FROM spans WHERE typeof(attributes) = 'text'`).Scan(&all); err != nil || all != len(spans) {
		t.Fatalf("%d spans turned to text (%v)", all, err)
	}
	fromText := read()
	if len(fromText) != len(fromPacked) {
		t.Fatalf("%d spans read from text attributes, %d from packed ones", len(fromText), len(fromPacked))
	}
	for id, attrs := range fromPacked {
		if fromText[id] != attrs {
			t.Errorf("span %s: packed %q, text %q", id, attrs, fromText[id])
		}
	}
}
