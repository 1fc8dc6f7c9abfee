// Package pricing holds Loupe's model price table and computes the cost of
// an LLM span from its OpenInference token counts.
//
// # Price table
//
// The built-in table (prices.json, embedded) lists public per-token prices
// with the URL and date they were checked against; REFRESHING.md says how to
// update it. Users can add or replace entries with a file of the same layout
// (LoadFile, then New). Prices are in USD per million tokens for the token
// classes input, cache_read, cache_write, audio_input, output, reasoning and
// audio_output. A class without a price of its own is billed like plain
// input (prompt side) or plain output (completion side): that is how
// providers bill reasoning tokens, and it is Phoenix's rule too. A tier
// replaces all rates of an entry for requests whose prompt exceeds its
// threshold, because Gemini and Anthropic bill the whole long-context
// request at the higher rates, output included.
//
// Which entry prices a model is described on Table.Lookup.
//
// # Token conventions
//
// OpenInference reports llm.token_count.prompt as all prompt tokens,
// cached ones included, and llm.token_count.completion as all completion
// tokens, reasoning and audio included. That is OpenAI's convention
// (prompt_tokens includes cached_tokens, completion_tokens includes
// reasoning_tokens); for Anthropic, whose input_tokens exclude cache reads
// and writes, the OpenInference instrumentations report prompt =
// input_tokens + cache_read_input_tokens + cache_creation_input_tokens, and
// the Google GenAI instrumentation adds thinking tokens to the completion.
// So the cost is
//
//	input       = (prompt - cache_read - cache_write - audio_prompt) × input rate
//	            + cache_read × cache_read rate + cache_write × cache_write rate
//	            + audio_prompt × audio_input rate
//	completion  = (completion - reasoning - audio_completion) × output rate
//	            + reasoning × reasoning rate + audio_completion × audio_output rate
//
// and reasoning tokens are never billed twice. Counts that break the
// convention are repaired before pricing rather than yielding negative
// remainders:
//
//   - a missing prompt or completion count is taken from total minus the
//     other side (as Phoenix does);
//   - when total exceeds prompt + completion by exactly the reasoning count,
//     the completion left reasoning out (xAI's usage reports do) and it is
//     added back;
//   - a prompt smaller than its own details (an emitter passing Anthropic's
//     raw input_tokens) evidently excludes them, so they are added; the same
//     holds for the completion.
//
// An emitter that passes Anthropic's raw input_tokens while the cache counts
// are smaller than it cannot be told apart and is under-billed by the cache
// tokens; the OpenInference instrumentations do not do this.
//
// # Client costs
//
// Costs the client sent as llm.cost.* win over computed ones; see
// Table.Cost for how partial client figures are completed. A model with no
// price and no client cost yields ErrNoPrice, never $0.
package pricing
