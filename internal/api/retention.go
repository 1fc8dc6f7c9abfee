package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// The retention routes (routes.go) serve retention policies and the
// storage report:
//
//	GET, PUT, DELETE /v1/projects/{project_identifier}/retention   a project's policy
//	GET, PUT, DELETE /v1/retention                                 the default policy
//	GET /v1/storage?days=30                                        what the database holds
//
// A policy is {"max_days": 30, "max_traces": 100000}; zero (or absent) sets
// no bound. A project without a policy of its own follows the default, and
// its GET says "inherited": true. DELETE of a project's policy makes it follow
// the default again; DELETE of the default keeps everything.
//
// Phoenix's PATCH /v1/projects/{project_identifier}/retention points a
// project at one of its shared, named policies. Loupe's policies are not
// shared: a project has its own or follows the default. So in Phoenix's
// ids, ProjectTraceRetentionPolicy:0 is the default (as in Phoenix) and
// ProjectTraceRetentionPolicy:<project row id> a project's own policy, which
// GET and PUT report as policy_id; PATCH resets a project to the default,
// keeps its own, and refuses another project's, which it cannot share.

type retentionJSON struct {
	MaxDays   float64 `json:"max_days"`
	MaxTraces int64   `json:"max_traces"`
	Inherited bool    `json:"inherited"`
	PolicyID  string  `json:"policy_id"` // in Phoenix's ids
}

// toRetentionJSON is the policy p that project (store.DefaultPolicy for
// the default) follows.
func toRetentionJSON(p store.RetentionPolicy, project int64) retentionJSON {
	owner := project
	if p.Inherited {
		owner = store.DefaultPolicy
	}
	return retentionJSON{MaxDays: p.MaxDays, MaxTraces: p.MaxTraces, Inherited: p.Inherited, PolicyID: policyID(owner)}
}

// policyType is Phoenix's node type of retention policies.
const policyType = "ProjectTraceRetentionPolicy"

// policyID is the Phoenix id of the policy of project owner, or of the
// default (store.DefaultPolicy, 0, Phoenix's id of its default too).
func policyID(owner int64) string { return GlobalID(policyType, owner) }

// parsePolicyID reads a policy id, which unlike other GlobalIDs may be 0.
func parsePolicyID(s string) (int64, bool) {
	if s == policyID(store.DefaultPolicy) {
		return store.DefaultPolicy, true
	}
	id, err := ParseGlobalID(s, policyType)
	return id, err == nil
}

// patchRetention is Phoenix's PATCH of a project's retention policy (20.4):
// {"policy_id": null} or the default's id makes the project follow the
// default, the id of its own policy keeps it; policy_id must be given.
func (a *API) patchRetention(r *http.Request) (any, error) {
	var body map[string]*string
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	ref, ok := body["policy_id"]
	if !ok {
		return nil, errorf(http.StatusUnprocessableEntity, "policy_id is required: a retention policy's ID, or null for the default policy")
	}
	owner := store.DefaultPolicy
	if ref != nil {
		if owner, ok = parsePolicyID(*ref); !ok {
			return nil, errorf(http.StatusUnprocessableEntity, "Invalid retention policy ID: %s", *ref)
		}
	}
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	out := map[string]*string{"project_id": ptrTo(GlobalID("Project", p.ID)), "policy_id": nil}
	if owner == store.DefaultPolicy {
		if err := a.Store.DeleteRetentionPolicy(r.Context(), p.ID); err != nil {
			return nil, err
		}
		return single{Data: out}, nil
	}
	policies, err := a.Store.RetentionPolicies(r.Context())
	if err != nil {
		return nil, err
	}
	if _, exists := policies[owner]; !exists {
		return nil, errorf(http.StatusNotFound, "Retention policy with ID %s not found", *ref)
	}
	if owner != p.ID {
		return nil, errorf(http.StatusUnprocessableEntity,
			"Retention policy with ID %s is the policy of another project: Loupe keeps a policy per project, which projects do not share; "+
				"give this project its own with PUT /v1/projects/{project_identifier}/retention", *ref)
	}
	out["policy_id"] = ref
	return single{Data: out}, nil
}

func ptrTo[T any](v T) *T { return &v }

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
		return single{Data: toRetentionJSON(p, id)}, nil
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
		return single{Data: toRetentionJSON(p, id)}, nil
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
		DefaultRetention: toRetentionJSON(def, store.DefaultPolicy), Projects: make([]projectStorageJSON, len(rep.Projects))}
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
			Spans: p.Spans, EstimatedBytes: p.EstimatedBytes, Retention: toRetentionJSON(policy, p.ProjectID), SpansPerDay: perDay}
	}
	return single{Data: out}, nil
}
