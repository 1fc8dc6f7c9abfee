package query

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// ignorePos compares trees without their positions.
var ignorePos = cmp.FilterValues(func(a, b Pos) bool { return true }, cmp.Ignore())

// parseCases map a filter to the canonical form of its tree, which shows
// precedence and grouping through its parentheses.
var parseCases = []struct{ in, want string }{
	// The examples users write most.
	{`span_kind == 'LLM' and latency_ms > 4000`, `((span_kind == 'LLM') and (latency_ms > 4000))`},
	{`'refund' in input.value`, `('refund' in input.value)`},
	{`llm.model_name in ['gpt-4o', 'gpt-4o-mini']`, `(llm.model_name in ['gpt-4o', 'gpt-4o-mini'])`},
	{`status_code == 'ERROR'`, `(status_code == 'ERROR')`},
	{`metadata['topic'] == 'billing'`, `(metadata['topic'] == 'billing')`},
	{`llm.token_count.total > 1000`, `(llm.token_count.total > 1000)`},
	{`annotations['correctness'].label == 'incorrect'`, `(annotations['correctness'].label == 'incorrect')`},
	{`evals['hallucination'].score < 0.5`, `(evals['hallucination'].score < 0.5)`},
	{`parent_span is None`, `(parent_span is None)`},
	{`parent_id is not None`, `(parent_id is not None)`},
	{`cumulative_token_count.total > 5000`, `(cumulative_token_count.total > 5000)`},
	{`start_time >= '2024-01-01T00:00:00+02:00'`, `(start_time >= '2024-01-01T00:00:00+02:00')`},
	{`latency_ms / 1000 > 4`, `((latency_ms / 1000) > 4)`},
	{`llm.token_count.prompt + llm.token_count.completion > 100`, `((llm.token_count.prompt + llm.token_count.completion) > 100)`},
	{`llm.input_messages.0.message.role == 'user'`, `(llm.input_messages.0.message.role == 'user')`},

	// Precedence, as in Python.
	{`a == 1 or b == 2 and c == 3`, `((a == 1) or ((b == 2) and (c == 3)))`},
	{`(a == 1 or b == 2) and c == 3`, `(((a == 1) or (b == 2)) and (c == 3))`},
	{`a == 1 and b == 2 and c == 3`, `(((a == 1) and (b == 2)) and (c == 3))`},
	{`a == 1 or b == 2 or c == 3`, `(((a == 1) or (b == 2)) or (c == 3))`},
	{`not a == 1`, `(not (a == 1))`},
	{`not a == 1 and b == 2`, `((not (a == 1)) and (b == 2))`},
	{`not not a == 1`, `(not (not (a == 1)))`},
	{`a == 1 and not b == 2`, `((a == 1) and (not (b == 2)))`},
	{`a + b * c > d - e / f`, `((a + (b * c)) > (d - (e / f)))`},
	{`a - b - c == 0`, `(((a - b) - c) == 0)`},
	{`a // 2 % 3 == 1`, `(((a // 2) % 3) == 1)`},
	{`-a * b > -5`, `(((-a) * b) > (-5))`},
	{`- - a > +1`, `((-(-a)) > (+1))`},
	{`-x.y > 0`, `((-x.y) > 0)`},

	// Comparison operators and chains.
	{`a != 'x'`, `(a != 'x')`},
	{`a <= 1`, `(a <= 1)`},
	{`a >= 1`, `(a >= 1)`},
	{`a not in ['x']`, `(a not in ['x'])`},
	{`a is not None`, `(a is not None)`},
	{`0.5 < evals['x'].score <= 0.9`, `(0.5 < evals['x'].score <= 0.9)`},
	{`a < b == c != d`, `(a < b == c != d)`},
	{`(a < b) == True`, `((a < b) == True)`},
	{`'x' in a not in b`, `('x' in a not in b)`},

	// Values.
	{`a == "double"`, `(a == 'double')`},
	{`a == 'it\'s'`, `(a == 'it\'s')`},
	{`a == "it's"`, `(a == 'it\'s')`},
	{`a == 'tab\there\n'`, `(a == 'tab\there\n')`},
	{`a == '\x41\u00e9\U0001F600\101'`, `(a == 'Aé😀A')`},
	{`a == 'unknown \q escape'`, `(a == 'unknown \\q escape')`},
	{`a == r'\d+'`, `(a == '\\d+')`},
	{`a == 'con' "cat"`, `(a == 'concat')`},
	{`a == ''`, `(a == '')`},
	{`a == 'émoji ✓'`, `(a == 'émoji ✓')`},
	{`a == 1_000`, `(a == 1000)`},
	{`a == 0x1f`, `(a == 31)`},
	{`a == 1.5`, `(a == 1.5)`},
	{`a == .5`, `(a == 0.5)`},
	{`a == 5.`, `(a == 5.0)`},
	{`a == 1e3`, `(a == 1000.0)`},
	{`a == 1.5e-7`, `(a == 1.5e-07)`},
	{`a == 1e21`, `(a == 1e+21)`},
	{`a == 0`, `(a == 0)`},
	{`a == 9223372036854775807`, `(a == 9223372036854775807)`},
	{`a == True`, `(a == True)`},
	{`a == False`, `(a == False)`},
	{`a is None`, `(a is None)`},
	{`a in []`, `(a in [])`},
	{`a in ['x',]`, `(a in ['x'])`},
	{`a in ('x',)`, `(a in ('x',))`},
	{`a in ('x', 'y')`, `(a in ('x', 'y'))`},
	{`a in ()`, `(a in ())`},
	{`a in (1, -2, 3.5)`, `(a in (1, (-2), 3.5))`},
	{`(a == 1)`, `(a == 1)`},
	{`((a)) == ((1))`, `(a == 1)`},

	// Names, paths and calls.
	{`attributes['llm']['model_name'] == 'x'`, `(attributes['llm']['model_name'] == 'x')`},
	{`attributes['a'][['b', 'c']] == 1`, `(attributes['a'][['b', 'c']] == 1)`},
	{`x.0.5 == 1`, `(x.0.5 == 1)`},
	{`x[0].y == 1`, `(x[0].y == 1)`},
	{`metadata.topic == 'a'`, `(metadata.topic == 'a')`},
	{`annotations['a']`, `annotations['a']`},
	{`str(latency_ms) == '5'`, `(str(latency_ms) == '5')`},
	{`float(metadata['n']) > int('3',)`, `(float(metadata['n']) > int('3'))`},
	{`(5).x == 1`, `((5).x == 1)`},
	{`'abc'.x == 1`, `('abc'.x == 1)`},
	{`True. 0 == 1`, `(True.0 == 1)`},
	{`None.5 == 1`, `(None.5 == 1)`},
	{`café.thé == 1`, `(café.thé == 1)`},

	// Whitespace anywhere, including newlines.
	{"  span_kind\n==\t'LLM'  ", `(span_kind == 'LLM')`},
	{`a==1 and(b==2)`, `((a == 1) and (b == 2))`},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tc.in, err)
			}
			if got := e.String(); got != tc.want {
				t.Errorf("Parse(%q)\n got %s\nwant %s", tc.in, got, tc.want)
			}
			again, err := Parse(e.String())
			if err != nil {
				t.Fatalf("reparsing %q: %v", e.String(), err)
			}
			if d := cmp.Diff(e, again, ignorePos); d != "" {
				t.Errorf("canonical form %q reparses differently (-first +second):\n%s", e.String(), d)
			}
		})
	}
}

func TestParsePositions(t *testing.T) {
	e, err := Parse(`é == 1 and  x.y[0] > 2`)
	if err != nil {
		t.Fatal(err)
	}
	b := e.(*BoolExpr)
	if got := b.OpPos; got != 8 {
		t.Errorf("'and' at column %d, want 8 (columns count characters, not bytes)", got)
	}
	c := b.Y.(*CompareExpr)
	idx := c.X.(*Index)
	if idx.Lbrack != 16 || idx.X.(*Attr).NamePos != 15 || c.OpPos[0] != 20 || c.Pos() != 13 {
		t.Errorf("positions: [ at %d, y at %d, > at %d, x at %d; want 16, 15, 20, 13", idx.Lbrack, idx.X.(*Attr).NamePos, c.OpPos[0], c.Pos())
	}
}

// parseErrors are filters that do not parse, with the exact message.
var parseErrors = []struct{ in, want string }{
	{``, `the filter is empty`},
	{`   `, `the filter is empty`},
	{`latency_ms ==`, `expected a value after '==' at column 14`},
	{`latency_ms == )`, `expected a value after '==' but found ')' at column 15`},
	{`span_kind == 'LLM' and`, `expected a value after 'and' at column 23`},
	{`a not in`, `expected a value after 'not in' at column 9`},
	{`a is not`, `expected a value after 'is not' at column 9`},
	{`a == not b`, `expected a value after '==' but found 'not' at column 6; put the 'not' expression in parentheses`},
	{`a = 1`, `'=' is not a comparison at column 3; did you mean '=='?`},
	{`a == 1 && b == 2`, `unsupported operator '&&' at column 8; did you mean 'and'?`},
	{`a == 1 || b == 2`, `unsupported operator '||' at column 8; did you mean 'or'?`},
	{`a <> 1`, `unsupported operator '<>' at column 3; did you mean '!='?`},
	{`!a`, `unsupported operator '!' at column 1; did you mean 'not' or '!='?`},
	{`any(s.status_code == 'ERROR' for s in spans)`, `comprehensions over 'spans' ('… for x in …') are not supported at column 30; Loupe's filters read each span, trace or session and the totals kept with it, such as a trace's num_spans, error_count, llm_span_count, token_count_total and total_cost`},
	{`len([d for d in cost_details]) > 1`, `comprehensions over 'cost_details' ('… for x in …') are not supported at column 8; Loupe's filters read each span, trace or session and the totals kept with it, such as a trace's num_spans, error_count, llm_span_count, token_count_total and total_cost`},
	{`a ** 2 > 1`, `unsupported operator '**' at column 3`},
	{`a & b`, `unsupported operator '&' at column 3; did you mean 'and'?`},
	{`a == 1 AND b == 2`, `expected an operator or the end of the filter but found name 'AND' at column 8; did you mean 'and'?`},
	{`a == 1 b`, `expected an operator or the end of the filter but found name 'b' at column 8`},
	{`a == 1 if b else c`, `expected an operator or the end of the filter but found name 'if' at column 8`},
	{`a not b`, `expected an operator or the end of the filter but found 'not' at column 3`},
	{`(a == 1`, `unclosed '(' at column 1`},
	{`(a == 1 b`, `expected ')' to close '(' but found name 'b' at column 9`},
	{`a == 1)`, `unmatched ')' at column 7`},
	{`a in [1, 2`, `unclosed '[' at column 6`},
	{`a in (1, 2`, `unclosed '(' at column 6`},
	{`a in (1, 2 3)`, `expected ')' to close '(' but found number 3 at column 12`},
	{`a in [1 2]`, `expected ']' to close '[' but found number 2 at column 9`},
	{`a in [1,, 2]`, `expected a value after ',' but found ',' at column 9`},
	{`a[] == 1`, `expected a value after '[' but found ']' at column 3`},
	{`a[1 == 1`, `unclosed '[' at column 2`},
	{`a. == 1`, `expected a name after '.' but found '==' at column 4`},
	{`a.in == 1`, `expected a name after '.' but found 'in' at column 3`},
	{`a.1x == 1`, `invalid path segment '1x' at column 3; a segment after '.' is a name or a number; quote other keys, e.g. attributes['1x']`},
	{`a == 'abc`, `unterminated string at column 6`},
	{`a == "abc'`, `unterminated string at column 6`},
	{"a == 'ab\nc'", `unterminated string at column 6`},
	{`a == '\x4'`, `invalid escape in string at column 7`},
	{`a == '\ud800'`, `invalid escape in string at column 7`},
	{`a == '\N{DASH}'`, `named escapes (\N{…}) are not supported at column 7`},
	{`a == f'x'`, `f-strings are not supported at column 6`},
	{`a == b'x'`, `byte strings are not supported at column 6`},
	{`a == 4s`, `invalid number '4s' at column 6`},
	{`a == 1e`, `invalid number '1e' at column 6`},
	{`a==1and b==2`, `invalid number '1and' at column 4`},
	{`a == 5j`, `invalid number '5j' at column 6`},
	{`a == 1.2.3`, `invalid number '1.2.3' at column 6`},
	{`a == 007`, `invalid number '007' at column 6; leading zeros are not allowed`},
	{`a == 0x`, `invalid number '0x' at column 6`},
	{`a == 9223372036854775808`, `number '9223372036854775808' is too large at column 6`},
	{`a == 1e999`, `number '1e999' is out of range at column 6`},
	{`a == $x`, `unexpected character '$' at column 6`},
	{`a[1:2] == 1`, `slices and other uses of ':' are not supported at column 4`},
	{`x.y(1) == 1`, `only str(), int() and float() can be called at column 4`},
	{`str(1 == 1`, `unclosed '(' at column 4`},
	{"a == '\xff'", `the filter is not valid UTF-8 at column 7`},
	{"'\uFFFD' == 'é\xff'", `the filter is not valid UTF-8 at column 10`},
}

func TestParseErrors(t *testing.T) {
	for _, tc := range parseErrors {
		t.Run(tc.in, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %s, want error %q", tc.in, e, tc.want)
			}
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Parse(%q) error %T is not *Error", tc.in, err)
			}
			if err.Error() != tc.want {
				t.Errorf("Parse(%q)\n got error %s\nwant error %s", tc.in, err, tc.want)
			}
		})
	}
}

// limitErrors are filters refused for their size alone, whatever they say:
// too long, or too many terms. Long chains of subscripts and long lists are
// not nested, so the depth limit does not stop them.
var limitErrors = []struct{ name, in, want string }{
	{"100,000 subscripts", "metadata" + strings.Repeat("['k']", 100_000) + " == 'x'",
		"the filter is too long: 500015 bytes, at most 131072; narrow it, or split it into several queries"},
	{"500 KB of text", "'" + strings.Repeat("refund ", 500_000/7) + "' in input.value",
		"the filter is too long: 500013 bytes, at most 131072; narrow it, or split it into several queries"},
	{"2,500 subscripts", "metadata" + strings.Repeat("['k']", 2_500) + " == 'x'",
		"the filter is too complex: more than 5000 terms (names, values, operators and subscripts) at column 12505; narrow it, or split it into several queries"},
	{"5,000 dotted segments", "llm" + strings.Repeat(".k", 5_000) + " == 'x'",
		"the filter is too complex: more than 5000 terms (names, values, operators and subscripts) at column 10002; narrow it, or split it into several queries"},
	{"a list of 5,000 values", "span_id in [" + strings.Repeat("'a', ", 5_000) + "]",
		"the filter is too complex: more than 5000 terms (names, values, operators and subscripts) at column 24998; narrow it, or split it into several queries"},
}

func TestParseLimits(t *testing.T) {
	for _, tc := range limitErrors {
		t.Run(tc.name, func(t *testing.T) {
			e, err := Parse(tc.in)
			if err == nil {
				t.Fatalf("Parse = %.80s…, want error %q", e, tc.want)
			}
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("error %T is not *Error", err)
			}
			if err.Error() != tc.want {
				t.Errorf("got error  %s\nwant error %s", err, tc.want)
			}
		})
	}
	// Just under both limits still parses.
	ids := strings.Repeat("'0123456789abcdef', ", 4_000)
	if _, err := Parse("span_id in [" + ids + "'0123456789abcdef']"); err != nil {
		t.Errorf("a list of 4,001 span ids: %v", err)
	}
}

func TestParseDepth(t *testing.T) {
	deep := ""
	for range 1000 {
		deep += "("
	}
	_, err := Parse(deep + "a")
	if err == nil || err.Error() != "the filter is nested too deeply at column 201; at most 200 operators can nest or follow each other; write long lists of alternatives as x in [...]" {
		t.Errorf("got %v", err)
	}
}
