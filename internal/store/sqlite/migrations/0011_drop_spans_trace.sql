-- A trace's spans are found through spans_trace_span or spans_trace_parent,
-- which both lead with trace_rowid; spans_trace only saved sorting them by
-- start time. Dropping it takes one index entry off every stored span: on
-- BenchmarkWriteSpans (small spans, 300,000 a run, three runs each) the
-- writer went 1-8% faster and wrote 2-7% fewer bytes a span, and each span
-- takes 23 bytes less on disk. The sort costs the trace tree about 20 us for
-- 10 spans and 15% (about 50 ms) for 100,000 (BenchmarkUIReads/TraceTree).
DROP INDEX spans_trace;
