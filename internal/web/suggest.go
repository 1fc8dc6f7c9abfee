package web

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/web/view"
)

// The filter box's suggestions read little: the annotation names and
// labels the header already sums (hourly roll-ups), and the attributes of
// the newest suggestSample spans of the range, read once per project and
// range for suggestTTL, so typing costs no query at all.
const (
	suggestSample = 100
	suggestTTL    = 30 * time.Second
	suggestMax    = 12
	// suggestValueLen is the longest value offered: a filter compares
	// short values (models, labels, ids), not whole prompts.
	suggestValueLen = 80
)

type suggestion struct {
	Text  string `json:"text"`  // replaces the filter's runes [from, to)
	Label string `json:"label"` // what the list shows
	Kind  string `json:"kind"`  // name, key, annotation or value
	Note  string `json:"note,omitempty"`
}

type suggestAnswer struct {
	From  int          `json:"from"`
	To    int          `json:"to"`
	Items []suggestion `json:"items"`
}

// suggestData is what suggestions are made from, for one project, grain
// and time range.
type suggestData struct {
	keys        []string            // attribute keys of the sample, most common first
	annotations []string            // annotation names of the grain
	labels      map[string][]string // labels by annotation name, most common first
	read        time.Time
}

type suggestCache struct {
	mu sync.Mutex
	m  map[string]*suggestData
}

// filterSuggest answers GET /projects/{name}/filter/suggest?filter=…&at=…&grain=…
// (with the page's range parameters): what may come at rune at of the
// filter, and which runes it replaces.
func (h *Handler) filterSuggest(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ctx := r.Context()
	p, err := h.store.ProjectByName(ctx, r.PathValue("name"))
	if err != nil {
		h.fail(w, r, err, notFound{What: "Project", ID: r.PathValue("name")})
		return
	}
	src := q.Get("filter")
	if len(src) > maxFilterLength {
		http.Error(w, "the filter is longer than "+strconv.Itoa(maxFilterLength)+" bytes", http.StatusBadRequest)
		return
	}
	runes := []rune(src)
	at := len(runes)
	if s := q.Get("at"); s != "" {
		if at, err = strconv.Atoi(s); err != nil || at < 0 || at > len(runes) {
			http.Error(w, "at must be a position in the filter, 0 to "+strconv.Itoa(len(runes)), http.StatusBadRequest)
			return
		}
	}
	grain := grainParam(q.Get("grain"))
	tr := parseTimeRange(q, h.now())
	data, err := h.suggestData(ctx, p.ID, grain, tr)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	ans := suggest(runes, at, grain, data, func(key string) ([]string, error) {
		return h.suggestValues(ctx, p.ID, tr, key)
	})
	if ans.Items == nil {
		ans.Items = []suggestion{}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(ans)
}

func (h *Handler) suggestData(ctx context.Context, projectID int64, g filterGrain, tr timeRange) (*suggestData, error) {
	key := strconv.FormatInt(projectID, 10) + "|" + string(g) + "|" + tr.Label()
	c := &h.suggestions
	c.mu.Lock()
	d := c.m[key]
	c.mu.Unlock()
	if d != nil && time.Since(d.read) < suggestTTL {
		return d, nil
	}
	d = &suggestData{labels: map[string][]string{}, read: time.Now()}
	kind := store.SpanAnnotation
	switch g {
	case traceFilter:
		kind = store.TraceAnnotation
	case sessionFilter:
		kind = store.SessionAnnotation
	}
	sums, err := h.store.AnnotationSummaries(ctx, projectID, kind, tr.StartNs(), tr.EndNs())
	if err != nil {
		return nil, err
	}
	for _, s := range sums {
		d.annotations = append(d.annotations, s.Name)
		for _, l := range s.Labels {
			d.labels[s.Name] = append(d.labels[s.Name], l.Label)
		}
	}
	recs, err := h.store.Spans(ctx, store.SpanQuery{ProjectID: projectID, StartTime: tr.StartNs(), EndTime: tr.EndNs(),
		OrderByStartTime: true, Limit: suggestSample})
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, rec := range recs {
		a, err := view.ParseAttrs(span.ReadableJSON(rec.AttributesJSON))
		if err != nil {
			continue
		}
		for k := range a {
			if filterableKey(k) {
				counts[k]++
			}
		}
	}
	d.keys = byCount(counts)
	c.mu.Lock()
	if c.m == nil || len(c.m) > 256 {
		c.m = map[string]*suggestData{}
	}
	c.m[key] = d
	c.mu.Unlock()
	return d, nil
}

// filterableKey leaves out the keys a filter would not name: elements of
// flattened lists (llm.input_messages.0.message.content), whose positions
// mean nothing across spans.
func filterableKey(k string) bool {
	for _, part := range strings.Split(k, ".") {
		if part != "" && strings.Trim(part, "0123456789") == "" {
			return false
		}
	}
	return len(k) <= 120
}

// suggestValues reads the values key takes in the newest spans of the
// range that may hold it, most common first.
func (h *Handler) suggestValues(ctx context.Context, projectID int64, tr timeRange, key string) ([]string, error) {
	recs, err := h.store.Spans(ctx, store.SpanQuery{ProjectID: projectID, StartTime: tr.StartNs(), EndTime: tr.EndNs(),
		OrderByStartTime: true, Limit: suggestSample, HasAttribute: key})
	if err != nil {
		return nil, err
	}
	counts := map[string]int{}
	for _, rec := range recs {
		a, err := view.ParseAttrs(span.ReadableJSON(rec.AttributesJSON))
		if err != nil || !a.Has(key) {
			continue
		}
		if v := a.Str(key); v != "" && utf8.RuneCountInString(v) <= suggestValueLen && !strings.ContainsAny(v, "\n'") {
			counts[v]++
		}
	}
	return byCount(counts), nil
}

func byCount(counts map[string]int) []string {
	out := make([]string, 0, len(counts))
	for k := range counts {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if counts[out[i]] != counts[out[j]] {
			return counts[out[i]] > counts[out[j]]
		}
		return out[i] < out[j]
	})
	return out
}

var (
	// identTail is the name being typed at the cursor.
	identTail = regexp.MustCompile(`[A-Za-z_][\w.]*$`)
	// accessorOpen is an accessor's key being typed: annotations['na…
	accessorOpen = regexp.MustCompile(`\b(annotations|evals|trace_annotations|session_annotations|attributes|metadata)\s*\[\s*$`)
	// comparedTo is the left side of a comparison whose right side, a
	// string, is being typed: llm.model_name == '…, annotations['x'].label != '…
	comparedTo = regexp.MustCompile(`((?:[A-Za-z_][\w.]*)(?:\[\s*['"][^'"]*['"]\s*\])?(?:\.(?:label|score|name|explanation))?)\s*(?:==|!=|>=|<=|>|<|\bin\b|\bnot in\b)\s*\[?\s*$`)
	// afterWord is where a new name may start: the beginning, an open
	// parenthesis, or and/or/not.
	afterWord = regexp.MustCompile(`(?:^|\(|\b(?:and|or|not))\s*$`)
)

// suggest is what may come at rune at of src. values reads the values of
// an attribute key, only when the cursor is where one is typed.
func suggest(src []rune, at int, g filterGrain, d *suggestData, values func(string) ([]string, error)) suggestAnswer {
	before := string(src[:at])
	after := string(src[at:])
	ans := suggestAnswer{From: at, To: at}
	if open, quote := openString(before); open >= 0 {
		prefix := before[open+1:]
		head := strings.TrimRight(before[:open], " ")
		ans.From = at - utf8.RuneCountInString(prefix)
		closing := string(quote)
		if strings.HasPrefix(after, closing) {
			closing = ""
		}
		if m := accessorOpen.FindStringSubmatch(head); m != nil {
			var keys []string
			kind := "annotation"
			switch m[1] {
			case "attributes":
				keys, kind = d.keys, "key"
			case "metadata":
				kind = "key"
				for _, k := range d.keys {
					if rest, ok := strings.CutPrefix(k, "metadata."); ok {
						keys = append(keys, rest)
					}
				}
			default:
				keys = d.annotations
			}
			end := closing
			if !strings.HasPrefix(strings.TrimLeft(strings.TrimPrefix(after, string(quote)), " "), "]") {
				end += "]"
			}
			ans.Items = match(keys, prefix, kind, func(k string) string { return k + end })
			return ans
		}
		if m := comparedTo.FindStringSubmatch(head); m != nil {
			vals := valuesFor(m[1], g, d, values)
			ans.Items = match(vals, prefix, "value", func(v string) string { return v + closing })
		}
		return ans
	}
	tail := identTail.FindString(before)
	if !afterWord.MatchString(strings.TrimSuffix(before, tail)) {
		// Past a name, where an operator or a value goes.
		return ans
	}
	ans.From = at - utf8.RuneCountInString(tail)
	names := query.KnownNames(string(g))
	acc := query.AnnotationAccessor(string(g))
	var items []suggestion
	for _, n := range d.annotations {
		for _, part := range []string{"label", "score"} {
			expr := acc + "['" + n + "']." + part
			items = append(items, suggestion{Text: expr, Label: expr, Kind: "annotation"})
		}
	}
	items = filterItems(items, tail)
	items = append(items, match(names, tail, "name", nil)...)
	if g == spanFilter {
		items = append(items, match(d.keys, tail, "key", nil)...)
	}
	ans.Items = dedupe(items)
	if len(ans.Items) > suggestMax {
		ans.Items = ans.Items[:suggestMax]
	}
	// Nothing to add to a name already typed whole.
	if len(ans.Items) == 1 && ans.Items[0].Text == tail {
		ans.Items = nil
	}
	return ans
}

// valuesFor is the values the left side of a comparison takes.
func valuesFor(lhs string, g filterGrain, d *suggestData, values func(string) ([]string, error)) []string {
	if m := regexp.MustCompile(`^(\w+)\[\s*['"]([^'"]*)['"]\s*\]\.label$`).FindStringSubmatch(lhs); m != nil {
		return d.labels[m[2]]
	}
	switch lhs {
	case "span_kind":
		return kindNames()
	case "status_code":
		return []string{"ERROR", "OK", "UNSET"}
	}
	if g != spanFilter {
		return nil
	}
	key := lhs
	if m := regexp.MustCompile(`^(attributes|metadata)\[\s*['"]([^'"]*)['"]\s*\]$`).FindStringSubmatch(lhs); m != nil {
		key = m[2]
		if m[1] == "metadata" {
			key = "metadata." + key
		}
	}
	if !slices.Contains(d.keys, key) {
		return nil // not an attribute of the sample: no query for it
	}
	vals, err := values(key)
	if err != nil {
		return nil // a suggestion is a help, not an answer: none rather than an error
	}
	return vals
}

func kindNames() []string {
	out := make([]string, len(span.Kinds))
	for i, k := range span.Kinds {
		out[i] = string(k)
	}
	return out
}

// openString finds the string literal the text ends inside: the index of
// its opening quote and the quote, or -1.
func openString(s string) (int, rune) {
	open, quote := -1, rune(0)
	for i, c := range s {
		switch {
		case open >= 0 && c == '\\':
			// The next character is escaped; the loop cannot skip it, so
			// an escaped quote is handled below by looking back.
		case open >= 0 && c == quote && !(i > 0 && s[i-1] == '\\'):
			open, quote = -1, 0
		case open < 0 && (c == '\'' || c == '"'):
			open, quote = i, c
		}
	}
	return open, quote
}

// match offers the candidates that start with prefix (case ignored), then
// those that contain it.
func match(cands []string, prefix, kind string, text func(string) string) []suggestion {
	p := strings.ToLower(prefix)
	var first, then []suggestion
	for _, c := range cands {
		l := strings.ToLower(c)
		t := c
		if text != nil {
			t = text(c)
		}
		s := suggestion{Text: t, Label: c, Kind: kind}
		switch {
		case strings.HasPrefix(l, p):
			first = append(first, s)
		case p != "" && strings.Contains(l, p):
			then = append(then, s)
		}
	}
	out := append(first, then...)
	if len(out) > suggestMax {
		out = out[:suggestMax]
	}
	return out
}

func filterItems(items []suggestion, prefix string) []suggestion {
	p := strings.ToLower(prefix)
	var out []suggestion
	for _, it := range items {
		if strings.Contains(strings.ToLower(it.Text), p) {
			out = append(out, it)
		}
	}
	return out
}

func dedupe(items []suggestion) []suggestion {
	seen := map[string]bool{}
	var out []suggestion
	for _, it := range items {
		if !seen[it.Text] {
			seen[it.Text] = true
			out = append(out, it)
		}
	}
	return out
}
