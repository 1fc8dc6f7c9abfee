package query

import (
	"errors"
	"testing"
)

// checkErrors parse but are refused by the checker, with the exact message.
var checkErrors = []struct{ in, want string }{
	// Names.
	{`latncy_ms > 4000`, `unknown name 'latncy_ms' at column 1; did you mean 'latency_ms'?`},
	{`latency > 4000`, `unknown name 'latency' at column 1; did you mean 'latency_ms'?`},
	{`spankind == 'LLM'`, `unknown name 'spankind' at column 1; did you mean 'span_kind'?`},
	{`span_kind == LLM`, `unknown name 'LLM' at column 14; to compare with text, quote it: 'LLM'`},
	{`x.y == true`, `unknown name 'true' at column 8; did you mean 'True'?`},
	{`x.y is null`, `unknown name 'null' at column 8; did you mean 'None'?`},
	{`context.spanid == 'a'`, `unknown name 'context.spanid' at column 1; did you mean 'context.span_id'?`},
	{`context['span_id'] == 'a'`, `unknown name 'context['span_id']' at column 1; did you mean 'context.span_id'?`},
	{`cumulative_token_count.totl > 1`, `unknown name 'cumulative_token_count.totl' at column 1; did you mean 'cumulative_token_count.total'?`},
	{`latency_ms.x > 1`, `latency_ms has no fields or keys at column 12`},
	{`span_kind['a'] == 'x'`, `span_kind has no fields or keys at column 10`},
	{`str(x.y).z == 'a'`, `cannot use '.z' on str(x.y); only names have fields and keys at column 10`},
	{`len(x.y) > 1`, `len() over a collection is not supported at column 1; Loupe's filters test each row on its own values and the totals kept with it; only str(), int() and float() can be called`},
	{`lenght(x.y) > 1`, `unknown function 'lenght' at column 1; only str(), int() and float() can be called`},
	{`flaot(x.y) > 1`, `unknown function 'flaot' at column 1; did you mean 'float'?`},
	{`int(x.y, 10) > 1`, `int() takes exactly one argument at column 1`},
	{`int() > 1`, `int() takes exactly one argument at column 1`},
	{`float(start_time) > 1`, `float() cannot convert start_time (a datetime) at column 7`},
	{`int(True) > 1`, `int() of a boolean is not supported at column 5`},

	// Conditions and values.
	{`latency_ms`, `latency_ms is a number, not a condition at column 1; compare it with something, e.g. latency_ms == …`},
	{`True`, `True is a value, not a condition at column 1; compare it with something, e.g. True == …`},
	{`x.y and span_kind == 'LLM'`, `x.y is an attribute, not a condition at column 1; compare it with something, e.g. x.y == …`},
	{`(a.b == 1) == True`, `(a.b == 1) is a condition, not a value at column 2; conditions combine with 'and', 'or' and 'not'`},
	{`parent_span`, `parent_span can only be tested with 'is None' or 'is not None' at column 1`},
	{`parent_span == 'x'`, `parent_span can only be tested with 'is None' or 'is not None' at column 1`},
	{`parent_span.x is None`, `parent_span can only be tested with 'is None' or 'is not None' at column 1`},

	// Annotations.
	{`annotations == 'x'`, `annotations needs an annotation name in brackets at column 1; e.g. annotations['correctness'].label`},
	{`annotations.correctness.label == 'x'`, `annotations needs an annotation name in brackets at column 1; e.g. annotations['correctness'].label`},
	{`annotations[1].label == 'x'`, `annotation names are quoted text at column 13; e.g. annotations['correctness'].label`},
	{`evals['x'].lable == 'x'`, `unknown annotation field 'lable' at column 12; did you mean 'label'?`},
	{`evals['x'].value == 'x'`, `unknown annotation field 'value' at column 12; use .label, .score, .explanation or .identifier`},
	{`evals['x']['label'] == 'x'`, `annotations are read through .label, .score, .explanation or .identifier at column 11; e.g. evals['correctness'].label`},
	{`evals['x'].label.y == 'x'`, `annotation fields have no fields or keys at column 18`},
	{`evals['x'] == 'good'`, `evals['x'] is an annotation, not a value at column 1; compare one of its fields: evals['x'].label, .score or .explanation`},
	{`evals['x'].score > 'high'`, `cannot compare text 'high' with a number at column 20`},

	// Types.
	{`latency_ms == 'LLM'`, `cannot compare text 'LLM' with a number at column 15`},
	{`span_kind == 5`, `cannot compare number 5 with text at column 14`},
	{`'LLM' == latency_ms`, `cannot compare text 'LLM' with a number at column 1`},
	{`span_kind > latency_ms`, `cannot compare span_kind (text) with latency_ms (a number) at column 11`},
	{`llm.token_count.total > '1000'`, `cannot compare text '1000' with a number at column 25`},
	{`x.y == start_time`, `cannot compare x.y (an attribute) with start_time (a datetime) at column 5`},
	{`start_time > 1700000000`, `cannot compare number 1700000000 with a datetime at column 14; write datetimes as quoted text with an offset, e.g. '2024-01-01T00:00:00+00:00'`},
	{`x.y > True`, `booleans cannot be compared with '>' at column 5`},
	{`latency_ms < None`, `None cannot be compared with '<' at column 14; use 'is None' or 'is not None'`},
	{`latency_ms is 5`, `'is' can only test for None at column 15; use '==' or '!=' to compare values`},
	{`x.y is True`, `'is' can only test for None at column 8; use '==' or '!=' to compare values`},
	{`x.y == ['a']`, `a list can only follow 'in' or 'not in' at column 8`},
	{`['a'] is None`, `a list is never None at column 1`},

	// in.
	{`'a' in latency_ms`, `'in' needs a list, a tuple or text after it, but latency_ms is a number at column 8`},
	{`5 in name`, `'in' looks for text inside text, but found number 5 at column 1`},
	{`None in name`, `None cannot be tested with 'in' at column 1; use 'is None'`},
	{`name in None`, `'in' needs a list, a tuple or text after it, but found None at column 9`},
	{`span_kind in ['LLM', 5]`, `the list mixes text and a number at column 22`},
	{`span_kind in [None]`, `None cannot be in a list at column 15; test for it with 'is None'`},
	{`latency_ms in ['a', 'b']`, `cannot compare text 'a' with a number at column 16`},
	{`span_kind in [name]`, `list elements must be literal values such as 'text', 5 or True at column 15`},
	{`span_kind in [['a']]`, `list elements must be literal values such as 'text', 5 or True at column 15`},

	// Arithmetic.
	{`name + 1 == 'a'`, `'+' cannot join name (text) and number 1 at column 6`},
	{`name - 'a' == 'b'`, `'-' needs numbers, but name is text at column 1`},
	{`-name == 'a'`, `'-' needs numbers, but name is text at column 2`},
	{`start_time - 1 > 0`, `arithmetic on datetimes is not supported at column 1`},
	{`True + 1 > 0`, `'+' needs numbers, but found True at column 1`},

	// Datetimes.
	{`start_time > '2024-01-01T00:00:00'`, `datetime '2024-01-01T00:00:00' has no UTC offset at column 14; add one, e.g. '2024-01-01T00:00:00+00:00'`},
	{`start_time > '2024-01-01'`, `datetime '2024-01-01' has no UTC offset at column 14; add one, e.g. '2024-01-01T00:00:00+00:00'`},
	{`start_time > 'yesterday'`, `invalid datetime 'yesterday' at column 14; write it like '2024-01-01T00:00:00+00:00'`},
	{`start_time > '2024-02-30T00:00:00Z'`, `invalid datetime '2024-02-30T00:00:00Z' at column 14; write it like '2024-01-01T00:00:00+00:00'`},
	{`start_time > '2024-01-01T25:00:00Z'`, `invalid datetime '2024-01-01T25:00:00Z' at column 14; write it like '2024-01-01T00:00:00+00:00'`},
	{`start_time > '3000-01-01T00:00:00Z'`, `datetime '3000-01-01T00:00:00Z' is out of range at column 14`},
	{`start_time in ['2024-01-01']`, `datetime '2024-01-01' has no UTC offset at column 16; add one, e.g. '2024-01-01T00:00:00+00:00'`},

	// Keys.
	{`attributes[x.y] == 1`, `keys must be quoted text or integers at column 12`},
	{`attributes[1.5] == 1`, `keys must be quoted text or integers at column 12`},
	{`attributes['a'][-1] == 1`, `negative indexes only work inside JSON values such as metadata at column 17`},
	{`metadata[99999999999] == 1`, `index 99999999999 is out of range at column 10`},
}

func TestCheckErrors(t *testing.T) {
	for _, tc := range checkErrors {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			err = Check(e)
			if err == nil {
				t.Fatalf("Check(%q) passed, want error %q", tc.in, tc.want)
			}
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Check(%q) error %T is not *Error", tc.in, err)
			}
			if err.Error() != tc.want {
				t.Errorf("Check(%q)\n got error %s\nwant error %s", tc.in, err, tc.want)
			}
			for _, d := range []Dialect{SQLite, Postgres(1)} {
				if _, _, cerr := Compile(e, d); cerr == nil || cerr.Error() != err.Error() {
					t.Errorf("Compile(%q, %s) error %v, want the Check error", tc.in, d, cerr)
				}
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := Validate(`span_kind == 'LLM'`); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if err := Validate(`span_kind ==`); err == nil {
		t.Error("Validate accepted a syntax error")
	}
	if err := Validate(`spn_kind == 'LLM'`); err == nil {
		t.Error("Validate accepted an unknown name")
	}
}

func TestParseDatetime(t *testing.T) {
	for in, want := range map[string]int64{
		"2024-01-01T00:00:00Z":                1704067200000000000,
		"2024-01-01T00:00:00+00:00":           1704067200000000000,
		"2024-01-01T02:00:00+02:00":           1704067200000000000,
		"2023-12-31T19:00:00-05:00":           1704067200000000000,
		"2024-01-01 00:00:00+0000":            1704067200000000000,
		"2024-01-01t00:00z":                   1704067200000000000,
		"2024-01-01T00Z":                      1704067200000000000,
		"2024-01-01T00:00:00.5+00:00":         1704067200500000000,
		"2024-01-01T00:00:00.123456789+00:00": 1704067200123456789,
		"2024-01-01T05:30:00+05:30":           1704067200000000000,
		"2024-01-01T00:00:00+01":              1704063600000000000,
	} {
		got, err := parseDatetime(1, in)
		if err != nil || got != want {
			t.Errorf("parseDatetime(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
}

// grainErrors are trace and session filters refused with the exact
// message: names of the other grains, what Loupe does not keep, and what
// Phoenix iterates.
var grainErrors = []struct {
	g        grain
	in, want string
}{
	{traceGrain, `tool_span_count > 0`, `tool_span_count is not supported: Loupe keeps no count of TOOL spans per trace or session at column 1; filter on num_spans, error_count, llm_span_count, latency_ms, token_count_total and total_cost`},
	{traceGrain, `annotations['x'].label == 'y'`, `annotations[...] is not available in the trace filter at column 1; use trace_annotations[...] for the trace's annotations`},
	{traceGrain, `spans == 1`, `'spans' is a collection, which Phoenix iterates with any(), all(), len(), sum(), max() or min(); Loupe's trace filters do not iterate collections at column 1; filter on num_spans, error_count, llm_span_count, latency_ms, token_count_total and total_cost`},
	{traceGrain, `llm.model_name == 'x'`, `unknown name 'llm.model_name' at column 1; a trace filter reads the root span's attributes as attributes['llm.model_name']`},
	{traceGrain, `latncy_ms > 1`, `unknown name 'latncy_ms' at column 1; did you mean 'latency_ms'?`},
	{traceGrain, `num_spans.x > 1`, `num_spans has no fields or keys at column 11`},
	{traceGrain, `attributes == 'x'`, `attributes needs a key in brackets at column 1; e.g. attributes['llm.model_name'] reads the root span's attribute`},
	{sessionGrain, `metadata.topic == 'x'`, `metadata needs a key in brackets at column 1; e.g. metadata['topic'] reads the root span's metadata`},
	{traceGrain, `parent_span is None`, `unknown name 'parent_span' at column 1; to compare with text, quote it: 'parent_span'`},
	{traceGrain, `len(spans) > 2`, `len() over a collection is not supported at column 1; Loupe's filters test each row on its own values and the totals kept with it; only str(), int() and float() can be called`},
	{sessionGrain, `any_input == 'x'`, `any_input is a search over every root span of the session, not a value at column 1; write 'text' in any_input or 'text' not in any_input`},
	{sessionGrain, `any_output is None`, `any_output is a search over every root span of the session, not a value at column 1; write 'text' in any_output or 'text' not in any_output`},
	{sessionGrain, `5 in any_input`, `'in' looks for text inside text, but found number 5 at column 1`},
	{sessionGrain, `trace_annotations['x'].label == 'y'`, `trace_annotations[...] is not available in the session filter at column 1; use session_annotations[...] for the session's annotations`},
	{sessionGrain, `traces == 1`, `'traces' is a collection, which Phoenix iterates with any(), all(), len(), sum(), max() or min(); Loupe's session filters do not iterate collections at column 1; filter on num_traces, num_traces_with_error, llm_span_count, duration_ms, token_count_total and total_cost`},
	{sessionGrain, `num_trace > 1`, `unknown name 'num_trace' at column 1; did you mean 'num_traces'?`},
	{spanGrain, `cost_details == 1`, `'cost_details' (a span's cost by token type) is a collection, which Phoenix iterates with any(), all(), len(), sum(), max() or min(); Loupe's filters do not iterate collections at column 1; filter on the span's total_cost, prompt_cost or completion_cost`},
	{spanGrain, `sum(x.y) > 1`, `sum() over a collection is not supported at column 1; Loupe's filters test each row on its own values and the totals kept with it; only str(), int() and float() can be called`},
}

func TestGrainCheckErrors(t *testing.T) {
	for _, tc := range grainErrors {
		t.Run(tc.g.String()+"/"+tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			_, err = checkAs(e, tc.g)
			if err == nil || err.Error() != tc.want {
				t.Fatalf("check(%q) as a %s filter\n got error %v\nwant error %s", tc.in, tc.g, err, tc.want)
			}
			for _, d := range []Dialect{SQLite, Postgres(1)} {
				if _, _, cerr := compileAs(e, d, tc.g); cerr == nil || cerr.Error() != err.Error() {
					t.Errorf("compile(%q, %s) error %v, want the check error", tc.in, d, cerr)
				}
			}
		})
	}
	// The public entry points check as their grain.
	e, _ := Parse(`error_count > 0`)
	if CheckTraces(e) != nil || CheckSessions(e) == nil || Check(e) == nil {
		t.Errorf("error_count > 0: CheckTraces %v, CheckSessions %v, Check %v; want only traces to accept it",
			CheckTraces(e), CheckSessions(e), Check(e))
	}
}
