package web

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/costing"
	"github.com/loupe-dev/loupe/internal/pricing"
	"github.com/loupe-dev/loupe/internal/store"
)

// tokenClasses are the price form's rate fields, in the order people read a
// price list: the prompt side, then the completion side.
var tokenClasses = []tokenClass{
	{pricing.Input, "Input"}, {pricing.CacheRead, "Cache read"}, {pricing.CacheWrite, "Cache write"},
	{pricing.AudioInput, "Audio input"}, {pricing.Output, "Output"}, {pricing.Reasoning, "Reasoning"},
	{pricing.AudioOutput, "Audio output"},
}

type tokenClass struct {
	Type  pricing.TokenType
	Label string
}

// Key is the class's name in price files and form fields.
func (c tokenClass) Key() string { return c.Type.String() }

type pricesPage struct {
	frame
	Unit     string
	Editable bool
	Models   []modelRow
	Unpriced int // models with unpriced spans
	User     []pricing.Entry
	Builtins []pricing.Entry
	Classes  []tokenClass
	Form     priceForm
	Status   recomputeView
	Flash    string // what the last form post did
}

type modelRow struct {
	store.ModelUsage
	Entry  *pricing.Entry
	AddURL string // the form, filled in for this model
}

// priceForm is the add/edit form as typed, so a rejected post shows it
// again with its errors.
type priceForm struct {
	Editing                   bool // replacing the entry named by OrigPattern and OrigProvider
	OrigPattern, OrigProvider string
	Name, Pattern, Provider   string
	Source, AsOf              string
	Rates                     map[string]string // by token class key
	TierAbove                 string
	TierRates                 map[string]string
	Errors                    map[string]string // by field name
	Error                     string            // about the entry as a whole
}

// recomputeView is the state of the latest cost recompute, as the page tells it.
type recomputeView struct {
	costing.Status
	// Queued: a save asked for a recompute that has not started yet.
	Queued bool
	// Active: the page should look again shortly.
	Active bool
}

// priceTable is the table the page shows: the service's, or the built-in
// one when the UI runs without it.
func (h *Handler) priceTable() *pricing.Table {
	if h.reports.costs != nil {
		return h.reports.costs.Table()
	}
	return pricing.Default()
}

// prices lists every model seen with the price that applies to it, the
// user's own prices with a form to change them, and the built-in table.
func (h *Handler) prices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	form := priceForm{Rates: map[string]string{}, TierRates: map[string]string{}}
	switch {
	case q.Get("edit") != "":
		entries := h.userEntries()
		i, err := strconv.Atoi(q.Get("edit"))
		if err != nil || i < 0 || i >= len(entries) {
			h.badRequest(w, r, http.StatusBadRequest, "", "There is no price entry "+quote(q.Get("edit"))+" to edit: it may have been removed meanwhile.",
				"/prices", "Model prices")
			return
		}
		if len(entries[i].Tiers) > 1 {
			h.badRequest(w, r, http.StatusBadRequest, "", "The price of "+quote(entries[i].Name)+" has several long-context tiers, more than this form edits; change it with PUT /v1/model_prices.",
				"/prices", "Model prices")
			return
		}
		form = formFromEntry(entries[i])
	case q.Get("model") != "":
		form.Name = q.Get("model")
		form.Pattern = regexp.QuoteMeta(form.Name)
		form.Provider = q.Get("provider")
	}
	h.renderPrices(w, r, http.StatusOK, form, flashFrom(q))
}

func flashFrom(q url.Values) string {
	switch {
	case q.Get("saved") != "":
		return "Saved the price of " + q.Get("saved") + "."
	case q.Get("removed") != "":
		return "Removed the price of " + q.Get("removed") + "."
	case q.Get("queued") != "":
		return "Recomputing the cost of every model seen."
	}
	return ""
}

func (h *Handler) renderPrices(w http.ResponseWriter, r *http.Request, status int, form priceForm, flash string) {
	ctx := r.Context()
	page := pricesPage{frame: h.frame(ctx, r, "Model prices", ""), Unit: pricing.Unit, Editable: h.reports.costs != nil,
		Classes: tokenClasses, Form: form, Flash: flash}
	page.Editable = page.Editable && page.CanWrite()
	t := h.priceTable()
	models, err := h.store.Models(ctx)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	for _, m := range models {
		row := modelRow{ModelUsage: m}
		row.Entry, _ = t.Lookup(m.ModelName, m.Provider)
		if row.Entry == nil || m.Unpriced > 0 {
			row.AddURL = "/prices?" + url.Values{"model": {m.ModelName}, "provider": {m.Provider}}.Encode() + "#price-form"
		}
		if m.Unpriced > 0 {
			page.Unpriced++
		}
		page.Models = append(page.Models, row)
	}
	for _, e := range t.Entries() {
		if e.Origin == pricing.User {
			page.User = append(page.User, e)
		} else {
			page.Builtins = append(page.Builtins, e)
		}
	}
	if h.reports.costs != nil {
		page.Status = h.recomputeView(r.URL.Query())
	}
	h.render(w, r, status, "prices", page)
}

// recomputeView reads the recompute status. A save made at ?at= that
// queued a recompute (?recompute= models) is pending until a recompute
// starts after it.
func (h *Handler) recomputeView(q url.Values) recomputeView {
	v := recomputeView{Status: h.reports.costs.Status()}
	at, _ := strconv.ParseInt(q.Get("at"), 10, 64)
	n, _ := strconv.Atoi(q.Get("recompute"))
	if at > 0 && n > 0 && v.Started.UnixNano() < at {
		v.Queued = true
	}
	v.Active = v.Queued || v.Running
	return v
}

// userEntries are the user's price entries, in the order they were added.
func (h *Handler) userEntries() []pricing.Entry {
	if h.reports.costs == nil {
		return nil
	}
	return h.reports.costs.APIEntries()
}

func formFromEntry(e pricing.Entry) priceForm {
	f := priceForm{Editing: true, OrigPattern: e.Pattern, OrigProvider: e.Provider, Name: e.Name, Pattern: e.Pattern,
		Provider: e.Provider, Source: e.Source, AsOf: e.AsOf, Rates: ratesForm(e.Prices), TierRates: map[string]string{}}
	if len(e.Tiers) > 0 {
		f.TierAbove = strconv.FormatInt(e.Tiers[0].AbovePromptTokens, 10)
		f.TierRates = ratesForm(e.Tiers[0].Prices)
	}
	return f
}

func ratesForm(r pricing.Rates) map[string]string {
	out := map[string]string{}
	for tt, v := range r {
		out[tt.String()] = strconv.FormatFloat(v, 'f', -1, 64)
	}
	return out
}

// readPriceForm reads the posted form; Errors holds what could not be read.
func readPriceForm(r *http.Request) (priceForm, pricing.Entry) {
	f := priceForm{
		Editing:      r.PostFormValue("orig_pattern") != "",
		OrigPattern:  r.PostFormValue("orig_pattern"),
		OrigProvider: r.PostFormValue("orig_provider"),
		Name:         strings.TrimSpace(r.PostFormValue("name")),
		Pattern:      strings.TrimSpace(r.PostFormValue("pattern")),
		Provider:     strings.TrimSpace(r.PostFormValue("provider")),
		Source:       strings.TrimSpace(r.PostFormValue("source")),
		AsOf:         strings.TrimSpace(r.PostFormValue("as_of")),
		TierAbove:    strings.TrimSpace(r.PostFormValue("tier_above")),
		Rates:        map[string]string{},
		TierRates:    map[string]string{},
		Errors:       map[string]string{},
	}
	e := pricing.Entry{Name: f.Name, Pattern: f.Pattern, Provider: f.Provider, Source: f.Source, AsOf: f.AsOf}
	if f.Name == "" {
		f.Errors["name"] = "Name the model, as in llm.model_name."
	}
	if f.Pattern == "" {
		f.Pattern = regexp.QuoteMeta(f.Name)
		e.Pattern = f.Pattern
	}
	if f.Source != "" && !strings.HasPrefix(f.Source, "https://") && !strings.HasPrefix(f.Source, "http://") {
		f.Errors["source"] = "A source is the URL of the price list."
	}
	e.Prices = readRates(r, "rate_", f.Rates, f.Errors)
	for _, k := range []string{"input", "output"} {
		if _, ok := e.Prices[mustTokenType(k)]; !ok && f.Errors["rate_"+k] == "" {
			f.Errors["rate_"+k] = "Required: classes without a price are billed like plain " + k + "."
		}
	}
	tierRates := readRates(r, "tier_", f.TierRates, f.Errors)
	if f.TierAbove != "" || len(tierRates) > 0 {
		above, err := strconv.ParseInt(strings.ReplaceAll(f.TierAbove, " ", ""), 10, 64)
		if err != nil || above <= 0 {
			f.Errors["tier_above"] = "A whole number of prompt tokens, more than 0."
		}
		e.Tiers = []pricing.Tier{{AbovePromptTokens: above, Prices: tierRates}}
	}
	return f, e
}

// readRates reads the rate fields named prefix+class into rates and keeps
// what was typed in typed.
func readRates(r *http.Request, prefix string, typed, errs map[string]string) pricing.Rates {
	rates := pricing.Rates{}
	for _, c := range tokenClasses {
		field := prefix + c.Key()
		v := strings.TrimSpace(r.PostFormValue(field))
		typed[c.Key()] = v
		if v == "" {
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimPrefix(v, "$"), 64)
		switch {
		case err != nil:
			errs[field] = "Not a number: write USD per 1M tokens, such as 2.5."
		case f < 0:
			errs[field] = "A price cannot be negative."
		default:
			rates[c.Type] = f
		}
	}
	return rates
}

func mustTokenType(name string) pricing.TokenType {
	tt, ok := pricing.ParseTokenType(name)
	if !ok {
		panic("web: unknown token type " + name)
	}
	return tt
}

// savePrice adds an entry, or replaces the one being edited, then lets the
// service recompute the costs it changes.
func (h *Handler) savePrice(w http.ResponseWriter, r *http.Request) {
	if h.reports.costs == nil {
		h.badRequest(w, r, http.StatusServiceUnavailable, "", "Prices cannot be changed here: this server runs without its price service.", "/prices", "Model prices")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		h.badRequest(w, r, http.StatusBadRequest, "", "The form could not be read: "+err.Error(), "/prices", "Model prices")
		return
	}
	form, entry := readPriceForm(r)
	if len(form.Errors) > 0 {
		form.Error = "Some fields need fixing."
		h.renderPrices(w, r, http.StatusUnprocessableEntity, form, "")
		return
	}
	entries := h.reports.costs.APIEntries()
	next := make([]pricing.Entry, 0, len(entries)+1)
	replaced := false
	for _, e := range entries {
		if form.Editing && !replaced && e.Pattern == form.OrigPattern && e.Provider == form.OrigProvider {
			entry.Note = e.Note // the form does not show it; keep it
			next, replaced = append(next, entry), true
			continue
		}
		next = append(next, e)
	}
	if !replaced {
		next = append(next, entry)
	}
	at := h.now().UnixNano()
	changed, err := h.reports.costs.SetAPIEntries(r.Context(), next)
	switch {
	case errors.Is(err, costing.ErrInvalidPrices):
		form.Error = priceError(err)
		h.renderPrices(w, r, http.StatusUnprocessableEntity, form, "")
		return
	case err != nil && changed == nil:
		h.fail(w, r, err, notFound{})
		return
	case err != nil:
		// Saved, but the recompute queue is full: the flash says so.
		h.log.Warn("price saved without a recompute", "err", err)
	}
	http.Redirect(w, r, "/prices?"+url.Values{"saved": {entry.Name}, "recompute": {strconv.Itoa(len(changed))},
		"at": {strconv.FormatInt(at, 10)}}.Encode()+"#main", http.StatusSeeOther)
}

// priceError keeps what the price table said about the entry and drops
// the layers it came through.
func priceError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "): "); i >= 0 {
		msg = msg[i+3:]
	}
	msg = strings.TrimPrefix(msg, costing.ErrInvalidPrices.Error()+": ")
	if msg == "" {
		return "The price table refused this entry."
	}
	return strings.ToUpper(msg[:1]) + msg[1:] + "."
}

// deletePrice removes one of the user's entries; the built-in price, if
// any, applies again.
func (h *Handler) deletePrice(w http.ResponseWriter, r *http.Request) {
	if h.reports.costs == nil {
		h.badRequest(w, r, http.StatusServiceUnavailable, "", "Prices cannot be changed here: this server runs without its price service.", "/prices", "Model prices")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	pattern, provider := r.PostFormValue("pattern"), r.PostFormValue("provider")
	entries := h.reports.costs.APIEntries()
	next := make([]pricing.Entry, 0, len(entries))
	var removed *pricing.Entry
	for _, e := range entries {
		if removed == nil && e.Pattern == pattern && e.Provider == provider {
			removed = &e
			continue
		}
		next = append(next, e)
	}
	if removed == nil {
		h.badRequest(w, r, http.StatusNotFound, "", "No price of yours has the pattern "+quote(pattern)+": it may have been removed already.", "/prices", "Model prices")
		return
	}
	at := h.now().UnixNano()
	changed, err := h.reports.costs.SetAPIEntries(r.Context(), next)
	if err != nil && changed == nil {
		h.fail(w, r, err, notFound{})
		return
	}
	http.Redirect(w, r, "/prices?"+url.Values{"removed": {removed.Name}, "recompute": {strconv.Itoa(len(changed))},
		"at": {strconv.FormatInt(at, 10)}}.Encode()+"#main", http.StatusSeeOther)
}

// recomputePrices prices every stored LLM span again with today's table.
func (h *Handler) recomputePrices(w http.ResponseWriter, r *http.Request) {
	if h.reports.costs == nil {
		h.badRequest(w, r, http.StatusServiceUnavailable, "", "Costs cannot be recomputed here: this server runs without its price service.", "/prices", "Model prices")
		return
	}
	models, err := h.store.Models(r.Context())
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	var names []string
	for _, m := range models {
		names = append(names, m.ModelName)
	}
	at := h.now().UnixNano()
	if err := h.reports.costs.Recompute(names); err != nil {
		h.badRequest(w, r, http.StatusServiceUnavailable, "", "Too many recomputes are queued; try again in a moment.", "/prices", "Model prices")
		return
	}
	http.Redirect(w, r, "/prices?"+url.Values{"queued": {"1"}, "recompute": {strconv.Itoa(len(names))},
		"at": {strconv.FormatInt(at, 10)}}.Encode()+"#main", http.StatusSeeOther)
}
