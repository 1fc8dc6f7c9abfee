package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// retentionRoutes serves retention policies and the storage report:
//
//	GET, PUT, DELETE /v1/projects/{project_identifier}/retention   a project's policy
//	GET, PUT, DELETE /v1/retention                                 the default policy
//	GET /v1/storage?days=30                                        what the database holds
//
// A policy is {"max_days": 30, "max_traces": 100000}; zero (or absent) sets
// no bound. A project without a policy of its own follows the default, and
// its GET says "inherited": true. DELETE of a project's policy makes it follow
// the default again; DELETE of the default keeps everything.
func (a *API) retentionRoutes(mux *http.ServeMux) {
	mux.Handle("GET /v1/projects/{project_identifier}/retention", a.wrap(a.getRetention(true)))
	mux.Handle("PUT /v1/projects/{project_identifier}/retention", a.wrap(a.putRetention(true)))
	mux.Handle("DELETE /v1/projects/{project_identifier}/retention", a.wrap(a.deleteRetention(true)))
	mux.Handle("GET /v1/retention", a.wrap(a.getRetention(false)))
	mux.Handle("PUT /v1/retention", a.wrap(a.putRetention(false)))
	mux.Handle("DELETE /v1/retention", a.wrap(a.deleteRetention(false)))
	mux.Handle("GET /v1/storage", a.wrap(a.getStorage))
}

type retentionJSON struct {
	MaxDays   float64 `json:"max_days"`
	MaxTraces int64   `json:"max_traces"`
	Inherited bool    `json:"inherited"`
}

func toRetentionJSON(p store.RetentionPolicy) retentionJSON {
	return retentionJSON{MaxDays: p.MaxDays, MaxTraces: p.MaxTraces, Inherited: p.Inherited}
}

// policyTarget is the project a retention route names, or the default.
func (a *API) policyTarget(r *http.Request, ofProject bool) (int64, error) {
	if !ofProject {
		return store.DefaultPolicy, nil
	}
	p, err := a.project(r)
	return p.ID, err
}

func (a *API) getRetention(ofProject bool) handlerFunc {
	return func(r *http.Request) (any, error) {
		id, err := a.policyTarget(r, ofProject)
		if err != nil {
			return nil, err
		}
		p, err := a.Store.RetentionPolicy(r.Context(), id)
		if err != nil {
			return nil, err
		}
		return single{Data: toRetentionJSON(p)}, nil
	}
}

func (a *API) putRetention(ofProject bool) handlerFunc {
	return func(r *http.Request) (any, error) {
		id, err := a.policyTarget(r, ofProject)
		if err != nil {
			return nil, err
		}
		var body struct {
			Data *struct {
				MaxDays   float64 `json:"max_days"`
				MaxTraces int64   `json:"max_traces"`
			} `json:"data"`
		}
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
		if body.Data == nil {
			return nil, errorf(http.StatusUnprocessableEntity, `body must be {"data": {"max_days": …, "max_traces": …}}`)
		}
		if body.Data.MaxDays < 0 || body.Data.MaxTraces < 0 {
			return nil, errorf(http.StatusUnprocessableEntity, "max_days and max_traces must not be negative (0 keeps everything)")
		}
		p := store.RetentionPolicy{MaxDays: body.Data.MaxDays, MaxTraces: body.Data.MaxTraces}
		if err := a.Store.SetRetentionPolicy(r.Context(), id, p); err != nil {
			return nil, err
		}
		return single{Data: toRetentionJSON(p)}, nil
	}
}

func (a *API) deleteRetention(ofProject bool) handlerFunc {
	return func(r *http.Request) (any, error) {
		id, err := a.policyTarget(r, ofProject)
		if err != nil {
			return nil, err
		}
		if err := a.Store.DeleteRetentionPolicy(r.Context(), id); err != nil {
			return nil, err
		}
		return noContent{}, nil
	}
}

type storageJSON struct {
	DatabaseBytes    int64                `json:"database_bytes"`
	Traces           int64                `json:"traces"`
	Spans            int64                `json:"spans"`
	DefaultRetention retentionJSON        `json:"default_retention"`
	Projects         []projectStorageJSON `json:"projects"`
}

type projectStorageJSON struct {
	ID             string        `json:"id"`
	Name           string        `json:"name"`
	Traces         int64         `json:"traces"`
	Spans          int64         `json:"spans"`
	EstimatedBytes int64         `json:"estimated_bytes"`
	Retention      retentionJSON `json:"retention"`
	SpansPerDay    []dayJSON     `json:"spans_per_day"`
}

type dayJSON struct {
	Date  string `json:"date"` // YYYY-MM-DD, UTC
	Spans int64  `json:"spans"`
}

// getStorage reports the database's size, each project's share, policy and
// spans per day over the last ?days= days (30 by default, at most 366).
func (a *API) getStorage(r *http.Request) (any, error) {
	days := 30
	if v := r.URL.Query().Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 366 {
			return nil, errorf(http.StatusUnprocessableEntity, "days must be a whole number from 0 to 366")
		}
		days = n
	}
	ctx := r.Context()
	rep, err := a.Store.StorageReport(ctx, store.StorageQuery{Now: time.Now().UnixNano(), Days: days})
	if err != nil {
		return nil, err
	}
	policies, err := a.Store.RetentionPolicies(ctx)
	if err != nil {
		return nil, err
	}
	def := policies[store.DefaultPolicy]
	out := storageJSON{DatabaseBytes: rep.DatabaseBytes, Traces: rep.Traces, Spans: rep.Spans,
		DefaultRetention: toRetentionJSON(def), Projects: make([]projectStorageJSON, len(rep.Projects))}
	for i, p := range rep.Projects {
		policy, own := policies[p.ProjectID]
		if !own {
			policy, policy.Inherited = def, true
		}
		perDay := make([]dayJSON, len(p.Daily))
		for j, d := range p.Daily {
			perDay[j] = dayJSON{Date: time.Unix(0, d.Day).UTC().Format(time.DateOnly), Spans: d.Spans}
		}
		out.Projects[i] = projectStorageJSON{ID: GlobalID("Project", p.ProjectID), Name: p.Name, Traces: p.Traces,
			Spans: p.Spans, EstimatedBytes: p.EstimatedBytes, Retention: toRetentionJSON(policy), SpansPerDay: perDay}
	}
	return single{Data: out}, nil
}
