-- What lists show of a span whose input and output values are not what a
-- person reads: for a model call, the last user message and the model's
-- answer or tool calls (span.View's previews), where input.value is the
-- request as JSON. NULL, the common case, reads as the value's own
-- preview; spans stored before keep theirs that way.
ALTER TABLE spans ADD COLUMN input_preview TEXT;
ALTER TABLE spans ADD COLUMN output_preview TEXT;
