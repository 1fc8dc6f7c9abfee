-- Each model call counted once (internal/store/rollup): a span's part in
-- counting model calls. NULL: not a model call, none known below it; 1: a
-- counted call; 2: a wrapper, a call with another below it, not counted; 3:
-- not a call, a call below it.
--
-- Until now every LLM span was summed into the roll-ups, and embedding
-- spans never were: the LLM spans with usage are marked counted, so that
-- what the roll-ups hold and what the spans say agree, and a call that
-- arrives inside one of them takes its place.
ALTER TABLE spans ADD COLUMN call_state INTEGER;
UPDATE spans SET call_state = 1
    WHERE span_kind = 'LLM' AND (coalesce(total_tokens, 0) > 0 OR cost_status IS NOT NULL);
