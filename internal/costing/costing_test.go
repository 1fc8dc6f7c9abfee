package costing

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"testing"

	"github.com/loupe-dev/loupe/internal/pricing"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store/sqlite"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func llmSpan(id, model string, prompt, completion int64) span.Span {
	s := span.Span{Project: "p", TraceID: "0000000000000000000000000000000" + id, SpanID: "000000000000000" + id, Name: "chat",
		StartTime: 1e18, EndTime: 1e18 + 1e9, Attributes: span.Attributes{
			{Key: span.AttrSpanKind, Value: span.StringValue("LLM")},
			{Key: span.AttrModelName, Value: span.StringValue(model)},
			{Key: span.AttrTokensPrompt, Value: span.IntValue(prompt)},
			{Key: span.AttrTokensComplete, Value: span.IntValue(completion)},
		}}
	span.Normalize(&s)
	return s
}

func TestPriceChangeRecomputes(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir(), quiet)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc, err := New(ctx, st, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	spans := []span.Span{llmSpan("1", "acme-1", 1_000_000, 500_000), llmSpan("2", "gpt-4o-mini", 1_000_000, 1_000_000)}
	for i := range spans {
		svc.PriceSpan(&spans[i])
	}
	if spans[0].View.Cost.Status != span.CostNoPrice {
		t.Fatalf("acme-1 before it has a price: %+v", spans[0].View.Cost)
	}
	// gpt-4o-mini: 1M input at $0.15/M + 1M output at $0.60/M.
	if c := spans[1].View.Cost; c.Status != span.CostPriced || math.Abs(c.Total-0.75) > 1e-9 {
		t.Fatalf("gpt-4o-mini cost = %+v, want $0.75", c)
	}
	if _, err := st.WriteSpans(ctx, spans); err != nil {
		t.Fatal(err)
	}

	_, err = svc.SetAPIEntries(ctx, []pricing.Entry{{Name: "bad", Pattern: "(", Prices: pricing.Rates{pricing.Input: 1}}})
	if !errors.Is(err, ErrInvalidPrices) {
		t.Errorf("invalid entry = %v, want ErrInvalidPrices", err)
	}
	changed, err := svc.SetAPIEntries(ctx, []pricing.Entry{{Name: "acme-1", Pattern: "acme-1",
		Prices: pricing.Rates{pricing.Input: 2, pricing.Output: 8}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(changed) != 1 || changed[0] != "acme-1" {
		t.Fatalf("changed models = %v, want only acme-1", changed)
	}
	svc.recompute(ctx, <-svc.pending)
	if st := svc.Status(); st.Running || st.Changed != 1 || st.Error != "" {
		t.Errorf("status = %+v", st)
	}
	tr, err := st.Trace(ctx, spans[0].TraceID)
	if err != nil {
		t.Fatal(err)
	}
	// 1M input at $2/M + 0.5M output at $8/M = $6.
	if math.Abs(tr.Cost.Total-6) > 1e-9 || tr.Cost.Unpriced != 0 {
		t.Errorf("trace cost after the price was set = %+v, want $6 and nothing unpriced", tr.Cost)
	}

	// A new service on the same database keeps the stored prices.
	again, err := New(ctx, st, nil, quiet)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := again.Table().Lookup("acme-1", ""); !ok || e.Prices[pricing.Input] != 2 {
		t.Errorf("stored prices not loaded: %+v", e)
	}
}
