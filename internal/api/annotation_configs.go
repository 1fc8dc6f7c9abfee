package api

import (
	"cmp"
	"encoding/base64"
	"errors"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
)

// Annotation configs, at Phoenix's routes, in its shapes and with its
// statuses (routers/v1/annotation_configs.py): a config is named by a
// GlobalID whose type is its kind (CategoricalAnnotationConfig, …) or,
// here also, by its name. Lists go by id, newest first, as Phoenix's; a
// project lists the configs assigned to it.

// configTypes are the GlobalID types of configs, by config type.
var configTypes = map[store.AnnotationConfigType]string{
	store.Categorical: "CategoricalAnnotationConfig",
	store.Continuous:  "ContinuousAnnotationConfig",
	store.Freeform:    "FreeformAnnotationConfig",
}

// Phoenix's words for what is missing or taken.
const (
	configNotFound = "Annotation configuration not found"
	configTaken    = "The name of the annotation configuration is already taken"
)

// The three shapes Phoenix writes: each type has its own fields, present
// even when null.
type categoricalConfigJSON struct {
	ID                    string                   `json:"id"`
	Name                  string                   `json:"name"`
	Type                  string                   `json:"type"`
	Description           *string                  `json:"description"`
	OptimizationDirection string                   `json:"optimization_direction"`
	Values                []store.CategoricalValue `json:"values"`
}

type continuousConfigJSON struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	Type                  string   `json:"type"`
	Description           *string  `json:"description"`
	OptimizationDirection string   `json:"optimization_direction"`
	LowerBound            *float64 `json:"lower_bound"`
	UpperBound            *float64 `json:"upper_bound"`
}

type freeformConfigJSON struct {
	ID                    string   `json:"id"`
	Name                  string   `json:"name"`
	Type                  string   `json:"type"`
	Description           *string  `json:"description"`
	OptimizationDirection *string  `json:"optimization_direction"`
	Threshold             *float64 `json:"threshold"`
	LowerBound            *float64 `json:"lower_bound"`
	UpperBound            *float64 `json:"upper_bound"`
}

func configID(c store.AnnotationConfig) string { return GlobalID(configTypes[c.Type], c.ID) }

func configJSON(c store.AnnotationConfig) any {
	var desc *string
	if c.Description != "" {
		desc = &c.Description
	}
	switch c.Type {
	case store.Categorical:
		values := c.Values
		if values == nil {
			values = []store.CategoricalValue{}
		}
		return categoricalConfigJSON{ID: configID(c), Name: c.Name, Type: string(c.Type), Description: desc,
			OptimizationDirection: cmp.Or(c.Direction, "NONE"), Values: values}
	case store.Continuous:
		return continuousConfigJSON{ID: configID(c), Name: c.Name, Type: string(c.Type), Description: desc,
			OptimizationDirection: cmp.Or(c.Direction, "NONE"), LowerBound: c.LowerBound, UpperBound: c.UpperBound}
	}
	var dir *string
	if c.Direction != "" {
		dir = &c.Direction
	}
	return freeformConfigJSON{ID: configID(c), Name: c.Name, Type: string(c.Type), Description: desc,
		OptimizationDirection: dir, Threshold: c.Threshold, LowerBound: c.LowerBound, UpperBound: c.UpperBound}
}

// configBody is a config as a request sends it.
type configBody struct {
	Name                  *string                  `json:"name"`
	Type                  string                   `json:"type"`
	Description           *string                  `json:"description"`
	OptimizationDirection *string                  `json:"optimization_direction"`
	Values                []store.CategoricalValue `json:"values"`
	LowerBound            *float64                 `json:"lower_bound"`
	UpperBound            *float64                 `json:"upper_bound"`
	Threshold             *float64                 `json:"threshold"`
}

// configOf reads a request's config as Phoenix does: a body its schema
// refuses is a 422; the name "note", kept for notes, a 409; a config its
// checks refuse (no labels, a label twice, bounds the wrong way round) a
// 400.
func configOf(r *http.Request) (store.AnnotationConfig, error) {
	var b configBody
	if err := decodeBody(r, &b); err != nil {
		return store.AnnotationConfig{}, err
	}
	t := store.AnnotationConfigType(b.Type)
	if _, ok := configTypes[t]; !ok {
		return store.AnnotationConfig{}, errorf(http.StatusUnprocessableEntity, "type: an annotation config is CATEGORICAL, CONTINUOUS or FREEFORM, not %q", b.Type)
	}
	if b.Name == nil {
		return store.AnnotationConfig{}, errorf(http.StatusUnprocessableEntity, "name: required")
	}
	c := store.AnnotationConfig{Name: *b.Name, Type: t, LowerBound: b.LowerBound, UpperBound: b.UpperBound}
	if b.Description != nil {
		c.Description = *b.Description
	}
	if b.OptimizationDirection != nil {
		c.Direction = *b.OptimizationDirection
		switch c.Direction {
		case "MINIMIZE", "MAXIMIZE", "NONE":
		default:
			return c, errorf(http.StatusUnprocessableEntity, "optimization_direction: MINIMIZE, MAXIMIZE or NONE, not %q", c.Direction)
		}
	} else if t != store.Freeform {
		return c, errorf(http.StatusUnprocessableEntity, "optimization_direction: required for a %s config", t)
	}
	switch t {
	case store.Categorical:
		if b.Values == nil {
			return c, errorf(http.StatusUnprocessableEntity, "values: required for a CATEGORICAL config")
		}
		c.Values = b.Values
		if b.LowerBound != nil || b.UpperBound != nil || b.Threshold != nil {
			return c, errorf(http.StatusUnprocessableEntity, "a CATEGORICAL config has values, not bounds or a threshold")
		}
	case store.Continuous:
		if b.Values != nil || b.Threshold != nil {
			return c, errorf(http.StatusUnprocessableEntity, "a CONTINUOUS config has bounds, not values or a threshold")
		}
	case store.Freeform:
		if b.Values != nil {
			return c, errorf(http.StatusUnprocessableEntity, "a FREEFORM config has no values")
		}
		c.Threshold = b.Threshold
	}
	if c.Name == "note" {
		return c, errorf(http.StatusConflict, "The name 'note' is reserved for trace and span notes and cannot be used for annotation configs.")
	}
	if err := c.Validate(); err != nil {
		return c, errorf(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), store.ErrInvalidArgument.Error()+": "))
	}
	return c, nil
}

// parseConfigID reads a config's GlobalID, of any of the three types; ok
// is false for a string that is no GlobalID at all.
func parseConfigID(s string) (id int64, ok bool, err error) {
	raw, derr := base64.StdEncoding.DecodeString(s)
	typ, n, cut := strings.Cut(string(raw), ":")
	if derr != nil || !cut {
		return 0, false, nil
	}
	id, perr := strconv.ParseInt(n, 10, 64)
	if perr != nil {
		return 0, false, nil
	}
	for _, t := range configTypes {
		if typ == t {
			return id, true, nil
		}
	}
	return 0, true, errorf(http.StatusBadRequest, "Invalid annotation configuration ID")
}

// configByIdentifier finds a config by GlobalID or name.
func (a *API) configByIdentifier(r *http.Request, ident string) (store.AnnotationConfig, error) {
	id, isID, err := parseConfigID(ident)
	if err != nil {
		return store.AnnotationConfig{}, err
	}
	cs, err := a.Store.AnnotationConfigs(r.Context())
	if err != nil {
		return store.AnnotationConfig{}, err
	}
	for _, c := range cs {
		if isID && c.ID == id || !isID && c.Name == ident {
			return c, nil
		}
	}
	return store.AnnotationConfig{}, errorf(http.StatusNotFound, configNotFound)
}

func (a *API) findConfig(r *http.Request) (store.AnnotationConfig, error) {
	return a.configByIdentifier(r, r.PathValue("config_identifier"))
}

// configPage pages configs by id, newest first, as Phoenix lists them: the
// cursor is the GlobalID of the first config of the next page.
func configPage(r *http.Request, cs []store.AnnotationConfig) (any, error) {
	q := r.URL.Query()
	limit, err := limitParam(q, 100, math.MaxInt32)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b store.AnnotationConfig) int { return cmp.Compare(b.ID, a.ID) })
	if cur := q.Get("cursor"); cur != "" {
		id, ok, err := parseConfigID(cur)
		if !ok || err != nil {
			return nil, errorf(http.StatusBadRequest, "Invalid cursor: %s", cur)
		}
		cs = slices.DeleteFunc(cs, func(c store.AnnotationConfig) bool { return c.ID > id })
	}
	out := page{Data: []any{}}
	if len(cs) > limit {
		next := configID(cs[limit])
		out.NextCursor = &next
		cs = cs[:limit]
	}
	for _, c := range cs {
		out.Data = append(out.Data.([]any), configJSON(c))
	}
	return out, nil
}

func (a *API) listAnnotationConfigs(r *http.Request) (any, error) {
	cs, err := a.Store.AnnotationConfigs(r.Context())
	if err != nil {
		return nil, err
	}
	return configPage(r, cs)
}

func (a *API) getAnnotationConfig(r *http.Request) (any, error) {
	c, err := a.findConfig(r)
	if err != nil {
		return nil, err
	}
	return single{Data: configJSON(c)}, nil
}

// configSaved maps what the store says of a config it refused.
func configSaved(c store.AnnotationConfig, err error) (any, error) {
	switch {
	case errors.Is(err, store.ErrConflict):
		return nil, errorf(http.StatusConflict, configTaken)
	case errors.Is(err, store.ErrNotFound):
		return nil, errorf(http.StatusNotFound, configNotFound)
	case errors.Is(err, store.ErrInvalidArgument):
		return nil, errorf(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), store.ErrInvalidArgument.Error()+": "))
	case err != nil:
		return nil, err
	}
	return single{Data: configJSON(c)}, nil
}

// createAnnotationConfig creates a config; a name already defined is a
// 409, as in Phoenix.
func (a *API) createAnnotationConfig(r *http.Request) (any, error) {
	c, err := configOf(r)
	if err != nil {
		return nil, err
	}
	return configSaved(a.Store.CreateAnnotationConfig(r.Context(), c))
}

// updateAnnotationConfig replaces a config, its name and type included.
func (a *API) updateAnnotationConfig(r *http.Request) (any, error) {
	c, err := configOf(r)
	if err != nil {
		return nil, err
	}
	old, err := a.findConfig(r)
	if err != nil {
		return nil, err
	}
	c.ID = old.ID
	return configSaved(a.Store.UpdateAnnotationConfig(r.Context(), c))
}

// deleteAnnotationConfig deletes a config and answers it, as Phoenix does.
func (a *API) deleteAnnotationConfig(r *http.Request) (any, error) {
	c, err := a.findConfig(r)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteAnnotationConfig(r.Context(), c.Name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorf(http.StatusNotFound, configNotFound)
		}
		return nil, err
	}
	return single{Data: configJSON(c)}, nil
}

func (a *API) listProjectAnnotationConfigs(r *http.Request) (any, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	cs, err := a.Store.ProjectAnnotationConfigs(r.Context(), p.ID)
	if err != nil {
		return nil, err
	}
	return configPage(r, cs)
}

// assignAnnotationConfig assigns (or unassigns) a config to a project;
// doing it twice is no error.
func (a *API) assignAnnotationConfig(assigned bool) handlerFunc {
	return func(r *http.Request) (any, error) {
		p, err := a.project(r)
		if err != nil {
			return nil, err
		}
		c, err := a.findConfig(r)
		if err != nil {
			return nil, err
		}
		if err := a.Store.AssignAnnotationConfig(r.Context(), p.ID, c.ID, assigned); err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, errorf(http.StatusNotFound, configNotFound)
			}
			return nil, err
		}
		if !assigned {
			return noContent{}, nil
		}
		return single{Data: configJSON(c)}, nil
	}
}

// setProjectAnnotationConfigs makes the body's configs the project's
// whole set, and answers them.
func (a *API) setProjectAnnotationConfigs(r *http.Request) (any, error) {
	var body struct {
		IDs *[]string `json:"annotation_config_ids"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.IDs == nil {
		return nil, errorf(http.StatusUnprocessableEntity, "annotation_config_ids: required")
	}
	ids := []int64{}
	for _, s := range *body.IDs {
		id, ok, err := parseConfigID(s)
		if !ok || err != nil {
			return nil, errorf(http.StatusUnprocessableEntity, "Invalid annotation configuration ID: %s", s)
		}
		ids = append(ids, id)
	}
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	if err := a.Store.ReplaceProjectAnnotationConfigs(r.Context(), p.ID, ids); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorf(http.StatusUnprocessableEntity, "One or more annotation configurations were not found")
		}
		return nil, err
	}
	cs, err := a.Store.ProjectAnnotationConfigs(r.Context(), p.ID)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(cs, func(a, b store.AnnotationConfig) int { return cmp.Compare(b.ID, a.ID) })
	out := page{Data: []any{}}
	for _, c := range cs {
		out.Data = append(out.Data.([]any), configJSON(c))
	}
	return out, nil
}
