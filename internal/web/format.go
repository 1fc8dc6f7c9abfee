package web

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/usd"
	"github.com/loupe-dev/loupe/internal/web/view"
)

var funcs = template.FuncMap{
	"asset":      assetURL,
	"dur":        humanDuration,
	"rel":        relativeTime,
	"abs":        absoluteTime,
	"iso":        isoTime,
	"num":        groupDigits,
	"pct":        percent,
	"bytes":      humanBytes,
	"cost":       usd.Format,
	"kindClass":  kindClass,
	"kindLabel":  kindLabel,
	"kindShort":  kindShort,
	"preview":    view.Preview,
	"shortID":    shortID,
	"projectURL": projectURL,
	"traceURL":   traceURL,
	"sessionURL": sessionURL,
	"imageURL":   imageURL,
	"roleClass":  roleClass,
	"list":       func(s ...string) []string { return s },
	"add":        func(a, b int) int { return a + b },
	"sub":        func(a, b int64) int64 { return a - b },
	"int64":      func(n int) int64 { return int64(n) },
	"pctf":       func(f float64) string { return strconv.FormatFloat(f, 'f', 2, 64) },
	"score":      func(f float64) string { return strconv.FormatFloat(f, 'g', 4, 64) },
	"sortHead":   sortHead,
}

// sortLink is a sortable column head: its link sorts by the column, most
// (or newest) first, and reverses the order when the list is sorted by it.
type sortLink struct {
	Href, Label string
	On, Asc     bool
}

// sortHead is the head of the column sorting by key (the URL's sort
// value), on a list sorted by cur in direction asc.
func sortHead(u pageURL, key, cur string, asc bool, label string) sortLink {
	l := sortLink{Label: label, On: key == cur, Asc: asc}
	dir := ""
	if l.On && !asc {
		dir = "asc"
	}
	l.Href = u.With("sort", key, "dir", dir)
	return l
}

// humanDuration writes nanoseconds the way people say them: 310 ms, 4.2 s, 2 m 05 s.
func humanDuration(ns int64) string {
	if ns < 0 {
		ns = 0
	}
	d := time.Duration(ns)
	switch {
	case d < time.Microsecond:
		return fmt.Sprintf("%d ns", ns)
	case d < time.Millisecond:
		return fmt.Sprintf("%d µs", d/time.Microsecond)
	case d < 10*time.Millisecond:
		return trimZero(fmt.Sprintf("%.1f", float64(d)/1e6)) + " ms"
	case d < time.Second:
		return fmt.Sprintf("%d ms", (d+time.Millisecond/2)/time.Millisecond)
	case d < time.Minute:
		return trimZero(fmt.Sprintf("%.1f", float64(d)/1e9)) + " s"
	case d < time.Hour:
		s := int((d + time.Second/2) / time.Second)
		return fmt.Sprintf("%d m %02d s", s/60, s%60)
	}
	m := int((d + time.Minute/2) / time.Minute)
	return fmt.Sprintf("%d h %02d m", m/60, m%60)
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// relativeTime is "12 s ago", "3 min ago", "5 h ago", "4 d ago" relative to now.
func relativeTime(ns int64) string {
	if ns == 0 {
		return "never"
	}
	d := time.Since(time.Unix(0, ns))
	switch {
	case d < 0:
		return "just now"
	case d < time.Minute:
		return fmt.Sprintf("%d s ago", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	}
	return fmt.Sprintf("%d d ago", int(d/(24*time.Hour)))
}

func absoluteTime(ns int64) string {
	if ns == 0 {
		return ""
	}
	return time.Unix(0, ns).UTC().Format("2006-01-02 15:04:05.000 UTC")
}

func isoTime(ns int64) string {
	return time.Unix(0, ns).UTC().Format(time.RFC3339Nano)
}

// groupDigits writes 12480 as "12 480", grouped with narrow no-break spaces
// so that a number never wraps and columns of them line up.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f")
		}
		b.WriteRune(c)
	}
	return b.String()
}

// percent is part/whole as "4.2%", "0%" when whole is zero.
func percent(part, whole int64) string {
	if whole == 0 || part == 0 {
		return "0%"
	}
	p := float64(part) / float64(whole) * 100
	if p < 10 {
		return trimZero(strconv.FormatFloat(math.Round(p*10)/10, 'f', 1, 64)) + "%"
	}
	return strconv.FormatFloat(math.Round(p), 'f', 0, 64) + "%"
}

func humanBytes(n int) string {
	switch {
	case n < 1<<10:
		return fmt.Sprintf("%d B", n)
	case n < 1<<20:
		return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<10))) + " KB"
	}
	return trimZero(fmt.Sprintf("%.1f", float64(n)/(1<<20))) + " MB"
}

// kindClass is the CSS class carrying a span kind's colour.
func kindClass(kind string) string {
	switch k := strings.ToLower(kind); k {
	case "llm", "chain", "agent", "tool", "retriever", "embedding", "reranker", "guardrail", "evaluator", "prompt", "decision":
		return "k-" + k
	}
	return "k-unknown"
}

func kindLabel(kind string) string {
	if kind == "" {
		return "UNKNOWN"
	}
	return kind
}

// kindShort is a kind in at most four letters, for the lists' narrow kind
// marks.
func kindShort(kind string) string {
	switch strings.ToUpper(kind) {
	case "LLM", "TOOL":
		return strings.ToUpper(kind)
	case "AGENT":
		return "AGT"
	case "CHAIN":
		return "CHN"
	case "RETRIEVER":
		return "RTR"
	case "EMBEDDING":
		return "EMB"
	case "RERANKER":
		return "RRK"
	case "GUARDRAIL":
		return "GRD"
	case "EVALUATOR":
		return "EVAL"
	case "PROMPT":
		return "PRM"
	case "DECISION":
		return "DEC"
	}
	return "?"
}

// shortID is the first 8 hex digits: enough to tell rows apart at a glance.
func shortID(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func projectURL(name string) string { return "/projects/" + url.PathEscape(name) }

func traceURL(project, traceID string) string {
	return projectURL(project) + "/traces/" + url.PathEscape(traceID)
}

func sessionURL(project, sessionID string) string {
	return projectURL(project) + "/sessions/" + url.PathEscape(sessionID)
}

// imageURL lets a data: URI of a raster image through to an <img src>,
// which html/template would otherwise replace; an image cannot run script.
// Any other URL is left to html/template's own filtering.
func imageURL(s string) any {
	for _, p := range []string{"data:image/png;", "data:image/jpeg;", "data:image/jpg;", "data:image/gif;", "data:image/webp;"} {
		if strings.HasPrefix(s, p) {
			return template.URL(s)
		}
	}
	return s
}

// roleClass styles the chat roles people know; any other role looks neutral.
func roleClass(role string) string {
	switch r := strings.ToLower(role); r {
	case "system", "developer":
		return "role-system"
	case "user", "human":
		return "role-user"
	case "assistant", "model", "ai":
		return "role-assistant"
	case "tool", "function", "ipython":
		return "role-tool"
	}
	return "role-other"
}
