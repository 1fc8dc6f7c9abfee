package spanquery

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// TestPlanMatchesReshaping checks that a plan gives the columns, kinds and
// JSON that frameAttributes gives the same document, and that documents
// the fast path cannot follow go the exact way.
func TestPlanMatchesReshaping(t *testing.T) {
	deep := strings.Repeat(`{"a":`, span.MaxJSONDepth) + "1" + strings.Repeat("}", span.MaxJSONDepth)
	tests := []struct {
		name  string
		doc   string
		exact bool // the document takes the exact path
	}{
		{"empty", `{}`, false},
		{"custom group", `{"a.b":1,"a.c":"x","a.d.e":true}`, false},
		{"messages", `{"llm.input_messages.0.message.role":"user","llm.input_messages.0.message.content":"hi \"there\"\n",` +
			`"llm.input_messages.1.message.role":"assistant","llm.input_messages.1.message.tool_calls.0.tool_call.function.arguments":"{\"q\":1}"}`, false},
		{"tokens", `{"llm.token_count.prompt":12,"llm.token_count.completion":3.5,"llm.model_name":"gpt-4o"}`, false},
		{"json string object", `{"metadata":"{\"tier\":\"gold\",\"n\":1.5,\"l\":[1,2]}"}`, false},
		{"json string list", `{"tool.parameters":"[{\"a\":1},{\"b\":[2,3]}]"}`, false},
		{"json string number", `{"metadata":"7"}`, false},
		{"json string with space", `{"metadata":" {\"a\": 1} "}`, false},
		{"json string empty object", `{"metadata":"{}","x":1}`, false},
		{"json string zero", `{"metadata":"0","llm.prompt_template.variables":"0.0"}`, false},
		{"json string empty list", `{"metadata":" [ ] "}`, false},
		{"json string null", `{"metadata":"null","document.metadata":"false"}`, false},
		{"json string empty text", `{"metadata":"\"\""}`, false},
		{"json string not json", `{"metadata":"not json"}`, true},
		{"json string trailing", `{"metadata":"{} }"}`, true},
		{"json string text", `{"metadata":"\"text\""}`, true},
		{"json string not text", `{"metadata":{"a":1},"tool.parameters":5}`, false},
		{"json string in documents", `{"retrieval.documents.0.document.id":"d1","retrieval.documents.0.document.metadata":"{\"s\":\"p.md\"}",` +
			`"retrieval.documents.1.document.metadata":"{}","retrieval.documents.1.document.score":0.5}`, false},
		{"json string nested", `{"k":{"metadata":"{\"a\":1}"}}`, true},
		{"nulls", `{"a":null,"b":[1,null,"x"],"c":{"d":null,"e":2},"d.e":null}`, false},
		{"numbers", `{"n":-0,"m":1e400,"k":12345678901234567890,"f":1.0,"g":-2.5e-7,"i":0,"j":-9223372036854775808,"h":1E+2}`, false},
		{"strings", "{\"s\":\"caf\\u00e9 \\ud83d\\ude00 \\u2028 \\ud800 tab\\t\\/\",\"t\":\"é\u2029\",\"u\":\"\xff\xfe\",\"v\":\"<&>\"}", false},
		{"duplicate keys", `{"a":1,"a":"x","b":"{}","metadata":"{\"a\":1}","metadata":"{}"}`, false},
		{"index and value", `{"x.0":"a","x.1":"b","x":"v"}`, false},
		{"index and name", `{"x.0.y":1,"x.a":2,"x.2.z":3}`, false},
		{"convention and value", `{"llm.input_messages.0.message.role":"u","llm.input_messages":"flat"}`, false},
		{"sparse indices", `{"llm.output_messages.3.message.role":"a","llm.output_messages.1.message.role":"b"}`, false},
		{"lists", `{"l":[{"a":1},2,{"b":[{"c":3}]}],"tag.tags":["x","y"],"e":[],"o":{}}`, false},
		{"booleans", `{"b":true,"c":false,"d":[true,false]}`, false},
		{"space", " { \"a\" : [ 1 , 2 ] ,\n\"b\":\t{ \"c\" : \"d\" } } ", false},
		{"escaped keys", `{"a\"b":1,"c\u0064.e":2,"\u00e9":3}`, false},
		{"odd keys", `{"":1,"a..b":2,".c":3,"d.":4,"0":5,"1.x":6}`, false},
		{"deep", `{"x":` + deep + `}`, true},
		{"leading zero", `{"a":01}`, true},
		{"bad escape", `{"a":"\x"}`, true},
		{"not an object", `[1]`, true},
		{"trailing text", `{"a":1} x`, true},
		{"truncated", `{"a":[1,`, true},
		{"control character", "{\"a\":\"\n\"}", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &defaultShape{attrs: map[string]*colStats{}}
			p := s.planOf([]byte(tc.doc))
			if exact := p == nil || p.slow; exact != tc.exact {
				t.Fatalf("exact path = %v, want %v", exact, tc.exact)
			}
			if tc.exact {
				return
			}
			r := &spanRow{rec: &store.SpanRecord{AttributesJSON: json.RawMessage(tc.doc)}}
			doc, _ := r.doc()
			want := frameAttributes(doc)
			var names []string
			for _, c := range p.cols {
				names = append(names, c.name)
				v := want[c.name]
				if got := c.kind; got != kindOf(v) {
					t.Errorf("column %s: kind %d, want %d", c.name, got, kindOf(v))
				}
				if got, want := appendTmpl(nil, &c.tmpl, s.walk.leaves, false, new([]byte)), appendCell(nil, v); !bytes.Equal(got, want) {
					t.Errorf("column %s:\n got %s\nwant %s", c.name, got, want)
				}
				if n, ok := v.(int64); ok {
					if got, want := appendTmpl(nil, &c.tmpl, s.walk.leaves, true, new([]byte)), appendCell(nil, float64(n)); !bytes.Equal(got, want) {
						t.Errorf("column %s as a number:\n got %s\nwant %s", c.name, got, want)
					}
				}
			}
			if diff := cmp.Diff(sortedKeys(want), names, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("columns differ (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPlansWriteTheExactFrame writes the default frame of the load
// generator's agent spans, and of the tests' agent run, both ways: from
// plans and the exact way.
func TestPlansWriteTheExactFrame(t *testing.T) {
	light, whole := benchRecords(t, 600)
	s, _ := newStreamer(t, agentSpans()...)
	p, err := s.Store.ProjectByName(t.Context(), "agent")
	if err != nil {
		t.Fatal(err)
	}
	keys, err := s.Store.SpanKeys(t.Context(), store.SpanQuery{ProjectID: p.ID, OrderByStartTime: true})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, k := range keys {
		ids = append(ids, k.RowID)
	}
	agentLight, _ := s.Store.SpansByRowID(t.Context(), ids, true)
	agentWhole, _ := s.Store.SpansByRowID(t.Context(), ids, false)
	for _, set := range []struct {
		name         string
		light, whole []store.SpanRecord
	}{{"generated", light, whole}, {"agent", agentLight, agentWhole}} {
		frame := func(exact bool) string {
			shape := &defaultShape{attrs: map[string]*colStats{}, exact: exact}
			for i := range set.light {
				if err := shape.scan(&spanRow{rec: &set.light[i]}); err != nil {
					t.Fatal(err)
				}
			}
			tb := newTable(shape.layout())
			out := tb.appendHead(nil)
			for i := range set.whole {
				var ok bool
				out, ok, err = shape.appendRow(out, &tb, &spanRow{rec: &set.whole[i]}, i == 0)
				if err != nil || !ok {
					t.Fatalf("span %d: written %v, %v", i, ok, err)
				}
			}
			return string(out)
		}
		if got, want := frame(false), frame(true); got != want {
			t.Errorf("%s: the frame from plans differs from the exact one:\n%s", set.name, cmp.Diff(want, got))
		}
	}
}

// TestUnquote compares appendUnquoted with encoding/json on strings with
// every kind of escape, broken surrogates and bytes that are not UTF-8.
func TestUnquote(t *testing.T) {
	pieces := []string{`a`, `\"`, `\\`, `\/`, `\'`, `\b`, `\f`, `\n`, `\r`, `\t`, `\u00e9`, `\u2028`, `\ud83d\ude00`,
		`\ud800`, `\udc00`, `\ud800\u0041`, `\ud800\ud800`, `\ud83d`, "é", "\xff", "\xe2\x82", "\U0001F600", `\u0000`, `\x`, `\u12`, "\x01", `"`}
	for i := range pieces {
		for j := range pieces {
			for k := range pieces {
				raw := []byte(`"` + pieces[i] + pieces[j] + pieces[k] + `"`)
				var want string
				werr := json.Unmarshal(raw, &want)
				got, ok := appendUnquoted(nil, raw)
				if ok != (werr == nil) || ok && string(got) != want {
					t.Errorf("%s: %q, %v; encoding/json %q, %v", raw, got, ok, want, werr)
				}
			}
		}
	}
}
