package web

import (
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// storageDays are the growth windows the storage page offers.
var storageDays = []int{7, 30, 90}

type storagePage struct {
	frame
	Report     store.StorageReport
	Days       int
	DayOptions []stepOption
	Growth     chart
	Rows       []projectStorageRow
	Default    policyForm
	SweepEvery string
	Flash      string
}

type projectStorageRow struct {
	store.ProjectStorage
	Share  float64 // percent of all spans
	Spark  sparkline
	Policy policyForm
}

// policyForm is one retention form: the policy in force, or what was typed
// when it was refused.
type policyForm struct {
	Project   string // empty for the default policy
	Inherited bool
	Keeps     bool
	MaxDays   string
	MaxTraces string
	Error     string
	// Summary says the policy in words: "30 days, 100 000 traces".
	Summary string
	// ReadOnly shows the policy without its form, to a principal who may
	// not change server-wide settings.
	ReadOnly bool
}

func policyFormOf(project string, p store.RetentionPolicy) policyForm {
	f := policyForm{Project: project, Inherited: p.Inherited, Keeps: p.Keeps()}
	if p.MaxDays > 0 {
		f.MaxDays = strconv.FormatFloat(p.MaxDays, 'f', -1, 64)
	}
	if p.MaxTraces > 0 {
		f.MaxTraces = strconv.FormatInt(p.MaxTraces, 10)
	}
	switch {
	case p.MaxDays > 0 && p.MaxTraces > 0:
		f.Summary = "Keep " + daysLabel(p.MaxDays) + ", at most the newest " + plural(p.MaxTraces, "trace", "traces")
	case p.MaxDays > 0:
		f.Summary = "Keep " + daysLabel(p.MaxDays)
	case p.MaxTraces > 0:
		f.Summary = "Keep the newest " + plural(p.MaxTraces, "trace", "traces")
	default:
		f.Summary = "Keep everything"
	}
	return f
}

// sparkline is a project's spans per day as tiny bars.
type sparkline struct {
	W, H float64
	Bars []chartBar
}

func sparkOf(days []store.DayCount) sparkline {
	s := sparkline{W: 120, H: 22}
	var top int64
	for _, d := range days {
		top = max(top, d.Spans)
	}
	if len(days) == 0 || top == 0 {
		return s
	}
	w := s.W / float64(len(days))
	for i, d := range days {
		h := math.Max(float64(d.Spans)/float64(top)*s.H, 0)
		if d.Spans > 0 {
			h = math.Max(h, 1)
		}
		s.Bars = append(s.Bars, chartBar{X: float64(i) * w, Y: s.H - h, W: barWidth(w), H: h, Index: i,
			Title: bucketLabel(d.Day, store.Day) + ": " + plural(d.Spans, "span", "spans")})
	}
	return s
}

// storage shows what the database holds, how fast it grows, and the
// retention policies that bound it.
func (h *Handler) storage(w http.ResponseWriter, r *http.Request) {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 366 {
			h.badRequest(w, r, http.StatusBadRequest, "", "days is a whole number of days from 1 to 366, not "+quote(v)+".",
				"/storage", "Storage")
			return
		}
		days = n
	}
	h.renderStorage(w, r, http.StatusOK, days, nil, flashOfStorage(r.URL.Query()))
}

func flashOfStorage(q url.Values) string {
	if p, ok := q["saved"]; ok {
		if p[0] == "" {
			return "Saved the default retention policy."
		}
		return "Saved the retention policy of " + p[0] + "."
	}
	return ""
}

// renderStorage draws the page; refused, when set, is a retention form
// to show again as typed, with its error.
func (h *Handler) renderStorage(w http.ResponseWriter, r *http.Request, status, days int, refused *policyForm, flash string) {
	ctx := r.Context()
	now := h.now().UnixNano()
	rep, err := h.store.StorageReport(ctx, store.StorageQuery{Now: now, Days: days})
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	policies, err := h.store.RetentionPolicies(ctx)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	page := storagePage{frame: h.frame(ctx, r, "Storage", ""), Report: rep, Days: days,
		SweepEvery: every(h.reports.sweepEvery), Flash: flash}
	for _, d := range storageDays {
		page.DayOptions = append(page.DayOptions, stepOption{Name: strconv.Itoa(d) + " days",
			URL: "/storage?days=" + strconv.Itoa(d), Current: d == days})
	}
	def := policies[store.DefaultPolicy]
	page.Default = policyFormOf("", def)
	total := make([]float64, days)
	for _, p := range rep.Projects {
		policy, own := policies[p.ProjectID]
		if !own {
			policy, policy.Inherited = def, true
		}
		row := projectStorageRow{ProjectStorage: p, Spark: sparkOf(p.Daily), Policy: policyFormOf(p.Name, policy)}
		if rep.Spans > 0 {
			row.Share = float64(p.Spans) / float64(rep.Spans) * 100
		}
		for i, d := range p.Daily {
			if i < len(total) {
				total[i] += float64(d.Spans)
			}
		}
		page.Rows = append(page.Rows, row)
	}
	if refused != nil {
		if refused.Project == "" {
			page.Default = *refused
		}
		for i := range page.Rows {
			if page.Rows[i].Name == refused.Project {
				page.Rows[i].Policy = *refused
			}
		}
	}
	dayStarts := store.Days(now, days)
	x := newXAxis(dayStarts[0], dayStarts[len(dayStarts)-1]+store.Day, store.Day)
	page.Growth = stackedBars(chartSpec{Title: "Spans per day", Unit: "stored, by the UTC day their trace started", Format: countFormat,
		Tick: compactCount, MinTop: 4, Empty: "Nothing stored in these days.", Width: 1340, Height: 190}, x,
		[]chartSeries{{"Spans", "s-spans", total}})
	if !page.CanManage() {
		page.Default.ReadOnly = true
		for i := range page.Rows {
			page.Rows[i].Policy.ReadOnly = true
		}
	}
	h.render(w, r, status, "storage", page)
}

// every names an interval as in "every hour", "every 15 min".
func every(d time.Duration) string {
	switch {
	case d == time.Hour:
		return "hour"
	case d == 24*time.Hour:
		return "day"
	case d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	case d%time.Minute == 0:
		return strconv.Itoa(int(d/time.Minute)) + " min"
	}
	return d.String()
}

// saveRetention sets a project's retention policy, or the default one, or
// makes a project follow the default again.
func (h *Handler) saveRetention(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		h.badRequest(w, r, http.StatusBadRequest, "", "The form could not be read: "+err.Error(), "/storage", "Storage")
		return
	}
	ctx := r.Context()
	name := r.PostFormValue("project")
	target := store.DefaultPolicy
	if name != "" {
		p, err := h.store.ProjectByName(ctx, name)
		if err != nil {
			h.fail(w, r, err, notFound{What: "Project", ID: name, Back: "/storage", BackFor: "Storage",
				Hint: "No project has this name any more; it may have been deleted."})
			return
		}
		target = p.ID
	}
	if r.PostFormValue("action") == "inherit" {
		if name == "" {
			h.badRequest(w, r, http.StatusBadRequest, "", "The default policy has nothing to follow; set it to keep everything instead.", "/storage", "Storage")
			return
		}
		if err := h.store.DeleteRetentionPolicy(ctx, target); err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		http.Redirect(w, r, "/storage?"+url.Values{"saved": {name}}.Encode(), http.StatusSeeOther)
		return
	}
	form := policyForm{Project: name, MaxDays: strings.TrimSpace(r.PostFormValue("max_days")),
		MaxTraces: strings.TrimSpace(r.PostFormValue("max_traces"))}
	var p store.RetentionPolicy
	var problems []string
	if form.MaxDays != "" {
		d, err := strconv.ParseFloat(form.MaxDays, 64)
		if err != nil || d < 0 || math.IsNaN(d) || math.IsInf(d, 0) {
			problems = append(problems, "Days is a number of days, 0 or more (such as 30 or 0.5).")
		}
		p.MaxDays = d
	}
	if form.MaxTraces != "" {
		n, err := strconv.ParseInt(strings.ReplaceAll(form.MaxTraces, " ", ""), 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, "Traces is a whole number, 0 or more.")
		}
		p.MaxTraces = n
	}
	if len(problems) > 0 {
		form.Error = strings.Join(problems, " ")
		h.renderStorage(w, r, http.StatusUnprocessableEntity, 30, &form, "")
		return
	}
	if err := h.store.SetRetentionPolicy(ctx, target, p); err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	http.Redirect(w, r, "/storage?"+url.Values{"saved": {name}}.Encode(), http.StatusSeeOther)
}
