package api

import (
	"errors"
	"net/http"
	"regexp"
	"strings"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

func (a *API) createProject(r *http.Request) (any, error) {
	var body struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	body.Name = strings.TrimSpace(body.Name)
	if body.Name == "" {
		return nil, errorf(http.StatusUnprocessableEntity, "name is required")
	}
	p, err := a.Store.CreateProject(r.Context(), body.Name, body.Description)
	if errors.Is(err, store.ErrConflict) {
		return nil, errorf(http.StatusConflict, "a project named %q already exists", body.Name)
	}
	if err != nil {
		return nil, err
	}
	return single{Data: toProjectJSON(p)}, nil
}

func (a *API) updateProject(r *http.Request) (any, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	var body struct {
		Description *string `json:"description"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if body.Description == nil {
		return single{Data: toProjectJSON(p)}, nil
	}
	p, err = a.Store.UpdateProject(r.Context(), p.ID, *body.Description)
	if err != nil {
		return nil, err
	}
	return single{Data: toProjectJSON(p)}, nil
}

func (a *API) deleteProject(r *http.Request) (any, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	if p.Name == span.DefaultProject {
		return nil, errorf(http.StatusForbidden, "the default project cannot be deleted")
	}
	if err := a.Store.DeleteProject(r.Context(), p.ID); err != nil {
		return nil, err
	}
	return noContent{}, nil
}

var hexTraceID = regexp.MustCompile(`^[0-9a-f]{32}$`)

// traceByIdentifier resolves a Trace GlobalID or a hex trace id.
func (a *API) traceByIdentifier(r *http.Request, ident string) (store.Trace, error) {
	if id, err := ParseGlobalID(ident, "Trace"); err == nil {
		return a.Store.TraceByRowID(r.Context(), id)
	}
	ident = strings.ToLower(ident)
	if !hexTraceID.MatchString(ident) {
		return store.Trace{}, errorf(http.StatusUnprocessableEntity, "%q is neither a Trace GlobalID nor a 32-digit hex trace id", ident)
	}
	t, err := a.Store.Trace(r.Context(), ident)
	if errors.Is(err, store.ErrNotFound) {
		return t, errorf(http.StatusNotFound, "Trace with ID %s not found", ident)
	}
	return t, err
}

func (a *API) deleteTrace(r *http.Request) (any, error) {
	t, err := a.traceByIdentifier(r, r.PathValue("trace_identifier"))
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteTrace(r.Context(), t.TraceID); err != nil {
		return nil, err
	}
	return noContent{}, nil
}

func (a *API) transferTraces(r *http.Request) (any, error) {
	var body struct {
		TraceIdentifiers             []string `json:"trace_identifiers"`
		DestinationProjectIdentifier string   `json:"destination_project_identifier"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	if len(body.TraceIdentifiers) == 0 {
		return nil, errorf(http.StatusUnprocessableEntity, "trace_identifiers must list at least one trace")
	}
	dest, err := a.projectByIdentifier(r, body.DestinationProjectIdentifier)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(body.TraceIdentifiers))
	for _, ident := range body.TraceIdentifiers {
		t, err := a.traceByIdentifier(r, ident)
		if err != nil {
			return nil, err
		}
		ids = append(ids, t.TraceID)
	}
	n, err := a.Store.TransferTraces(r.Context(), ids, dest.ID)
	if errors.Is(err, store.ErrInvalidArgument) {
		return nil, errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	if err != nil {
		return nil, err
	}
	return single{Data: map[string]any{"transferred_trace_count": n, "destination_project_id": GlobalID("Project", dest.ID)}}, nil
}

// deleteBatch is how many traces one transaction of a range deletion
// deletes, so that a large range does not hold the writer for long.
const deleteBatch = 1000

// deleteProjectTraces deletes the traces of a project that started in
// [start_time, end_time), with their spans, and the sessions left without
// traces (Phoenix 20.6). Both bounds are required; a time without an
// offset is UTC.
func (a *API) deleteProjectTraces(r *http.Request) (any, error) {
	q := r.URL.Query()
	for _, name := range []string{"start_time", "end_time"} {
		if q.Get(name) == "" {
			return nil, errorf(http.StatusUnprocessableEntity, "%s is required: traces that started in [start_time, end_time) are deleted", name)
		}
	}
	start, err := timeParam(q, "start_time")
	if err != nil {
		return nil, err
	}
	end, err := timeParam(q, "end_time")
	if err != nil {
		return nil, err
	}
	if start >= end {
		return nil, errorf(http.StatusUnprocessableEntity, "`start_time` must be strictly earlier than `end_time`.")
	}
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	// A start at the epoch reads as no lower bound, which is the same:
	// no span starts before 1970.
	d := store.TraceDeletion{ProjectID: p.ID, StartedFrom: start, StartedBefore: end, Limit: deleteBatch}
	for {
		del, err := a.Store.DeleteTraces(r.Context(), d)
		if err != nil {
			return nil, err
		}
		if del.Traces == 0 {
			return noContent{}, nil
		}
	}
}

// deleteSpan deletes one span, named by its Span GlobalID or its span id,
// and not its children (Phoenix's DELETE /v1/spans/{span_identifier}).
func (a *API) deleteSpan(r *http.Request) (any, error) {
	ident := r.PathValue("span_identifier")
	notFound := errorf(http.StatusNotFound, "Span with relay ID '%s' not found", ident)
	rowID, err := ParseGlobalID(ident, "Span")
	if err != nil {
		notFound = errorf(http.StatusNotFound, "Span with span_id '%s' not found", ident)
		rec, err := a.Store.SpanByID(r.Context(), ident)
		if errors.Is(err, store.ErrNotFound) {
			return nil, notFound
		}
		if err != nil {
			return nil, err
		}
		rowID = rec.RowID
	}
	err = a.Store.DeleteSpan(r.Context(), rowID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	return noContent{}, nil
}
