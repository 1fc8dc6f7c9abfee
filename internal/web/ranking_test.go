package web

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// TestCostRanking: the Spans list ranks model calls by cost and by tokens,
// with their model and cost; the Traces list ranks traces the same way;
// the header's link opens the costliest LLM calls of the last 7 days.
func TestCostRanking(t *testing.T) {
	e := newEnv(t)
	start := time.Now().Add(-time.Hour).UnixNano()
	var spans []span.Span
	for i, c := range []struct {
		trace, id, model string
		prompt           int64
	}{
		{"a1000000000000000000000000000001", "a100000000000001", "gpt-4o-mini", 1000},
		{"a1000000000000000000000000000002", "a100000000000002", "gpt-4o", 2000},
		{"a1000000000000000000000000000003", "a100000000000003", "gpt-4o-mini", 90000},
		{"a1000000000000000000000000000004", "a100000000000004", "house-model", 500000},
	} {
		t0 := start + int64(i)*int64(time.Second)
		spans = append(spans, span.Span{Project: "rank", TraceID: c.trace, SpanID: c.id, Name: "chat " + c.model,
			StartTime: t0, EndTime: t0 + 1e8, StatusCode: span.StatusOK,
			Attributes: span.Attributes{str(span.AttrSpanKind, "LLM"), str("llm.model_name", c.model),
				num(span.AttrTokensPrompt, c.prompt), num(span.AttrTokensComplete, 10)}})
	}
	e.writePriced(spans...)

	order := func(body string, ids ...string) {
		t.Helper()
		last := -1
		for _, id := range ids {
			i := strings.Index(body, `data-id="`+id+`"`)
			if i < 0 || i < last {
				t.Errorf("rows not in the order %v (%s at %d, after %d)", ids, id, i, last)
				return
			}
			last = i
		}
	}
	// gpt-4o at 2,000 tokens costs more than gpt-4o-mini at 1,000 and less
	// than at 90,000; the house model has no price, so it is not ranked
	// by cost, but leads by tokens.
	body := e.mustGet("/projects/rank/spans?sort=cost")
	order(body, "a100000000000003", "a100000000000002", "a100000000000001")
	contains(t, "spans by cost", body, `<td class="trunc mono c-model">gpt-4o</td>`, "Cost ↓", `aria-current="true" title="Spans with a cost, the most expensive first">Costliest`)
	lacks(t, "spans by cost", body, `data-id="a100000000000004"`)
	body = e.mustGet("/projects/rank/spans?sort=cost&dir=asc")
	order(body, "a100000000000001", "a100000000000002", "a100000000000003")
	contains(t, "cheapest first", body, "Cost ↑")
	body = e.mustGet("/projects/rank/spans?sort=tokens")
	order(body, "a100000000000004", "a100000000000003", "a100000000000002", "a100000000000001")
	contains(t, "spans by tokens", body, `no price`, "Tokens ↓")

	// A filter keeps the ranking, and the ranking stays on offer.
	body = e.mustGet("/projects/rank/spans?sort=cost&filter=" + url.QueryEscape("llm.model_name == 'gpt-4o-mini'"))
	order(body, "a100000000000003", "a100000000000001")
	contains(t, "filtered, by cost", body, "Cost ↓", "of those with a cost, the most expensive first",
		`aria-current="true" title="Spans with a cost, the most expensive first">Costliest`)
	lacks(t, "filtered, by cost", body, `data-id="a100000000000002"`, `aria-invalid="true"`)
	body = e.mustGet("/projects/rank/spans?sort=tokens&dir=asc&filter=" + url.QueryEscape("llm.token_count.prompt > 1500"))
	order(body, "a100000000000002", "a100000000000003", "a100000000000004")
	contains(t, "filtered, fewest tokens first", body, "Tokens ↑", "of those with tokens, the fewest first")
	body = e.mustGet("/projects/rank/spans?filter=" + url.QueryEscape("span_kind == 'LLM'"))
	contains(t, "filtered, newest first", body, `title="Spans with a cost, the most expensive first">Costliest`, `title="Spans with tokens, the most first">Most tokens`)
	// A filter the store refuses is shown as such, the ranking kept.
	body = e.mustGet("/projects/rank/spans?sort=cost&filter=" + url.QueryEscape("latency_ms > 'slow'"))
	order(body, "a100000000000003", "a100000000000002", "a100000000000001")

	body = e.mustGet("/projects/rank?sort=cost")
	order(body, "a1000000000000000000000000000003", "a1000000000000000000000000000002", "a1000000000000000000000000000001")
	body = e.mustGet("/projects/rank?sort=tokens")
	order(body, "a1000000000000000000000000000004", "a1000000000000000000000000000003")

	// The header's link, from any tab.
	contains(t, "header", e.mustGet("/projects/rank"),
		`href="/projects/rank/spans?kind=LLM&amp;range=7d&amp;sort=cost" title="The model calls of the last 7 days, the most expensive first" data-top-calls>`)
}
