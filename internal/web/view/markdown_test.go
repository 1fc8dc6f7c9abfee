package view

import (
	"regexp"
	"strings"
	"testing"
)

func TestMarkdown(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string // substrings the HTML holds
		not      []string // substrings it must not hold
	}{
		{name: "code block", in: "Run:\n\n```go\nfmt.Println(\"<hi>\")\n```\n",
			want: []string{`<pre><code class="language-go">fmt.Println(&quot;&lt;hi&gt;&quot;)`}},
		{name: "lists", in: "- one\n- two\n\n1. first\n2. second\n", want: []string{"<ul>\n<li>one</li>", "<ol>\n<li>first</li>"}},
		{name: "table", in: "| a | b |\n|---|---|\n| 1 | 2 |\n", want: []string{"<table>", "<th>a</th>", "<td>2</td>"}},
		{name: "link", in: "[docs](https://acme.test/docs)",
			want: []string{`<a href="https://acme.test/docs" rel="noopener noreferrer nofollow">docs</a>`}},
		{name: "bare url", in: "see https://acme.test/x now", want: []string{`<a href="https://acme.test/x" rel="noopener noreferrer nofollow">https://acme.test/x</a>`}},
		{name: "raw html", in: "<script>alert(1)</script>\n\nhi <img src=x onerror=alert(1)> there",
			not: []string{"<script", "<img", "onerror"}},
		{name: "javascript link", in: "[x](javascript:alert(1)) [y](JaVaScRiPt:alert(1)) [z](java&#x09;script:alert(1))",
			want: []string{`<a href="" rel=`}, not: []string{"script:"}},
		{name: "data link", in: "[x](data:text/html;base64,PHNjcmlwdD4=)", not: []string{"data:"}},
		{name: "autolink scheme", in: "<javascript:alert(1)> <vbscript:x>", want: []string{"<p>javascript:alert(1) vbscript:x</p>"}, not: []string{"<a"}},
		{name: "image becomes a link", in: "![chart](https://acme.test/c.png) ![](data:image/png;base64,AAAA)",
			want: []string{`<a href="https://acme.test/c.png" rel="noopener noreferrer nofollow">chart</a>`, ">image</a>"}, not: []string{"<img", "data:"}},
		{name: "title dropped", in: `[x](https://a.test "t\" onmouseover=\"x")`, not: []string{"onmouseover", "title="}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := string(Markdown(tc.in))
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("Markdown(%q) = %q, want it to hold %q", tc.in, got, w)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(strings.ToLower(got), strings.ToLower(w)) {
					t.Errorf("Markdown(%q) = %q, holds %q", tc.in, got, w)
				}
			}
			checkSafeHTML(t, tc.in, got)
		})
	}
}

// allowedTags are the elements Markdown may produce; anything else came
// from the input.
var allowedTags = map[string]bool{
	"p": true, "br": true, "hr": true, "h1": true, "h2": true, "h3": true, "h4": true, "h5": true, "h6": true,
	"em": true, "strong": true, "del": true, "code": true, "pre": true, "blockquote": true,
	"ul": true, "ol": true, "li": true, "input": true, "a": true,
	"table": true, "thead": true, "tbody": true, "tr": true, "th": true, "td": true,
}

var (
	tagRE  = regexp.MustCompile(`<(/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*)>`)
	attrRE = regexp.MustCompile(`\s([a-zA-Z-]+)="([^"]*)"`)
	// allowedAttrs are the attributes the renderer writes, per the
	// extensions in use: links, code languages, table alignment, task
	// list checkboxes.
	allowedAttrs = map[string]bool{"href": true, "rel": true, "class": true, "style": true, "align": true,
		"checked": true, "disabled": true, "type": true, "start": true}
)

// checkSafeHTML fails unless html holds only the renderer's own elements
// and attributes, and every link is one a reader can follow safely.
func checkSafeHTML(t *testing.T, in, html string) {
	t.Helper()
	for _, m := range tagRE.FindAllStringSubmatch(html, -1) {
		if !allowedTags[strings.ToLower(m[2])] {
			t.Fatalf("Markdown(%q) produced a <%s> element: %q", in, m[2], html)
		}
		rest := attrRE.ReplaceAllStringFunc(m[3], func(a string) string {
			kv := attrRE.FindStringSubmatch(a)
			name, val := strings.ToLower(kv[1]), kv[2]
			if !allowedAttrs[name] {
				t.Fatalf("Markdown(%q) produced attribute %s: %q", in, name, html)
			}
			if name == "href" && val != "" && !isSafeHref(val) {
				t.Fatalf("Markdown(%q) produced the link %q", in, val)
			}
			if name == "style" && !strings.HasPrefix(val, "text-align:") {
				t.Fatalf("Markdown(%q) produced the style %q", in, val)
			}
			return ""
		})
		if strings.Trim(rest, " /") != "" {
			t.Fatalf("Markdown(%q): tag %q holds more than known attributes (%q)", in, m[0], rest)
		}
	}
}

func isSafeHref(v string) bool {
	l := strings.ToLower(v)
	if strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "mailto:") {
		return true
	}
	i := strings.IndexAny(l, ":/?#")
	return i < 0 || l[i] != ':'
}

// FuzzMarkdown checks that no input, however hostile, makes Markdown
// write an element, attribute or link address of its own choosing.
func FuzzMarkdown(f *testing.F) {
	for _, s := range []string{
		"# Title\n\n**bold** _it_ `code`\n\n```\nblock\n```\n",
		"<script>alert(1)</script>", "[x](javascript:alert(1))", "<a href=\"javascript:x\">y</a>",
		"![i](data:image/svg+xml,<svg onload=alert(1)>)", "| a |\n|---|\n| <b>x</b> |", "- [x] done\n- [ ] todo",
		"<javascript:alert(1)>", "www.acme.test/path", "[a](<java\tscript:x>)", "[a]: javascript:x\n\n[a]",
		"x <!-- c --> y", "<div onclick=x>\n\nhi\n\n</div>", "~~s~~", "&#106;avascript:alert(1)",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSafeHTML(t, in, string(Markdown(in)))
	})
}
