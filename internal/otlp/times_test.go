package otlp

import (
	"bytes"
	"context"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

var year2300 = pcommon.NewTimestampFromTime(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))

// timedTraces holds one span per case, named after it, with the given
// start, end and event times (no event when the event time is 0). A
// span's id is its case's position in timeCases.
func timedTraces(cases ...timeCase) ptrace.Traces {
	td := ptrace.NewTraces()
	spans := td.ResourceSpans().AppendEmpty().ScopeSpans().AppendEmpty().Spans()
	for _, c := range cases {
		n := slices.IndexFunc(timeCases, func(tc timeCase) bool { return tc.name == c.name })
		sp := spans.AppendEmpty()
		sp.SetName(c.name)
		sp.SetTraceID(tid)
		sp.SetSpanID(pcommon.SpanID([8]byte{0, 0, 0, 0, 0, 0, 0, byte(n + 1)}))
		sp.SetStartTimestamp(c.start)
		sp.SetEndTimestamp(c.end)
		if c.event != 0 {
			ev := sp.Events().AppendEmpty()
			ev.SetName("tick")
			ev.SetTimestamp(c.event)
		}
	}
	return td
}

type timeCase struct {
	name              string
	start, end, event pcommon.Timestamp
	want              string // in the rejection message; "" when stored
	wantEnd           int64  // the end stored
}

const now = pcommon.Timestamp(1_700_000_000_000_000_000)

var timeCases = []timeCase{
	{"ordinary", now, now + 1e9, now + 5e8, "", int64(now + 1e9)},
	{"unset end reads as the start", now, 0, 0, "", int64(now)},
	{"end before start kept as sent", now, now - 1e9, 0, "", int64(now - 1e9)},
	{"latest storable time", now, math.MaxInt64, 0, "", math.MaxInt64},
	{"start in 2300", year2300, year2300 + 1e9, 0,
		`span "start in 2300" (span_id 0000000000000005) has start_time_unix_nano 10413792000000000000, after 2262-04-11T23:47:16Z, the latest time Loupe stores`, 0},
	{"end at 2^64-1", now, math.MaxUint64, 0,
		`span "end at 2^64-1" (span_id 0000000000000006) has end_time_unix_nano 18446744073709551615, after 2262-04-11T23:47:16Z`, 0},
	{"end one past the latest", now, math.MaxInt64 + 1, 0, "has end_time_unix_nano 9223372036854775808, after", 0},
	{"event in 2300", now, now + 1e9, year2300, `has event 1 ("tick") time_unix_nano 10413792000000000000, after`, 0},
	{"no start", 0, now, 0, `span "no start" (span_id 0000000000000009) has no start_time_unix_nano`, 0},
}

func TestDecodeTimes(t *testing.T) {
	for _, tc := range timeCases {
		t.Run(tc.name, func(t *testing.T) {
			// Beside an ordinary span, which is stored either way.
			d := Decode(timedTraces(timeCases[0], tc), "")
			if tc.want == "" {
				if d.Rejected != 0 || len(d.Spans) != 2 {
					t.Fatalf("rejected %d (%s), want the span stored", d.Rejected, d.Message)
				}
				s := d.Spans[1]
				if s.StartTime != int64(tc.start) || s.EndTime != tc.wantEnd {
					t.Errorf("stored %d..%d, want %d..%d", s.StartTime, s.EndTime, tc.start, tc.wantEnd)
				}
				return
			}
			if d.Rejected != 1 || len(d.Spans) != 1 || d.Spans[0].Name != "ordinary" || !strings.Contains(d.Message, tc.want) {
				t.Errorf("rejected %d, stored %d: %q; want this span alone left out, the message saying %q", d.Rejected, len(d.Spans), d.Message, tc.want)
			}
		})
	}
}

// Spans with times the stores cannot hold are reported in partial_success;
// the others of the request are stored.
func TestHTTPRejectsTimesPastStorage(t *testing.T) {
	td := timedTraces(timeCases...)
	for _, enc := range []struct {
		ctype string
		body  []byte
	}{{"application/x-protobuf", protoBody(t, td)}, {"application/json", jsonBody(t, td)}} {
		rec := &recorder{}
		req := httptest.NewRequest("POST", "/v1/traces", bytes.NewReader(enc.body))
		req.Header.Set("Content-Type", enc.ctype)
		w := httptest.NewRecorder()
		newHandler(rec).ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("%s: status %d: %s", enc.ctype, w.Code, w.Body)
		}
		resp := ptraceotlp.NewExportResponse()
		var err error
		if enc.ctype == "application/json" {
			err = resp.UnmarshalJSON(w.Body.Bytes())
		} else {
			err = resp.UnmarshalProto(w.Body.Bytes())
		}
		if err != nil {
			t.Fatal(err)
		}
		ps := resp.PartialSuccess()
		want := `5 spans rejected; first: span "start in 2300" (span_id 0000000000000005) has start_time_unix_nano 10413792000000000000, after 2262-04-11T23:47:16Z, the latest time Loupe stores`
		if ps.RejectedSpans() != 5 || ps.ErrorMessage() != want {
			t.Errorf("%s: partial success %d %q, want 5 %q", enc.ctype, ps.RejectedSpans(), ps.ErrorMessage(), want)
		}
		var names []string
		for _, s := range rec.spans {
			names = append(names, s.Name)
			if s.StartTime <= 0 || s.EndTime < 0 {
				t.Errorf("%s: span %q stored at %d..%d", enc.ctype, s.Name, s.StartTime, s.EndTime)
			}
		}
		if got := strings.Join(names, ", "); got != "ordinary, unset end reads as the start, end before start kept as sent, latest storable time" {
			t.Errorf("%s: stored %s", enc.ctype, got)
		}
	}
}

func TestGRPCRejectsTimesPastStorage(t *testing.T) {
	rec := &recorder{}
	client := ptraceotlp.NewGRPCClient(startGRPC(t, rec))
	resp, err := client.Export(context.Background(), ptraceotlp.NewExportRequestFromTraces(timedTraces(timeCases[0], timeCases[5])))
	if err != nil {
		t.Fatalf("Export: %v", err)
	}
	ps := resp.PartialSuccess()
	if ps.RejectedSpans() != 1 || !strings.Contains(ps.ErrorMessage(), timeCases[5].want) {
		t.Errorf("partial success %d %q, want 1 saying %q", ps.RejectedSpans(), ps.ErrorMessage(), timeCases[5].want)
	}
	if len(rec.spans) != 1 || rec.spans[0].Name != "ordinary" {
		t.Errorf("stored %+v, want the ordinary span", rec.spans)
	}
}
