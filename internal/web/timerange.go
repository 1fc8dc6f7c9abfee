package web

import (
	"net/url"
	"time"
)

// timeRange is the window a page's lists and stats cover: a preset ending
// now, or a custom [Start, End).
type timeRange struct {
	Preset string // one of presets, or "custom"
	Start  time.Time
	End    time.Time // zero: open-ended (now)
}

type preset struct {
	Name string
	Dur  time.Duration
}

var presets = []preset{
	{"15m", 15 * time.Minute}, {"1h", time.Hour}, {"12h", 12 * time.Hour},
	{"1d", 24 * time.Hour}, {"7d", 7 * 24 * time.Hour}, {"30d", 30 * 24 * time.Hour},
}

const defaultPreset = "7d"

// customLayout is what <input type="datetime-local"> sends.
const customLayout = "2006-01-02T15:04"

// parseTimeRange reads range=<preset> or start=…&end=… (UTC). A preset's
// start is snapped to the minute (up to an hour) or the hour, as Phoenix
// does, so that a link made a few seconds later shows the same page.
func parseTimeRange(q url.Values, now time.Time) timeRange {
	if q.Get("range") == "custom" || q.Get("range") == "" && (q.Get("start") != "" || q.Get("end") != "") {
		start, serr := time.Parse(customLayout, q.Get("start"))
		end, eerr := time.Parse(customLayout, q.Get("end"))
		if serr == nil || eerr == nil {
			tr := timeRange{Preset: "custom"}
			if serr == nil {
				tr.Start = start
			}
			if eerr == nil && end.After(start) {
				tr.End = end
			}
			return tr
		}
	}
	name := q.Get("range")
	d := presetDuration(name)
	if d == 0 {
		name, d = defaultPreset, presetDuration(defaultPreset)
	}
	snap := time.Hour
	if d <= time.Hour {
		snap = time.Minute
	}
	return timeRange{Preset: name, Start: now.Add(-d).Truncate(snap)}
}

func presetDuration(name string) time.Duration {
	for _, p := range presets {
		if p.Name == name {
			return p.Dur
		}
	}
	return 0
}

// StartNs and EndNs are the bounds for store queries (0 when open).
func (tr timeRange) StartNs() int64 {
	if tr.Start.IsZero() {
		return 0
	}
	return tr.Start.UnixNano()
}

func (tr timeRange) EndNs() int64 {
	if tr.End.IsZero() {
		return 0
	}
	return tr.End.UnixNano()
}

// Label is what the picker shows: "7d", or the custom bounds.
func (tr timeRange) Label() string {
	if tr.Preset != "custom" {
		return tr.Preset
	}
	s, e := "…", "now"
	if !tr.Start.IsZero() {
		s = tr.Start.Format("Jan 2 15:04")
	}
	if !tr.End.IsZero() {
		e = tr.End.Format("Jan 2 15:04")
	}
	return s + " – " + e
}

// StartInput and EndInput fill the custom range form.
func (tr timeRange) StartInput() string { return inputTime(tr.Start) }
func (tr timeRange) EndInput() string   { return inputTime(tr.End) }

func inputTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(customLayout)
}

// Presets lists the preset names for the picker.
func (tr timeRange) Presets() []string {
	out := make([]string, len(presets))
	for i, p := range presets {
		out[i] = p.Name
	}
	return out
}
