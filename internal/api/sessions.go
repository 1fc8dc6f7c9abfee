package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/query"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/usd"
)

type sessionTraceJSON struct {
	ID        string `json:"id"`
	TraceID   string `json:"trace_id"`
	StartTime string `json:"start_time"`
	EndTime   string `json:"end_time"`
}

type sessionJSON struct {
	ID                   string             `json:"id"`
	SessionID            string             `json:"session_id"`
	ProjectID            string             `json:"project_id"`
	StartTime            string             `json:"start_time"`
	EndTime              string             `json:"end_time"`
	NumTraces            int64              `json:"num_traces"`
	TokenCountPrompt     int64              `json:"token_count_prompt"`
	TokenCountCompletion int64              `json:"token_count_completion"`
	TokenCountTotal      int64              `json:"token_count_total"`
	TotalCost            float64            `json:"total_cost"`
	UnpricedSpans        int64              `json:"unpriced_spans"`
	UserID               *string            `json:"user_id"`
	FirstInput           string             `json:"first_input"`
	LastOutput           string             `json:"last_output"`
	Traces               []sessionTraceJSON `json:"traces"`
}

// sessionsJSON answers sessions with their traces, oldest first, read for
// all of them in one query.
func (a *API) sessionsJSON(r *http.Request, sessions []store.Session) ([]sessionJSON, error) {
	out := make([]sessionJSON, 0, len(sessions))
	if len(sessions) == 0 {
		return out, nil
	}
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.SessionID
	}
	// The sessions of a page are one project's.
	traces, err := a.Store.Traces(r.Context(), store.TraceQuery{ProjectID: sessions[0].ProjectID, SessionIDs: ids, Ascending: true})
	if err != nil {
		return nil, err
	}
	bySession := map[string][]sessionTraceJSON{}
	for _, t := range traces {
		bySession[t.SessionID] = append(bySession[t.SessionID],
			sessionTraceJSON{GlobalID("Trace", t.RowID), t.TraceID, isotime.Format(t.StartTime), isotime.Format(t.EndTime)})
	}
	for _, s := range sessions {
		out = append(out, toSessionJSON(s, bySession[s.SessionID]))
	}
	return out, nil
}

func toSessionJSON(s store.Session, traces []sessionTraceJSON) sessionJSON {
	if traces == nil {
		traces = []sessionTraceJSON{}
	}
	return sessionJSON{
		ID: GlobalID("ProjectSession", s.RowID), SessionID: s.SessionID, ProjectID: GlobalID("Project", s.ProjectID),
		StartTime: isotime.Format(s.StartTime), EndTime: isotime.Format(s.EndTime), NumTraces: s.TraceCount,
		TokenCountPrompt: s.Tokens.Prompt, TokenCountCompletion: s.Tokens.Completion, TokenCountTotal: s.Tokens.Total,
		TotalCost: usd.Round(s.Cost.Total), UnpricedSpans: s.Cost.Unpriced,
		UserID: optional(s.UserID), FirstInput: s.FirstInput, LastOutput: s.LastOutput, Traces: traces,
	}
}

func (a *API) listSessions(r *http.Request) (any, error) {
	p, err := a.project(r)
	if err != nil {
		return nil, err
	}
	q := r.URL.Query()
	sq := store.SessionQuery{ProjectID: p.ID, Ascending: true}
	switch o := q.Get("order"); o {
	case "", "asc":
	case "desc":
		sq.Ascending = false
	default:
		return nil, errorf(http.StatusUnprocessableEntity, "order must be asc or desc, got %q", o)
	}
	if sq.Limit, err = limitParam(q, 100, 1000); err != nil {
		return nil, err
	}
	if sq.Cursor, err = cursorParam(q, "ProjectSession"); err != nil {
		return nil, err
	}
	// Phoenix 20.12's session filter: an empty one does not filter, an
	// invalid one is answered 400.
	if f := strings.TrimSpace(q.Get("filter")); f != "" {
		e, err := query.Parse(f)
		if err == nil {
			err = query.CheckSessions(e)
		}
		if err != nil {
			return nil, errorf(http.StatusBadRequest, "invalid session filter: %v", err)
		}
		sq.Filter = e
	}
	limit := sq.Limit
	sq.Limit++
	sessions, err := a.Store.Sessions(r.Context(), sq)
	if err != nil {
		return nil, err
	}
	out := page{}
	if len(sessions) > limit {
		next := GlobalID("ProjectSession", sessions[limit].RowID)
		out.NextCursor = &next
		sessions = sessions[:limit]
	}
	data, err := a.sessionsJSON(r, sessions)
	if err != nil {
		return nil, err
	}
	out.Data = data
	return out, nil
}

// sessionByIdentifier resolves a ProjectSession GlobalID or a session.id value.
func (a *API) sessionByIdentifier(r *http.Request, ident string) (store.Session, error) {
	if id, err := ParseGlobalID(ident, "ProjectSession"); err == nil {
		if s, err := a.Store.SessionByRowID(r.Context(), id); err == nil {
			return s, nil
		}
	}
	s, err := a.Store.Session(r.Context(), ident)
	if errors.Is(err, store.ErrNotFound) {
		return s, errorf(http.StatusNotFound, "Session %s not found", ident)
	}
	return s, err
}

func (a *API) getSession(r *http.Request) (any, error) {
	s, err := a.sessionByIdentifier(r, r.PathValue("session_identifier"))
	if err != nil {
		return nil, err
	}
	sj, err := a.sessionsJSON(r, []store.Session{s})
	if err != nil {
		return nil, err
	}
	return single{Data: sj[0]}, nil
}

func (a *API) deleteSession(r *http.Request) (any, error) {
	s, err := a.sessionByIdentifier(r, r.PathValue("session_identifier"))
	if err != nil {
		return nil, err
	}
	if err := a.Store.DeleteSession(r.Context(), s.SessionID); err != nil {
		return nil, err
	}
	return noContent{}, nil
}

func (a *API) deleteSessions(r *http.Request) (any, error) {
	var body struct {
		SessionIdentifiers []string `json:"session_identifiers"`
	}
	if err := decodeBody(r, &body); err != nil {
		return nil, err
	}
	for _, ident := range body.SessionIdentifiers {
		s, err := a.sessionByIdentifier(r, ident)
		if errors.Is(err, store.ErrNotFound) || isStatus(err, http.StatusNotFound) {
			continue // already gone: deleting is idempotent
		}
		if err != nil {
			return nil, err
		}
		if err := a.Store.DeleteSession(r.Context(), s.SessionID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	return noContent{}, nil
}

func isStatus(err error, status int) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == status
}
