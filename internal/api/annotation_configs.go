package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/loupe-dev/loupe/internal/store"
)

// Annotation configs, at Phoenix's routes and in its shapes: a config is
// named by a GlobalID whose type is its kind (CategoricalAnnotationConfig,
// …) or, here also, by its name.

// annotationConfigJSON is a config as Phoenix's REST API writes it.
type annotationConfigJSON struct {
	ID                    string                   `json:"id,omitempty"`
	Name                  string                   `json:"name"`
	Type                  string                   `json:"type"`
	Description           *string                  `json:"description"`
	OptimizationDirection *string                  `json:"optimization_direction"`
	Values                []store.CategoricalValue `json:"values,omitempty"`
	LowerBound            *float64                 `json:"lower_bound,omitempty"`
	UpperBound            *float64                 `json:"upper_bound,omitempty"`
	Threshold             *float64                 `json:"threshold,omitempty"`
}

func configTypeName(t store.AnnotationConfigType) string {
	switch t {
	case store.Categorical:
		return "CategoricalAnnotationConfig"
	case store.Continuous:
		return "ContinuousAnnotationConfig"
	}
	return "FreeformAnnotationConfig"
}

func configJSON(c store.AnnotationConfig) annotationConfigJSON {
	out := annotationConfigJSON{ID: GlobalID(configTypeName(c.Type), c.ID), Name: c.Name, Type: string(c.Type),
		Values: c.Values, LowerBound: c.LowerBound, UpperBound: c.UpperBound}
	if c.Description != "" {
		out.Description = &c.Description
	}
	if c.Direction != "" {
		out.OptimizationDirection = &c.Direction
	}
	if c.Type == store.Categorical && out.Values == nil {
		out.Values = []store.CategoricalValue{}
	}
	return out
}

func (a *API) listAnnotationConfigs(r *http.Request) (any, error) {
	cs, err := a.Store.AnnotationConfigs(r.Context())
	if err != nil {
		return nil, err
	}
	out := make([]annotationConfigJSON, len(cs))
	for i, c := range cs {
		out[i] = configJSON(c)
	}
	return page{Data: out}, nil
}

// findConfig finds a config by GlobalID or name.
func (a *API) findConfig(r *http.Request) (store.AnnotationConfig, error) {
	ident := r.PathValue("config_identifier")
	cs, err := a.Store.AnnotationConfigs(r.Context())
	if err != nil {
		return store.AnnotationConfig{}, err
	}
	for _, c := range cs {
		if c.Name == ident || GlobalID(configTypeName(c.Type), c.ID) == ident {
			return c, nil
		}
	}
	return store.AnnotationConfig{}, errorf(http.StatusNotFound, "annotation config %q not found", ident)
}

func (a *API) getAnnotationConfig(r *http.Request) (any, error) {
	c, err := a.findConfig(r)
	if err != nil {
		return nil, err
	}
	return single{Data: configJSON(c)}, nil
}

// createAnnotationConfig creates a config; a name already defined is a
// 409, as in Phoenix.
func (a *API) createAnnotationConfig(r *http.Request) (any, error) {
	var body annotationConfigJSON
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	c := store.AnnotationConfig{Name: strings.TrimSpace(body.Name), Type: store.AnnotationConfigType(body.Type),
		Values: body.Values, LowerBound: body.LowerBound, UpperBound: body.UpperBound}
	if body.Description != nil {
		c.Description = *body.Description
	}
	if body.OptimizationDirection != nil {
		c.Direction = *body.OptimizationDirection
	}
	if err := c.Validate(); err != nil {
		return nil, errorf(http.StatusUnprocessableEntity, "%s", strings.TrimPrefix(err.Error(), store.ErrInvalidArgument.Error()+": "))
	}
	existing, err := a.Store.AnnotationConfigs(r.Context())
	if err != nil {
		return nil, err
	}
	for _, e := range existing {
		if e.Name == c.Name {
			return nil, errorf(http.StatusConflict, "The name of the annotation configuration is already taken: %s", c.Name)
		}
	}
	saved, err := a.Store.SaveAnnotationConfig(r.Context(), c)
	if err != nil {
		return nil, err
	}
	return single{Data: configJSON(saved)}, nil
}

// deleteAnnotationConfig deletes a config and answers it, as Phoenix does.
func (a *API) deleteAnnotationConfig(r *http.Request) (any, error) {
	c, err := a.findConfig(r)
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteAnnotationConfig(r.Context(), c.Name); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, errorf(http.StatusNotFound, "annotation config %q not found", c.Name)
		}
		return nil, err
	}
	return single{Data: configJSON(c)}, nil
}
