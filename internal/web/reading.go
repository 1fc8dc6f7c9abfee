package web

import (
	"net/http"
	"strconv"

	"github.com/loupe-dev/loupe/internal/pricing"
)

// textModeCookie remembers whether the reader wants messages as plain text
// (the default: what the model wrote, character for character) or rendered
// as Markdown. A cookie, not browser storage, because the page is rendered
// by the server.
const textModeCookie = "loupe_text"

func wantsMarkdown(r *http.Request) bool {
	c, err := r.Cookie(textModeCookie)
	return err == nil && c.Value == "markdown"
}

// streamStats are the speeds of a streamed model call.
type streamStats struct {
	TTFT         int64   // ns from the span's start to the first token
	TokensPerSec float64 // completion tokens over the time after the first; 0 when unknown
}

// Stream reads the span's streaming speed from the first-token event its
// instrumentor wrote; nil when there is none.
func (d *spanDetail) Stream() *streamStats {
	first, ok := d.V.FirstToken()
	if !ok || first < d.Rec.StartTime || first > d.Rec.EndTime {
		return nil
	}
	s := &streamStats{TTFT: first - d.Rec.StartTime}
	if n, gen := d.Rec.View.Tokens.Completion, d.Rec.EndTime-first; n > 1 && gen > 0 {
		// The first token arrived at first; the other n-1 took the rest.
		s.TokensPerSec = float64(n-1) / (float64(gen) / 1e9)
	}
	return s
}

// contextUse is a model call's prompt against its model's context window.
type contextUse struct {
	Prompt, Window int64
}

// Pct is the share of the window the prompt took, for the bar.
func (c *contextUse) Pct() float64 { return min(100, 100*float64(c.Prompt)/float64(c.Window)) }

// PctLabel is Pct for people: "75%", "0.4%".
func (c *contextUse) PctLabel() string {
	p := c.Pct()
	if p < 10 {
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(p, 'f', 0, 64) + "%"
}

// Context is the call's prompt tokens against its model's context window,
// when the model's window is known; nil otherwise.
func (d *spanDetail) Context() *contextUse {
	if d.V.LLM == nil || d.Rec.View.Tokens.Prompt <= 0 {
		return nil
	}
	w, ok := pricing.ContextWindow(d.Rec.View.ModelName)
	if !ok {
		return nil
	}
	return &contextUse{Prompt: d.Rec.View.Tokens.Prompt, Window: w}
}

// HasProse reports whether the Overview shows text a Markdown rendering
// would change: a transcript, or plain input or output.
func (d *spanDetail) HasProse() bool {
	if d.V.LLM != nil && (len(d.V.LLM.Input) > 0 || len(d.V.LLM.Output) > 0) {
		return true
	}
	return !d.V.Input.Empty() && !d.V.Input.JSON || !d.V.Output.Empty() && !d.V.Output.JSON
}
