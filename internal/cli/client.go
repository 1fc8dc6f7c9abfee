package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/loupe-dev/loupe/internal/usd"
)

// client talks to a running Loupe's REST API.
type client struct {
	base   string
	apiKey string
	http   *http.Client
}

// clientFlags are the flags every client command takes.
type clientFlags struct {
	url    string
	apiKey string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	def := os.Getenv("LOUPE_URL")
	if def == "" {
		def = os.Getenv("PHOENIX_COLLECTOR_ENDPOINT")
	}
	if def == "" {
		def = "http://localhost:6006"
	}
	fs.StringVar(&c.url, "url", def, "Loupe's base `URL` (env LOUPE_URL, PHOENIX_COLLECTOR_ENDPOINT)")
	fs.StringVar(&c.apiKey, "api-key", os.Getenv("PHOENIX_API_KEY"), "API key sent as a bearer token (env PHOENIX_API_KEY)")
}

func (c *clientFlags) client() *client {
	// PHOENIX_COLLECTOR_ENDPOINT is often the OTLP traces URL rather than the
	// server's base URL; both name the same server.
	base := strings.TrimSuffix(strings.TrimRight(c.url, "/"), "/v1/traces")
	return &client{base: base, apiKey: c.apiKey, http: &http.Client{Timeout: 60 * time.Second}}
}

// do sends a request and decodes a JSON answer into out, turning error
// answers into errors that carry the server's message.
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("reach Loupe at %s: %w", c.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(data)))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// pageAll follows next_cursor until limit rows are read (0: all).
func (c *client) pageAll(ctx context.Context, path string, q url.Values, limit int, each func(json.RawMessage) error) error {
	read := 0
	for {
		if limit > 0 {
			q.Set("limit", fmt.Sprint(min(1000, limit-read)))
		} else {
			q.Set("limit", "1000")
		}
		var page struct {
			Data       []json.RawMessage `json:"data"`
			NextCursor *string           `json:"next_cursor"`
		}
		if err := c.do(ctx, "GET", path+"?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for _, d := range page.Data {
			if err := each(d); err != nil {
				return err
			}
			read++
		}
		if page.NextCursor == nil || (limit > 0 && read >= limit) {
			return nil
		}
		q.Set("cursor", *page.NextCursor)
	}
}

// table writes rows of flat records as jsonl, csv or an aligned table.
type table struct {
	format  string
	columns []string
	w       io.Writer
	csv     *csv.Writer
	tab     *tabwriter.Writer
	started bool
}

func newTable(w io.Writer, format string, columns []string) (*table, error) {
	t := &table{format: format, columns: columns, w: w}
	switch format {
	case "jsonl":
	case "csv":
		t.csv = csv.NewWriter(w)
	case "table":
		t.tab = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	default:
		return nil, fmt.Errorf("--format %q: use jsonl, csv or table", format)
	}
	return t, nil
}

// row writes one record; raw is written as-is for jsonl, cells for the others.
func (t *table) row(raw json.RawMessage, cells map[string]string) error {
	if !t.started && t.format != "jsonl" {
		t.started = true
		if err := t.write(t.columns); err != nil {
			return err
		}
	}
	if t.format == "jsonl" {
		var buf bytes.Buffer
		if err := json.Compact(&buf, raw); err != nil {
			return err
		}
		buf.WriteByte('\n')
		_, err := t.w.Write(buf.Bytes())
		return err
	}
	vals := make([]string, len(t.columns))
	for i, c := range t.columns {
		vals[i] = cells[c]
		if t.format == "table" {
			vals[i] = oneLine(vals[i], 60)
		}
	}
	return t.write(vals)
}

func (t *table) write(vals []string) error {
	if t.csv != nil {
		return t.csv.Write(vals)
	}
	_, err := fmt.Fprintln(t.tab, strings.Join(vals, "\t"))
	return err
}

func (t *table) flush() error {
	if t.csv != nil {
		t.csv.Flush()
		return t.csv.Error()
	}
	if t.tab != nil {
		return t.tab.Flush()
	}
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		// Twelve significant digits keep small costs (0.0000416) exact while
		// dropping binary noise (0.000009600000000000001); 'f' keeps
		// spreadsheets from reading an exponent as text.
		x, _ = strconv.ParseFloat(strconv.FormatFloat(x, 'g', 12, 64), 64)
		return strconv.FormatFloat(x, 'f', -1, 64)
	default:
		b, _ := json.Marshal(x)
		return string(b)
	}
}

func runSpans(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("spans", "Prints a project's spans, newest first, optionally filtered with the span filter language.", stdout)
	var cf clientFlags
	cf.register(fs)
	project := fs.String("project", "default", "project `name`")
	filter := fs.String("filter", "", "filter `expression`, e.g. \"span_kind == 'LLM' and latency_ms > 4000\"")
	format := fs.String("format", "table", "output `format`: jsonl, csv or table")
	limit := fs.Int("limit", 100, "most spans to print (0: all)")
	roots := fs.Bool("roots", false, "root spans only")
	since := fs.Duration("since", 0, "only spans that started within this `duration`, e.g. 1h")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	q := url.Values{}
	if *filter != "" {
		q.Set("filter", *filter)
	}
	if *roots {
		q.Set("parent_id", "null")
	}
	if *since > 0 {
		q.Set("start_time", time.Now().Add(-*since).UTC().Format(time.RFC3339Nano))
	}
	t, err := newTable(stdout, *format, []string{"start_time", "trace_id", "span_id", "kind", "name", "status", "latency_ms", "tokens", "cost", "input", "output"})
	if err != nil {
		return err
	}
	err = cf.client().pageAll(context.Background(), "/v1/projects/"+url.PathEscape(*project)+"/spans", q, *limit, func(raw json.RawMessage) error {
		var s struct {
			Name    string `json:"name"`
			Context struct {
				TraceID string `json:"trace_id"`
				SpanID  string `json:"span_id"`
			} `json:"context"`
			SpanKind   string         `json:"span_kind"`
			StartTime  string         `json:"start_time"`
			EndTime    string         `json:"end_time"`
			StatusCode string         `json:"status_code"`
			Attributes map[string]any `json:"attributes"`
			Cost       *spanCost      `json:"cost"`
		}
		if err := json.Unmarshal(raw, &s); err != nil {
			return err
		}
		return t.row(raw, map[string]string{
			"start_time": s.StartTime, "trace_id": s.Context.TraceID, "span_id": s.Context.SpanID, "kind": s.SpanKind,
			"name": s.Name, "status": s.StatusCode, "latency_ms": latencyMs(s.StartTime, s.EndTime),
			"tokens": str(s.Attributes["llm.token_count.total"]), "cost": s.Cost.cell(*format), "input": str(s.Attributes["input.value"]),
			"output": str(s.Attributes["output.value"]),
		})
	})
	if ferr := t.flush(); err == nil {
		err = ferr
	}
	return err
}

func latencyMs(start, end string) string {
	a, err1 := time.Parse(time.RFC3339Nano, start)
	b, err2 := time.Parse(time.RFC3339Nano, end)
	if err1 != nil || err2 != nil {
		return ""
	}
	return fmt.Sprintf("%.1f", float64(b.Sub(a).Microseconds())/1000)
}

func runTraces(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("traces", "Prints a project's traces, newest or slowest first.", stdout)
	var cf clientFlags
	cf.register(fs)
	project := fs.String("project", "default", "project `name`")
	format := fs.String("format", "table", "output `format`: jsonl, csv or table")
	limit := fs.Int("limit", 100, "most traces to print (0: all)")
	sortBy := fs.String("sort", "start_time", "order: start_time or latency_ms (descending)")
	session := fs.String("session", "", "only traces of this session `id`")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	q := url.Values{"sort": {*sortBy}}
	if *session != "" {
		q.Set("session_identifier", *session)
	}
	cols := []string{"start_time", "trace_id", "name", "status", "latency_ms", "num_spans", "token_count_total", "total_cost", "user_id", "session_id", "input", "output"}
	t, err := newTable(stdout, *format, cols)
	if err != nil {
		return err
	}
	err = cf.client().pageAll(context.Background(), "/v1/projects/"+url.PathEscape(*project)+"/traces", q, *limit, func(raw json.RawMessage) error {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		cells := map[string]string{}
		for _, c := range cols {
			cells[c] = str(m[c])
		}
		cells["status"] = str(m["status_code"])
		cells["name"] = str(m["name"])
		if *format == "table" {
			cells["total_cost"] = traceCost(m)
		}
		return t.row(raw, cells)
	})
	if ferr := t.flush(); err == nil {
		err = ferr
	}
	return err
}

// spanCost is what the REST API says a span's model call cost.
type spanCost struct {
	Total   *float64 `json:"total"` // nil: no price
	Counted bool     `json:"counted"`
}

// cell writes the cost for a table (as people read costs, a wrapper's
// marked as not counted) or as a number for csv.
func (c *spanCost) cell(format string) string {
	switch {
	case c == nil:
		return ""
	case format != "table":
		if c.Total == nil {
			return ""
		}
		return str(*c.Total)
	case c.Total == nil:
		return "no price"
	case !c.Counted:
		return usd.Format(*c.Total) + " (wrapper, not counted)"
	}
	return usd.Format(*c.Total)
}

// traceCost writes a trace's cost for a table: digits a person can
// compare, and calls without a price said, not taken for $0.
func traceCost(m map[string]any) string {
	cost, _ := m["total_cost"].(float64)
	unpriced, _ := m["unpriced_spans"].(float64)
	tokens, _ := m["token_count_total"].(float64)
	switch {
	case unpriced > 0 && cost == 0:
		return "no price"
	case unpriced > 0:
		return usd.Format(cost) + " + " + strconv.FormatFloat(unpriced, 'f', 0, 64) + " unpriced"
	case cost == 0 && tokens == 0:
		return ""
	}
	return usd.Format(cost)
}

func runAnnotate(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("annotate", "Annotates a span, trace or session: a label, a score, an explanation.", stdout)
	var cf clientFlags
	cf.register(fs)
	spanID := fs.String("span", "", "span `id` (16 hex digits) to annotate")
	traceID := fs.String("trace", "", "trace `id` (32 hex digits) to annotate")
	sessionID := fs.String("session", "", "session `id` to annotate")
	name := fs.String("name", "", "annotation `name`, e.g. correctness")
	label := fs.String("label", "", "`label`, e.g. correct")
	score := fs.String("score", "", "`number` score")
	explanation := fs.String("explanation", "", "free-text `explanation`")
	kind := fs.String("kind", "HUMAN", "annotator kind: HUMAN, LLM or CODE")
	identifier := fs.String("identifier", "", "`identifier` distinguishing several annotations of one name (e.g. the annotator)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	targets := map[string]string{"span_id": *spanID, "trace_id": *traceID, "session_id": *sessionID}
	var field, id string
	for k, v := range targets {
		if v != "" {
			if field != "" {
				return errors.New("give exactly one of --span, --trace and --session")
			}
			field, id = k, v
		}
	}
	if field == "" {
		return errors.New("give one of --span, --trace or --session")
	}
	if *name == "" {
		return errors.New("--name is required")
	}
	result := map[string]any{}
	if *label != "" {
		result["label"] = *label
	}
	if *explanation != "" {
		result["explanation"] = *explanation
	}
	if *score != "" {
		var f float64
		if _, err := fmt.Sscan(*score, &f); err != nil {
			return fmt.Errorf("--score %q is not a number", *score)
		}
		result["score"] = f
	}
	if len(result) == 0 {
		return errors.New("give at least one of --label, --score and --explanation")
	}
	item := map[string]any{field: id, "name": *name, "annotator_kind": strings.ToUpper(*kind), "result": result, "identifier": *identifier}
	route := map[string]string{"span_id": "span_annotations", "trace_id": "trace_annotations", "session_id": "session_annotations"}[field]
	var out struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := cf.client().do(context.Background(), "POST", "/v1/"+route+"?sync=true", map[string]any{"data": []any{item}}, &out); err != nil {
		return err
	}
	ids := make([]string, 0, len(out.Data))
	for _, d := range out.Data {
		ids = append(ids, d.ID)
	}
	sort.Strings(ids)
	fmt.Fprintf(stdout, "annotated %s %s: %s\n", strings.TrimSuffix(field, "_id"), id, strings.Join(ids, ", "))
	return nil
}
