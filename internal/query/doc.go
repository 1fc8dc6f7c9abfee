// Package query is Loupe's span filter language: the Python-like conditions
// Phoenix users type in the UI or send as SpanQuery filters, such as
//
//	span_kind == 'LLM' and latency_ms > 4000
//	'refund' in input.value
//	annotations['correctness'].label == 'incorrect'
//
// A filter is lexed and parsed (Parse) into a syntax tree (Expr), checked
// for names and types (Check; Validate does both), and compiled (Compile)
// into a boolean SQL condition over the spans table aliased s, for SQLite,
// PostgreSQL or ClickHouse (Dialect):
//
//	e, err := query.Parse(filter)
//	where, args, err := query.Compile(e, query.Postgres(2))
//	q := "SELECT … FROM spans s WHERE s.project_id = $1 AND " + where
//	rows, err := db.Query(q, append([]any{projectID}, args...)...)
//
// Every value in a filter, attribute keys and annotation names included,
// becomes a bound parameter; nothing from the filter is written into the SQL
// text.
//
// All errors are *Error, carrying the column the problem is at and, where one
// can be guessed, a hint:
//
//	unknown name 'latncy_ms' at column 1; did you mean 'latency_ms'?
//
// The HTTP layer answers them with the message: 422 for span filters, 400
// for trace and session filters, as Phoenix does.
//
// # Language
//
// A filter is one Python expression: comparisons (== != < <= > >= in, not
// in, is, is not, chained as in Python: 0.5 < x <= 0.9), and/or/not with
// Python's precedence, arithmetic (+ - * / // %), parentheses, lists and
// tuples, 'text' or "text", numbers, True, False, None, and the calls str(x),
// int(x) and float(x). It must be a condition: a bare value is rejected,
// except annotations['name'], which tests that such an annotation exists.
//
// Names:
//
//   - span_id, trace_id (also context.span_id, context.trace_id), parent_id,
//     name, span_kind, status_code, status_message: text. Literals compared
//     with span_kind and status_code are upper-cased.
//   - latency_ms: a number, (end_time - start_time) in milliseconds.
//   - start_time, end_time: datetimes, compared with ISO 8601 text that has
//     an offset ('2024-01-01T00:00:00+02:00' or '…Z'); text without one is
//     an error rather than a guess at a time zone.
//   - cumulative_llm_token_count_{prompt,completion,total} and the aliases
//     cumulative_token_count.{prompt,completion,total}: token sums over the
//     span and its descendants (total is prompt + completion, as in Phoenix).
//   - attributes, events: the JSON documents, as text (for 'x' in events).
//   - total_cost, prompt_cost, completion_cost: the span's cost in dollars,
//     0 when it has none (as in Phoenix, where unpriced reads 0).
//   - annotations['name'] and evals['name'] (span annotations) and
//     trace_annotations['name'] (annotations of the span's trace), read
//     through .label, .score, .explanation and .identifier.
//   - parent_span, only as parent_span is None (no parent row: roots and
//     orphans) or parent_span is not None. parent_id is None is the strict
//     "has no parent id" test.
//   - Any other dotted name is an attribute path: llm.model_name,
//     llm.input_messages.0.message.role, tag.tags. attributes['a']['b.c'],
//     attributes['a'][['b', 'c']] and metadata['k'] are the same paths
//     written with keys. Attributes are stored flat, so a path is one key
//     joined with dots, except past a JSON-string attribute (metadata,
//     llm.prompt_template.variables, tool.parameters, *.invocation_parameters),
//     where the rest of the path reads inside its JSON document (falling
//     back to the flat key, for clients that flatten metadata themselves).
//
// Attribute paths that the store keeps in columns read the column:
// input.value, output.value, input.mime_type, output.mime_type,
// llm.model_name, llm.provider, session.id, user.id and the
// llm.token_count.* counts (prompt, completion, total, and the cache_read,
// cache_write and reasoning details). These have fixed types; other
// attributes take the type of what they are compared with: a number against
// a number (non-numbers read as NULL), a boolean against True or False, text
// otherwise, and numbers when two attributes are ordered.
//
// # Trace and session filters
//
// CompileTraces and CompileSessions compile Phoenix's trace filter
// (GET …/traces?filter=) over traces aliased tr, and its session filter
// (GET …/sessions?filter=) over sessions aliased se, from the roll-ups the
// store keeps with each row, in the same syntax.
//
// Trace names: trace_id (text), start_time, end_time (datetimes),
// latency_ms, num_spans, error_count, llm_span_count, token_count_prompt,
// token_count_completion, token_count_total, prompt_cost, completion_cost,
// total_cost (numbers); input and output, the root span's input.value and
// output.value; user.id, attributes['key'] and metadata['key'], read on the
// root span; trace_annotations['name'].
//
// Session names: session_id, start_time, end_time, duration_ms,
// num_traces, num_traces_with_error, the token counts and costs and
// llm_span_count (summed over the session's traces where the session keeps
// no total of its own); first_input and last_output, the root input of its
// first trace and the root output of its last; 'text' in any_input and
// 'text' in any_output, which search every root span of the session;
// user.id, attributes['key'] and metadata['key'] on the first trace's root
// span; session_annotations['name'].
//
// Phoenix's trace and session filters are strict: another dotted name is
// an error that says to read it through attributes['…'], and the
// annotations of another grain are refused by name. What Loupe does not
// keep is refused with a message naming it: tool_span_count, and the
// comprehensions any(), all(), len(), sum(), max() and min() over spans,
// traces, annotations and cost details, which Phoenix's filters (spans'
// cost_details too) iterate.
//
// # Limits
//
// A filter longer than 128 KiB, or with more than 5,000 terms (names, values,
// operators, subscripts and list elements each count one), is refused
// before it is checked, with an error that says which limit it broke
// ("the filter is too complex: more than 5000 terms …"). Nesting is bounded
// separately, at 200 levels. Every term is work for the checker and the
// compiler, and often for every span a query reads (a chain of subscripts
// is a JSON path walked per row), so the limits bound what one filter can
// cost before any deadline has to.
//
// # Semantics
//
// Comparisons follow SQL: a missing attribute is NULL, so it matches neither
// x == 'a' nor x != 'a'; test for it with "is None". "x == None" means
// "x is None". 'sub' in x is a case-insensitive substring test; x in [..] is
// exact membership. Division is on floats, and dividing by zero gives NULL;
// floor division rounds down as in Python; % takes the dividend's sign as in
// SQL (-7 % 3 is -1), as Phoenix does. An annotation comparison holds when some
// annotation with that name satisfies the whole chain; a span without one
// reads its fields as None.
//
// # SQL
//
// Compile's output refers to spans as s and also reads traces (trace_id is a
// scalar subquery on traces by s.trace_rowid), spans again (parent_span, and
// the cumulative counts, a recursive query over the span's subtree per row,
// so slow on large projects), and span_annotations and trace_annotations
// (through EXISTS, so a span is never returned twice). Placeholders are ? for
// SQLite and $N for PostgreSQL, where every one carries a cast (text, bigint,
// float8, boolean, int) so the server never has to infer a type, and a value
// used twice is bound once. ClickHouse gets server-side parameters
// {pN:Type} (String, Int64, Float64, Bool), returned as sql.NamedArg values
// named pN and likewise bound once per value; its subqueries are written in
// the forms it can decorrelate (no correlated JOIN, LIMIT or recursion:
// annotations read as arrays, the session's first trace by argMin, the
// cumulative counts climbing from the spans that have tokens).
package query
