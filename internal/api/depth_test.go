package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/loupe-dev/loupe/internal/otlp"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// setNested makes v a value levels deep: lists of lists, or maps of maps,
// around the string "bottom".
func setNested(v pcommon.Value, levels int, kvlist bool) {
	for range levels - 1 {
		if kvlist {
			v = v.SetEmptyMap().PutEmpty("k")
		} else {
			v = v.SetEmptySlice().AppendEmpty()
		}
	}
	v.SetStr("bottom")
}

// nestedValue is setNested for a span.Value.
func nestedValue(levels int) span.Value {
	v := span.StringValue("bottom")
	for range levels - 1 {
		v = span.Value{Type: span.TypeMap, Map: span.Attributes{{Key: "k", Value: v}}}
	}
	return v
}

// levelsOf follows a decoded JSON value down its first items and returns
// how many levels it has and what is at the bottom.
func levelsOf(v any) (int, any) {
	level := 1
	for {
		switch x := v.(type) {
		case map[string]any:
			if len(x) != 1 {
				return level, v
			}
			for _, item := range x {
				v = item
			}
		case []any:
			if len(x) != 1 {
				return level, v
			}
			v = x[0]
		default:
			return level, v
		}
		level++
	}
}

// readPaths are the REST reads of a project's spans that decode their
// stored attributes and events; each must answer 200.
func readPaths(t *testing.T, h http.Handler, project string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for name, path := range map[string]string{
		"spans":         "/v1/projects/" + project + "/spans",
		"otlpv1":        "/v1/projects/" + project + "/spans/otlpv1",
		"include_spans": "/v1/projects/" + project + "/traces?include_spans=true",
	} {
		code, body := get(t, h, path)
		if code != http.StatusOK {
			t.Fatalf("GET %s = %d %.300s", path, code, body)
		}
		out[name] = body
	}
	for name, q := range map[string]string{
		"spanquery":        `{"queries":[{}]}`,
		"spanquery select": `{"queries":[{"select":{"deep":{"key":"deep"},"events":{"key":"events"}}}]}`,
	} {
		w := postSpanQuery(t, h, "POST", "/v1/spans?project_name="+project, q, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s = %d %.300s", name, w.Code, w.Body)
		}
		out[name] = w.Body.String()
	}
	return out
}

// A value as deep as a request may carry goes through the real decoder
// into the store and comes back through every read path: its first
// span.MaxValueDepth levels as they were sent, the rest as JSON text.
func TestDeepValueStoredAndRead(t *testing.T) {
	td := ptrace.NewTraces()
	sp := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	sp.SetTraceID(pcommon.TraceID{1: 1})
	sp.SetSpanID(pcommon.SpanID{1: 1})
	sp.SetName("deep")
	sp.SetStartTimestamp(pcommon.Timestamp(t0))
	sp.SetEndTimestamp(pcommon.Timestamp(t0 + 1e6))
	sp.Attributes().PutStr(span.AttrProjectName, "deep")
	setNested(sp.Attributes().PutEmpty("deep"), otlp.MaxDecodeDepth, true)
	setNested(sp.Attributes().PutEmpty("deep.list"), otlp.MaxDecodeDepth, false)
	ev := sp.Events().AppendEmpty()
	ev.SetName("exception")
	ev.SetTimestamp(pcommon.Timestamp(t0))
	setNested(ev.Attributes().PutEmpty("exception.details"), otlp.MaxDecodeDepth, true)
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	if err != nil {
		t.Fatal(err)
	}
	req := ptraceotlp.NewExportRequest()
	if err := otlp.UnmarshalProto(req, body); err != nil {
		t.Fatal(err)
	}
	d := otlp.Decode(req.Traces(), "deep")
	if d.Rejected != 0 {
		t.Fatalf("rejected: %s", d.Message)
	}

	out := readPaths(t, newTestAPI(t, d.Spans...), "deep")
	var page struct {
		Data []struct {
			Attributes map[string]any `json:"attributes"`
			Events     []struct {
				Attributes map[string]any `json:"attributes"`
			} `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(out["spans"]), &page); err != nil || len(page.Data) != 1 || len(page.Data[0].Events) != 1 {
		t.Fatalf("spans page: %v %.300s", err, out["spans"])
	}
	for name, v := range map[string]any{
		"deep":              page.Data[0].Attributes["deep"],
		"deep.list":         page.Data[0].Attributes["deep.list"],
		"exception.details": page.Data[0].Events[0].Attributes["exception.details"],
	} {
		level, bottom := levelsOf(v)
		text, ok := bottom.(string)
		if level != span.MaxValueDepth || !ok || !strings.Contains(text, `"bottom"`) {
			t.Errorf("%s: %d levels down to %.80v; want %d, then the rest as JSON text", name, level, bottom, span.MaxValueDepth)
			continue
		}
		var rest any
		if err := json.Unmarshal([]byte(text), &rest); err != nil {
			t.Errorf("%s: the text below level %d is not JSON: %v", name, level, err)
		}
		if n, _ := levelsOf(rest); level-1+n != otlp.MaxDecodeDepth {
			t.Errorf("%s: %d levels stored and %d as text, want %d in all", name, level-1, n, otlp.MaxDecodeDepth)
		}
	}
	if !strings.Contains(out["spanquery select"], `\"bottom\"`) {
		t.Errorf("SpanQuery select does not hold the value's text: %.300s", out["spanquery select"])
	}
}

// A span stored by a build that did not limit depth, its document nested
// past what encoding/json decodes, no longer fails the pages it is on: it
// is read with its deepest levels as text, and the spans beside it as
// they are.
func TestPoisonRowRead(t *testing.T) {
	// Written to the store as is, without span.Normalize, which would
	// limit it.
	poison := testSpan("old", 1, 1, 0, span.KindChain)
	poison.Attributes = append(poison.Attributes, span.Attr{Key: "deep", Value: nestedValue(10_001)})
	poison.Events = []span.Event{{Name: "exception", Time: t0, Attributes: span.Attributes{{Key: "deep", Value: nestedValue(10_001)}}}}
	ok := testSpan("old", 1, 2, 1, span.KindLLM, span.Attr{Key: span.AttrInputValue, Value: span.StringValue("hello")})
	h := newTestAPI(t, poison, ok)

	out := readPaths(t, h, "old")
	var page struct {
		Data []struct {
			Name       string         `json:"name"`
			Attributes map[string]any `json:"attributes"`
			Events     []any          `json:"events"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(out["spans"]), &page); err != nil || len(page.Data) != 2 {
		t.Fatalf("spans page: %v %.300s", err, out["spans"])
	}
	for _, s := range page.Data {
		switch s.Name {
		case ok.Name:
			if s.Attributes["input.value"] != "hello" {
				t.Errorf("the span beside it: attributes %v", s.Attributes)
			}
		case poison.Name:
			level, bottom := levelsOf(s.Attributes["deep"])
			if _, isText := bottom.(string); !isText || level != span.MaxJSONDepth || len(s.Events) != 1 {
				t.Errorf("the old span: %d levels down to a %T, %d events; want %d levels, then text, and its event",
					level, bottom, len(s.Events), span.MaxJSONDepth)
			}
		}
	}
	for _, name := range []string{"spanquery", "otlpv1"} {
		if !strings.Contains(out[name], "hello") {
			t.Errorf("%s leaves out the span beside the old one: %.300s", name, out[name])
		}
	}
	// include_spans lists spans without their attributes, as Phoenix does.
	if !strings.Contains(out["include_spans"], ok.SpanID) || !strings.Contains(out["include_spans"], poison.SpanID) {
		t.Errorf("include_spans leaves out a span: %.600s", out["include_spans"])
	}
}

// A document that does not decode at all (no build of Loupe writes one)
// costs its own span its attributes or events where they are decoded, not
// the page.
func TestUnreadableDocumentsLeftOut(t *testing.T) {
	rec := store.SpanRecord{Span: testSpan("p", 1, 1, 0, span.KindChain),
		AttributesJSON: json.RawMessage(`{"openinference.span.kind":"CHAIN","a":`), EventsJSON: json.RawMessage(`[{"name":`)}
	sj, err := toSpanJSON(rec)
	if err != nil || string(sj.Attributes) != "{}" || len(sj.Events) != 0 {
		t.Errorf("toSpanJSON = %s, %d events, %v", sj.Attributes, len(sj.Events), err)
	}
	if _, err := json.Marshal(sj); err != nil {
		t.Errorf("the span does not encode: %v", err)
	}
	if o, err := toOTLPSpan(rec); err != nil || len(o.Attributes) != 0 || len(o.Events) != 0 {
		t.Errorf("toOTLPSpan = %+v, %v", o, err)
	}
}

// Uploaded spans are held to what OTLP's are: times the stores can keep,
// values stored to span.MaxValueDepth levels.
func TestUploadBounds(t *testing.T) {
	h := newTestAPI(t, testSpan("up", 1, 1, 0, span.KindChain)) // the project must exist
	upload := func(id int, start, event, attrs string) string {
		return `{"data":[{"name":"up","context":{"trace_id":"` + hexID(9, 32) + `","span_id":"` + hexID(id, 16) + `"},
			"span_kind":"CHAIN","start_time":"` + start + `","end_time":"2024-05-01T10:00:01Z",
			"attributes":` + attrs + `,"events":[{"name":"e","timestamp":"` + event + `","attributes":{}}]}]}`
	}
	const ok = "2024-05-01T10:00:00Z"
	deep := `{"deep":` + strings.Repeat("[", 5000) + `"bottom"` + strings.Repeat("]", 5000) + `}`
	tests := []struct {
		name, body string
		status     int
		want       string
	}{
		{"start in 2300", upload(1, "2300-01-01T00:00:00Z", ok, "{}"), 400, "start_time: 2300-01-01T00:00:00Z is outside the times Loupe stores"},
		{"event in 1500", upload(2, ok, "1500-01-01T00:00:00Z", "{}"), 400, `event \"e\" timestamp: 1500-01-01T00:00:00Z is outside`},
		{"deep value", upload(3, ok, ok, deep), 202, `"total_queued":1`},
	}
	for _, tc := range tests {
		code, body := send(t, h, "POST", "/v1/projects/up/spans", tc.body)
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s: %d %.300s; want %d saying %q", tc.name, code, body, tc.status, tc.want)
		}
	}
	out := readPaths(t, h, "up")
	var page struct {
		Data []struct {
			Attributes map[string]any `json:"attributes"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(out["spans"]), &page); err != nil || len(page.Data) != 2 {
		t.Fatalf("spans page: %v %.300s", err, out["spans"])
	}
	if level, bottom := levelsOf(page.Data[0].Attributes["deep"]); level != span.MaxValueDepth {
		t.Errorf("uploaded value read back %d levels deep, to a %T; want %d", level, bottom, span.MaxValueDepth)
	}
}
