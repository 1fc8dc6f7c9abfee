package web

import (
	"fmt"
	"time"

	"github.com/loupe-dev/loupe/internal/span"
)

// The big trace: an agent run of 5,253 spans shaped like the one a person
// got lost in. A chain fetches 2,000 tickets one by one (two fail), then 50
// steps each call a model, search, retrieve, embed and score 60 documents;
// one score deep in step 37 fails too.
const (
	bigTraceID    = "0000000000000000000000000000b16e"
	bigSpans      = 5253
	bigTickets    = 2000
	bigSteps      = 50
	bigScores     = 60
	bigUmbrellaAt = 42 // the step whose question mentions the blue umbrella
)

// bigSpanID numbers the spans of the big trace: the root 1, plan 2,
// load_tickets 3, fetch_ticket i 10+i, step s's spans from 10,000+100·s.
func bigSpanID(n int) string { return fmt.Sprintf("%016x", 0xb1600000+n) }

func bigTicketID(i int) string       { return bigSpanID(10 + i) }
func bigStepSpanID(s, j int) string  { return bigSpanID(10_000 + 100*s + j) }
func bigScoreID(s, j int) string     { return bigStepSpanID(s, 5+j) }
func bigFailedTickets() (int, int)   { return 700, 1650 }
func bigFailedScore() (int, int)     { return 37, 45 }
func bigUmbrellaSpan() string        { return bigStepSpanID(bigUmbrellaAt, 1) }
func bigTraceStart() time.Time       { return time.Now().Add(-2 * time.Hour).Truncate(time.Second) }
func bigKind(k string) span.Attr     { return str(span.AttrSpanKind, k) }
func bigMs(base int64, ms int) int64 { return base + int64(ms)*int64(time.Millisecond) }

func bigTrace(project string, at time.Time) []span.Span {
	base := at.UnixNano()
	out := make([]span.Span, 0, bigSpans)
	add := func(id, parent, name, kind string, start, dur int, attrs ...span.Attr) *span.Span {
		out = append(out, span.Span{Project: project, TraceID: bigTraceID, SpanID: id, ParentID: parent, Name: name,
			StartTime: bigMs(base, start), EndTime: bigMs(base, start+dur), StatusCode: span.StatusOK,
			Attributes: append(span.Attributes{bigKind(kind)}, attrs...)})
		return &out[len(out)-1]
	}
	fail := func(s *span.Span, typ, msg string) {
		s.StatusCode, s.StatusMessage = span.StatusError, msg
		s.Events = []span.Event{{Name: "exception", Time: s.EndTime, Attributes: span.Attributes{
			str("exception.type", typ), str("exception.message", msg),
			str("exception.stacktrace", "Traceback (most recent call last):\n  File \"agent.py\", line 88, in run\n"+typ+": "+msg),
		}}}
	}
	root, tickets := bigSpanID(1), bigSpanID(3)
	add(root, "", "agent.run", "AGENT", 0, 1_130_000, str("input.value", "Triage the support queue"))
	add(bigSpanID(2), root, "plan", "LLM", 10, 2_000, str("llm.model_name", "gpt-4o-mini"))
	add(tickets, root, "load_tickets", "CHAIN", 2_100, 125_000)
	f1, f2 := bigFailedTickets()
	for i := range bigTickets {
		s := add(bigTicketID(i), tickets, "fetch_ticket", "TOOL", 2_200+i*60, 40+i%25, str("tool.name", "fetch_ticket"),
			str("input.value", fmt.Sprintf(`{"ticket":%d}`, 4000+i)))
		if i == f1 || i == f2 {
			fail(s, "TimeoutError", fmt.Sprintf("ticket service did not answer for ticket %d", 4000+i))
		}
	}
	fs, fj := bigFailedScore()
	for st := range bigSteps {
		t0 := 130_000 + st*20_000
		step := bigStepSpanID(st, 0)
		add(step, root, "step", "CHAIN", t0, 19_000)
		q := fmt.Sprintf("Which tickets are about order %d?", 9000+st)
		if st == bigUmbrellaAt {
			q = "Which invoice mentions the blue umbrella?"
		}
		add(bigStepSpanID(st, 1), step, "llm.chat", "LLM", t0+10, 4_000, str("llm.model_name", "gpt-4o-mini"), str("input.value", q))
		tool := bigStepSpanID(st, 2)
		add(tool, step, "tool.search_docs", "TOOL", t0+4_100, 14_000, str("tool.name", "search_docs"))
		ret := bigStepSpanID(st, 3)
		add(ret, tool, "retrieval", "RETRIEVER", t0+4_200, 13_000)
		add(bigStepSpanID(st, 4), ret, "embed.query", "EMBEDDING", t0+4_250, 300)
		for j := range bigScores {
			s := add(bigScoreID(st, j), ret, "score_doc", "RERANKER", t0+4_600+j*200, 150)
			if st == fs && j == fj {
				fail(s, "ValueError", "score out of range: 1.7")
			}
		}
	}
	return out
}
