package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// The reads of a long export: span keys in large pages, spans by row id,
// passes pinned to the spans stored when they began, the spans that may
// hold an attribute path, and queries that run out of time.

func keysOf(recs []store.SpanRecord) []store.SpanKey {
	out := []store.SpanKey{}
	for _, r := range recs {
		out = append(out, store.SpanKey{RowID: r.RowID, StartTime: r.StartTime})
	}
	return out
}

func testSpanKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	write(t, s, build(agentTrace("k", 2, 5000, "", "")...))
	write(t, s, build(agentTrace("k", 1, 0, "", "")...))
	write(t, s, build(agentTrace("k", 3, 5000, "", "")[:1]...))
	pid := project(t, s, "k").ID
	llm, err := query.Parse("span_kind == 'LLM'")
	if err != nil {
		t.Fatal(err)
	}
	for name, q := range map[string]store.SpanQuery{
		"start order": {ProjectID: pid, OrderByStartTime: true},
		"filtered":    {ProjectID: pid, OrderByStartTime: true, Filter: llm},
		"time range":  {ProjectID: pid, OrderByStartTime: true, StartTime: base + 320*ms, EndTime: base + 5320*ms},
		"row order":   {ProjectID: pid},
	} {
		recs, err := s.Spans(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := s.SpanKeys(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(keysOf(recs), keys); diff != "" {
			t.Errorf("%s: SpanKeys differ from the keys of Spans (-spans +keys):\n%s", name, diff)
		}
	}

	// Pages of 3 keys, the fourth read ahead as the next page's cursor.
	all, err := s.SpanKeys(ctx, store.SpanQuery{ProjectID: pid, OrderByStartTime: true})
	if err != nil {
		t.Fatal(err)
	}
	var paged []store.SpanKey
	q := store.SpanQuery{ProjectID: pid, OrderByStartTime: true, Limit: 4}
	for pages := 0; pages < 10; pages++ {
		got, err := s.SpanKeys(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 4 {
			paged = append(paged, got...)
			break
		}
		paged = append(paged, got[:3]...)
		q.Cursor, q.CursorStartTime = got[3].RowID, got[3].StartTime
	}
	if diff := cmp.Diff(all, paged); diff != "" {
		t.Errorf("paged keys (-want +got):\n%s", diff)
	}

	// A pin keeps what was stored when it was taken, whatever arrives later
	// and wherever it starts. It is taken as readers take it: the newest
	// span, first in row order.
	newest, err := s.SpanKeys(ctx, store.SpanQuery{ProjectID: pid, Limit: 1})
	if err != nil || len(newest) != 1 {
		t.Fatalf("newest span key = %v, %v", newest, err)
	}
	pin := newest[0].RowID
	write(t, s, build(agentTrace("k", 4, 2500, "", "")...))
	pinned, err := s.SpanKeys(ctx, store.SpanQuery{ProjectID: pid, OrderByStartTime: true, MaxRowID: pin})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, pinned); diff != "" {
		t.Errorf("keys pinned before a write (-want +got):\n%s", diff)
	}
	recs, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, OrderByStartTime: true, MaxRowID: pin})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(all, keysOf(recs)); diff != "" {
		t.Errorf("spans pinned before a write (-want +got):\n%s", diff)
	}
	if unpinned, _ := s.SpanKeys(ctx, store.SpanQuery{ProjectID: pid, OrderByStartTime: true}); len(unpinned) != len(all)+5 {
		t.Errorf("without the pin, %d keys; want %d", len(unpinned), len(all)+5)
	}
}

func testSpansByRowID(t *testing.T, s store.Store) {
	ctx := context.Background()
	specs := agentTrace("r", 1, 0, "", "")
	specs[1].attrs = span.Attributes{{Key: "llm.input_messages.0.message.content", Value: span.StringValue("hello")}}
	spans := build(specs...)
	spans[4].Events = []span.Event{{Name: "exception", Time: base + 600*ms,
		Attributes: span.Attributes{{Key: "exception.message", Value: span.StringValue("429")}}}}
	write(t, s, spans)
	pid := project(t, s, "r").ID
	recs, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, OrderByStartTime: true})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]store.SpanRecord{}
	var rowIDs []int64
	for _, r := range recs {
		byID[r.RowID] = r
		rowIDs = append(rowIDs, r.RowID)
	}
	// Any order is kept, and ids not stored are left out.
	ask := []int64{rowIDs[3], rowIDs[0], 1 << 40, rowIDs[4], rowIDs[1], rowIDs[2]}
	got, err := s.SpansByRowID(ctx, ask, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []store.SpanRecord{byID[rowIDs[3]], byID[rowIDs[0]], byID[rowIDs[4]], byID[rowIDs[1]], byID[rowIDs[2]]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("SpansByRowID differs from Spans (-want +got):\n%s", diff)
	}

	light, err := s.SpansByRowID(ctx, rowIDs, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(light) != len(recs) {
		t.Fatalf("%d light records for %d ids", len(light), len(recs))
	}
	for i, l := range light {
		r := recs[i]
		if l.RowID != r.RowID || l.ParentID != r.ParentID || l.StartTime != r.StartTime || l.EndTime != r.EndTime ||
			string(l.EventsJSON) != "[]" {
			t.Errorf("light record %+v does not match %+v", l, r)
		}
		full, lightAttrs := decodeJSON(t, r.AttributesJSON), decodeJSON(t, l.AttributesJSON)
		for _, k := range []string{span.AttrInputValue, span.AttrOutputValue} {
			if _, ok := full[k]; ok {
				full[k] = ""
			}
		}
		if diff := cmp.Diff(full, lightAttrs); diff != "" {
			t.Errorf("span %s: light attributes are not the attributes with empty input and output (-want +got):\n%s", r.SpanID, diff)
		}
	}
}

func testHasAttribute(t *testing.T, s store.Store) {
	ctx := context.Background()
	str := span.StringValue
	specs := agentTrace("h", 1, 0, "", "")
	specs[1].attrs = span.Attributes{
		{Key: "tag.tags", Value: span.Value{Type: span.TypeSlice, Slice: []span.Value{str("a")}}},
		{Key: "retrieval.documentsX", Value: str("not a document")},
	}
	specs[2].attrs = span.Attributes{{Key: "metadata", Value: str(`{"topic":"billing"}`)}}
	specs[3].attrs = span.Attributes{
		{Key: "retrieval.documents.0.document.id", Value: str("d1")},
		{Key: "retrieval.documents.1.document.id", Value: str("d2")},
	}
	write(t, s, build(specs...))
	pid := project(t, s, "h").ID
	for _, tc := range []struct {
		path string
		want []string
	}{
		{"retrieval.documents", []string{spanID(104)}},    // a list, flattened
		{"retrieval", []string{spanID(104), spanID(102)}}, // keys below it
		{"retrieval.documents.0", []string{spanID(104)}},  // a key below, one level down
		{"retrieval.doc", nil},                            // a prefix, but not of a whole part
		{"tag.tags", []string{spanID(102)}},               // the key itself
		{"metadata.topic", []string{spanID(103)}},         // a key above it
		{"metadata.topic.deeper", []string{spanID(103)}},  // two levels above
		{"input.value", nil},                              // kept beside the attributes
		{"no.such.attribute", nil},
	} {
		got, err := s.Spans(ctx, store.SpanQuery{ProjectID: pid, OrderByStartTime: true, HasAttribute: tc.path})
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		keys, err := s.SpanKeys(ctx, store.SpanQuery{ProjectID: pid, OrderByStartTime: true, HasAttribute: tc.path})
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		if diff := cmp.Diff(append([]string{}, tc.want...), ids(got)); diff != "" {
			t.Errorf("HasAttribute %q (-want +got):\n%s", tc.path, diff)
		}
		if len(keys) != len(got) {
			t.Errorf("HasAttribute %q: %d keys for %d spans", tc.path, len(keys), len(got))
		}
	}
}

// testQueryDeadline checks that a query whose context ends is stopped in
// the database: a filter that costs the square of a deep trace's size runs
// for minutes, so without cancellation it would return spans, not an error.
func testQueryDeadline(t *testing.T, s store.Store) {
	const depth = 3000
	specs := make([]spanSpec, depth)
	for i := range specs {
		specs[i] = spanSpec{project: "slow", trace: 1, id: i + 1, par: i, name: "step", kind: span.KindChain,
			startMs: int64(i), durMs: 1, status: span.StatusOK}
	}
	write(t, s, build(specs...))
	pid := project(t, s, "slow").ID
	e, err := query.Parse("cumulative_llm_token_count_total > 0")
	if err != nil {
		t.Fatal(err)
	}
	q := store.SpanQuery{ProjectID: pid, OrderByStartTime: true, Filter: e}

	// A store that answers the filter within the deadline (a columnar one
	// can) is given a shorter one: what is checked is a query the deadline
	// cuts.
	var ctx context.Context
	var qerr error
	for _, d := range []time.Duration{50 * time.Millisecond, 5 * time.Millisecond, time.Millisecond} {
		c, cancel := context.WithTimeout(context.Background(), d)
		defer cancel()
		ctx = c
		t0 := time.Now()
		var got []store.SpanRecord
		got, qerr = s.Spans(ctx, q)
		if qerr == nil && time.Since(t0) < d {
			continue
		}
		if qerr == nil {
			t.Fatalf("a query past its deadline returned %d spans and no error", len(got))
		}
		break
	}
	if qerr == nil {
		t.Fatal("the query was answered within every deadline tried, down to 1 ms")
	}
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Errorf("the query returned %v before its deadline", qerr)
	}
	keys, err := s.SpanKeys(ctx, q)
	if err == nil {
		t.Errorf("SpanKeys past its deadline returned %d keys and no error", len(keys))
	}
	// The store still answers once the deadline is gone.
	if _, err := s.SpanKeys(context.Background(), store.SpanQuery{ProjectID: pid, OrderByStartTime: true, Limit: 1}); err != nil {
		t.Errorf("after a cancelled query: %v", err)
	}
}

func decodeJSON(t *testing.T, doc []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(doc, &m); err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return m
}
