package api

import (
	"errors"
	"net/http"

	"github.com/loupe-dev/loupe/internal/store"
)

type projectJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
}

func toProjectJSON(p store.Project) projectJSON {
	return projectJSON{ID: GlobalID("Project", p.ID), Name: p.Name, Description: p.Description}
}

func (a *API) listProjects(r *http.Request) (any, error) {
	q := r.URL.Query()
	limit, err := limitParam(q, 100, 10000)
	if err != nil {
		return nil, err
	}
	cursor, err := cursorParam(q, "Project")
	if err != nil {
		return nil, err
	}
	projects, err := a.Store.Projects(r.Context(), store.ProjectQuery{
		NameContains: q.Get("name_contains"), AfterID: cursor, Limit: limit + 1,
	})
	if err != nil {
		return nil, err
	}
	out := page{Data: []projectJSON{}}
	if len(projects) > limit {
		next := GlobalID("Project", projects[limit].ID)
		out.NextCursor = &next
		projects = projects[:limit]
	}
	data := make([]projectJSON, len(projects))
	for i, p := range projects {
		data[i] = toProjectJSON(p)
	}
	out.Data = data
	return out, nil
}

func (a *API) getProject(r *http.Request) (any, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	return single{Data: toProjectJSON(p)}, nil
}

// project resolves {project_identifier}: a Project GlobalID, else a name.
func (a *API) project(r *http.Request) (store.Project, error) {
	return a.projectByIdentifier(r, r.PathValue("project_identifier"))
}

func (a *API) projectByIdentifier(r *http.Request, ident string) (store.Project, error) {
	if id, err := ParseGlobalID(ident, "Project"); err == nil {
		p, err := a.Store.ProjectByID(r.Context(), id)
		if err == nil {
			return p, nil
		}
	}
	p, err := a.Store.ProjectByName(r.Context(), ident)
	if errors.Is(err, store.ErrNotFound) {
		return p, errorf(http.StatusNotFound, "Project with name %s not found", ident)
	}
	return p, err
}
