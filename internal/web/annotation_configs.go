package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
)

// The annotation configs page: optional definitions of annotation names.
// A name needs none before its first label; a config, once made, narrows
// what the annotation forms offer (its labels, its score range) and what
// they accept.

type configsPage struct {
	frame
	Configs []configView
	// Projects are every project's name, to assign configs to.
	Projects []string
	Form     configForm
	Error    string
	Saved    string
}

type configView struct {
	store.AnnotationConfig
	// Projects are the projects it is assigned to, by name.
	Projects []string
}

// ValuesText writes a categorical config's labels as the form takes them.
func (c configView) ValuesText() string {
	var b strings.Builder
	for i, v := range c.Values {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(v.Label)
		if v.Score != nil {
			b.WriteString(" = " + strconv.FormatFloat(*v.Score, 'g', -1, 64))
		}
	}
	return b.String()
}

// Range writes a config's score bounds: "1 to 5", "at least 0", "".
func (c configView) Range() string {
	lo, hi := c.LowerBound, c.UpperBound
	switch {
	case lo != nil && hi != nil:
		return formatScore(*lo) + " to " + formatScore(*hi)
	case lo != nil:
		return "at least " + formatScore(*lo)
	case hi != nil:
		return "at most " + formatScore(*hi)
	}
	return ""
}

// configForm is the form's fields as typed, kept when they need fixing.
type configForm struct {
	Name, Type, Description, Direction, Values, Lower, Upper string
}

func (h *Handler) annotationConfigsPage(w http.ResponseWriter, r *http.Request) {
	h.renderConfigs(w, r, http.StatusOK, configForm{Type: string(store.Categorical), Direction: "MAXIMIZE"}, "", r.URL.Query().Get("saved"))
}

func (h *Handler) renderConfigs(w http.ResponseWriter, r *http.Request, status int, form configForm, msg, saved string) {
	configs, err := h.store.AnnotationConfigs(r.Context())
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	page := configsPage{frame: h.frame(r.Context(), r, "Annotation configs", ""), Form: form, Error: msg, Saved: saved}
	if e := r.URL.Query().Get("edit"); e != "" && status == http.StatusOK {
		for _, c := range configs {
			if c.Name == e {
				page.Form = formOf(configView{AnnotationConfig: c})
			}
		}
	}
	assigned := map[int64][]string{}
	if len(configs) > 0 {
		projects, err := h.store.Projects(r.Context(), store.ProjectQuery{})
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		for _, p := range projects {
			page.Projects = append(page.Projects, p.Name)
			cs, err := h.store.ProjectAnnotationConfigs(r.Context(), p.ID)
			if err != nil {
				h.fail(w, r, err, notFound{})
				return
			}
			for _, c := range cs {
				assigned[c.ID] = append(assigned[c.ID], p.Name)
			}
		}
		slices.Sort(page.Projects)
	}
	for _, c := range configs {
		page.Configs = append(page.Configs, configView{AnnotationConfig: c, Projects: assigned[c.ID]})
	}
	h.render(w, r, status, "annconfigs", page)
}

func formOf(c configView) configForm {
	f := configForm{Name: c.Name, Type: string(c.Type), Description: c.Description, Direction: c.Direction, Values: c.ValuesText()}
	if c.LowerBound != nil {
		f.Lower = formatScore(*c.LowerBound)
	}
	if c.UpperBound != nil {
		f.Upper = formatScore(*c.UpperBound)
	}
	return f
}

func (h *Handler) saveAnnotationConfig(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.badRequest(w, r, http.StatusBadRequest, "", "The form could not be read: "+err.Error(), "/annotation-configs", "Annotation configs")
		return
	}
	f := configForm{Name: strings.TrimSpace(r.PostForm.Get("name")), Type: r.PostForm.Get("type"),
		Description: strings.TrimSpace(r.PostForm.Get("description")), Direction: r.PostForm.Get("direction"),
		Values: r.PostForm.Get("values"), Lower: strings.TrimSpace(r.PostForm.Get("lower")), Upper: strings.TrimSpace(r.PostForm.Get("upper"))}
	c, err := configFromForm(f)
	if err == nil {
		_, err = h.store.SaveAnnotationConfig(r.Context(), c)
	}
	var fe *formError
	switch {
	case errors.As(err, &fe):
		h.renderConfigs(w, r, http.StatusUnprocessableEntity, f, fe.msg, "")
		return
	case errors.Is(err, store.ErrInvalidArgument):
		h.renderConfigs(w, r, http.StatusUnprocessableEntity, f, strings.TrimPrefix(err.Error(), store.ErrInvalidArgument.Error()+": "), "")
		return
	case err != nil:
		h.fail(w, r, err, notFound{})
		return
	}
	http.Redirect(w, r, "/annotation-configs?saved="+url.QueryEscape(c.Name), http.StatusSeeOther)
}

func (h *Handler) deleteAnnotationConfig(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.badRequest(w, r, http.StatusBadRequest, "", "The form could not be read: "+err.Error(), "/annotation-configs", "Annotation configs")
		return
	}
	name := r.PostForm.Get("name")
	if err := h.store.DeleteAnnotationConfig(r.Context(), name); err != nil {
		h.fail(w, r, err, notFound{What: "Annotation config", ID: name, Back: "/annotation-configs", BackFor: "Annotation configs"})
		return
	}
	http.Redirect(w, r, "/annotation-configs", http.StatusSeeOther)
}

// assignAnnotationConfig assigns a config to a project, or takes it off
// (op "unassign"): the project's annotation forms then offer its
// assigned configs only.
func (h *Handler) assignAnnotationConfig(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		h.badRequest(w, r, http.StatusBadRequest, "", "The form could not be read: "+err.Error(), "/annotation-configs", "Annotation configs")
		return
	}
	ctx := r.Context()
	name, project := r.PostForm.Get("name"), r.PostForm.Get("project")
	p, err := h.store.ProjectByName(ctx, project)
	if err != nil {
		h.fail(w, r, err, notFound{What: "Project", ID: project, Back: "/annotation-configs", BackFor: "Annotation configs"})
		return
	}
	configs, err := h.store.AnnotationConfigs(ctx)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	i := slices.IndexFunc(configs, func(c store.AnnotationConfig) bool { return c.Name == name })
	if i < 0 {
		h.fail(w, r, store.ErrNotFound, notFound{What: "Annotation config", ID: name, Back: "/annotation-configs", BackFor: "Annotation configs"})
		return
	}
	if err := h.store.AssignAnnotationConfig(ctx, p.ID, configs[i].ID, r.PostForm.Get("op") != "unassign"); err != nil {
		h.fail(w, r, err, notFound{What: "Annotation config", ID: name, Back: "/annotation-configs", BackFor: "Annotation configs"})
		return
	}
	http.Redirect(w, r, "/annotation-configs", http.StatusSeeOther)
}

// formConfigs are the configs a project's annotation forms offer and keep
// to: those assigned to it, as Phoenix's annotation panel shows a
// project's. A project with none assigned takes every config, so that a
// config works from the moment it is defined, before anyone assigns it.
func (h *Handler) formConfigs(ctx context.Context, projectID int64) ([]store.AnnotationConfig, error) {
	cs, err := h.store.ProjectAnnotationConfigs(ctx, projectID)
	if err != nil || len(cs) > 0 {
		return cs, err
	}
	return h.store.AnnotationConfigs(ctx)
}

// configFromForm reads the config form; labels come one a line, each
// "label" or "label = score".
func configFromForm(f configForm) (store.AnnotationConfig, error) {
	c := store.AnnotationConfig{Name: f.Name, Type: store.AnnotationConfigType(f.Type), Description: f.Description, Direction: f.Direction}
	if len([]rune(c.Name)) > maxNameLength {
		return c, formErrorf("The name is longer than %d characters.", maxNameLength)
	}
	if c.Type == store.Categorical {
		for _, line := range strings.Split(f.Values, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			v := store.CategoricalValue{Label: line}
			if l, s, ok := strings.Cut(line, "="); ok {
				v.Label = strings.TrimSpace(l)
				score, err := parseNumber(s)
				if err != nil {
					return c, formErrorf("The score of %q, %q, is not a number: write it like 1 or 0.5.", v.Label, strings.TrimSpace(s))
				}
				v.Score = &score
			}
			c.Values = append(c.Values, v)
		}
	}
	for _, b := range []struct {
		text string
		to   **float64
		what string
	}{{f.Lower, &c.LowerBound, "lowest"}, {f.Upper, &c.UpperBound, "highest"}} {
		if b.text == "" {
			continue
		}
		v, err := parseNumber(b.text)
		if err != nil {
			return c, formErrorf("The %s score, %q, is not a number.", b.what, b.text)
		}
		*b.to = &v
	}
	return c, nil
}

func parseNumber(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil {
		return 0, fmt.Errorf("not a number: %w", err)
	}
	return v, nil
}

// checkConfig holds an annotation from a form to its name's config, if it
// has one: a label outside a categorical config's list, or a score out of
// bounds, is refused; a listed label without a score takes the label's.
func (h *Handler) checkConfig(ctx context.Context, projectID int64, a *store.Annotation) error {
	if a.Name == noteName {
		return nil
	}
	configs, err := h.formConfigs(ctx, projectID)
	if err != nil {
		return err
	}
	for _, c := range configs {
		if c.Name != a.Name {
			continue
		}
		if err := c.Admits(a.Label, a.Score); err != nil {
			return formErrorf("%s.", capitalize(err.Error()))
		}
		if a.Label != nil && a.Score == nil {
			if s, ok := c.ScoreOf(*a.Label); ok {
				a.Score = &s
			}
		}
	}
	return nil
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
