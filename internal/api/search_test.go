package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/loupe-dev/loupe/internal/span"
)

// TestSpanSearch checks q= on GET …/spans: a full-text search that pages
// like any other span query, and is no condition when blank.
func TestSpanSearch(t *testing.T) {
	var spans []span.Span
	for i, text := range []string{"refund please", "café au lait", "nothing here", "another refund", "REFUND now"} {
		spans = append(spans, testSpan("s", i+1, i+1, 0, span.KindLLM,
			span.Attr{Key: span.AttrInputValue, Value: span.StringValue(text)}))
	}
	st := newTestStore(t)
	if _, err := st.WriteSpans(context.Background(), spans); err != nil {
		t.Fatal(err)
	}
	if err := st.WaitIndexed(context.Background()); err != nil {
		t.Fatal(err)
	}
	mux := (&API{Store: st, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}).Handler()

	pages := func(query string) string {
		var seen []string
		path := "/v1/projects/s/spans?limit=2&" + query
		for range 10 {
			code, body := get(t, mux, path)
			if code != http.StatusOK {
				t.Fatalf("GET %s = %d %s", path, code, body)
			}
			var page struct {
				Data []struct {
					Context struct {
						SpanID string `json:"span_id"`
					} `json:"context"`
				} `json:"data"`
				NextCursor *string `json:"next_cursor"`
			}
			if err := json.Unmarshal([]byte(body), &page); err != nil {
				t.Fatal(err)
			}
			for _, d := range page.Data {
				seen = append(seen, strings.TrimLeft(d.Context.SpanID, "0"))
			}
			if page.NextCursor == nil {
				break
			}
			path = "/v1/projects/s/spans?limit=2&" + query + "&cursor=" + url.QueryEscape(*page.NextCursor)
		}
		return strings.Join(seen, ",")
	}
	for query, want := range map[string]string{
		"q=refund":                                "5,4,1",
		"q=" + url.QueryEscape("Café"):            "2",
		"q=" + url.QueryEscape(`"refund please"`): "1",
		"q=%20%20":                                "5,4,3,2,1",
		"q=refund&span_kind=TOOL":                 "",
	} {
		if got := pages(query); got != want {
			t.Errorf("GET …/spans?%s gave spans %q, want %q", query, got, want)
		}
	}
}
