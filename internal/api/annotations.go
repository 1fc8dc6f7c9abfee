package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/isotime"
	"github.com/loupe-dev/loupe/internal/store"
)

// annotationRoute describes how the REST routes of one kind of annotation
// (routes.go) name what they annotate.
type annotationRoute struct {
	kind     store.AnnotationKind
	idField  string // the entity id's JSON name
	listIDs  string // GET …/{list} parameter naming entity ids
	globalID string // GlobalID type of the annotations
}

var (
	spanAnnotations     = annotationRoute{store.SpanAnnotation, "span_id", "span_ids", "SpanAnnotation"}
	traceAnnotations    = annotationRoute{store.TraceAnnotation, "trace_id", "trace_ids", "TraceAnnotation"}
	sessionAnnotations  = annotationRoute{store.SessionAnnotation, "session_id", "session_ids", "ProjectSessionAnnotation"}
	documentAnnotations = annotationRoute{store.DocumentAnnotation, "span_id", "span_ids", "DocumentAnnotation"}
)

type annotationResult struct {
	Label       *string  `json:"label"`
	Score       *float64 `json:"score"`
	Explanation *string  `json:"explanation"`
}

// annotationData is one item of a POST body; the entity id arrives under
// span_id, trace_id or session_id depending on the route.
type annotationData struct {
	SpanID           string            `json:"span_id"`
	TraceID          string            `json:"trace_id"`
	SessionID        string            `json:"session_id"`
	DocumentPosition *int              `json:"document_position"`
	Name             string            `json:"name"`
	AnnotatorKind    string            `json:"annotator_kind"`
	Result           *annotationResult `json:"result"`
	Metadata         json.RawMessage   `json:"metadata"`
	Identifier       *string           `json:"identifier"`
}

func (d annotationData) entityID(kind store.AnnotationKind) string {
	switch kind {
	case store.TraceAnnotation:
		return d.TraceID
	case store.SessionAnnotation:
		return d.SessionID
	}
	return d.SpanID
}

// decodeBody reads a JSON body into v, saying precisely what was wrong.
func decodeBody(r *http.Request, v any) error {
	if r.Body == nil {
		return errorf(http.StatusUnprocessableEntity, "request body is required")
	}
	if err := requireJSON(r); err != nil {
		return err
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 32<<20))
	if err := dec.Decode(v); err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errorf(http.StatusRequestEntityTooLarge, "request body is larger than %d bytes", maxErr.Limit)
		}
		return errorf(http.StatusUnprocessableEntity, "request body is not valid JSON for this endpoint: %v", err)
	}
	return nil
}

var annotatorKinds = map[string]bool{"LLM": true, "CODE": true, "HUMAN": true}

func (a *API) toAnnotation(rt annotationRoute, i int, d annotationData) (store.Annotation, error) {
	id := d.entityID(rt.kind)
	switch {
	case id == "":
		return store.Annotation{}, errorf(http.StatusUnprocessableEntity, "data[%d]: %s is required", i, rt.idField)
	case strings.TrimSpace(d.Name) == "":
		return store.Annotation{}, errorf(http.StatusUnprocessableEntity, "data[%d]: name is required", i)
	case d.Name == "note":
		return store.Annotation{}, errorf(http.StatusBadRequest, "data[%d]: the name \"note\" is reserved; use POST /v1/%s_notes", i, rt.kind)
	case !annotatorKinds[d.AnnotatorKind]:
		return store.Annotation{}, errorf(http.StatusUnprocessableEntity, "data[%d]: annotator_kind must be LLM, CODE or HUMAN, got %q", i, d.AnnotatorKind)
	case rt.kind == store.DocumentAnnotation && (d.DocumentPosition == nil || *d.DocumentPosition < 0):
		return store.Annotation{}, errorf(http.StatusUnprocessableEntity, "data[%d]: document_position (0-based) is required", i)
	}
	if len(d.Metadata) > 0 && string(d.Metadata) != "null" && d.Metadata[0] != '{' {
		return store.Annotation{}, errorf(http.StatusUnprocessableEntity, "data[%d]: metadata must be an object", i)
	}
	ann := store.Annotation{Kind: rt.kind, Name: d.Name, AnnotatorKind: d.AnnotatorKind, Metadata: d.Metadata, Source: "API"}
	switch rt.kind {
	case store.TraceAnnotation:
		ann.TraceID = id
	case store.SessionAnnotation:
		ann.SessionID = id
	default:
		ann.SpanID = id
	}
	if d.DocumentPosition != nil {
		ann.DocumentPosition = *d.DocumentPosition
	}
	if d.Result != nil {
		ann.Label, ann.Score, ann.Explanation = d.Result.Label, d.Result.Score, d.Result.Explanation
	}
	if d.Identifier != nil {
		ann.Identifier = *d.Identifier
	}
	return ann, nil
}

type idJSON struct {
	ID string `json:"id"`
}

func (a *API) postAnnotations(rt annotationRoute) handlerFunc {
	return func(r *http.Request) (any, error) {
		var body struct {
			Data []annotationData `json:"data"`
		}
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
		anns := make([]store.Annotation, 0, len(body.Data))
		for i, d := range body.Data {
			ann, err := a.toAnnotation(rt, i, d)
			if err != nil {
				return nil, err
			}
			ann.UserID, ann.UserName, ann.KeyName = auth.FromContext(r.Context()).Author()
			anns = append(anns, ann)
		}
		sync, err := isTrue(r.URL.Query(), "sync")
		if err != nil {
			return nil, err
		}
		ids, err := a.Store.UpsertAnnotations(r.Context(), anns)
		var missing *store.MissingError
		switch {
		case errors.As(err, &missing) && !sync:
			// Phoenix queues asynchronous annotations until their span
			// arrives; the ones whose target exists are written now.
			if err := a.Pending.add(r.Context(), a.Store, anns, missing.IDs); err != nil {
				return nil, err
			}
			return single{Data: []idJSON{}}, nil
		case errors.As(err, &missing):
			return nil, errorf(http.StatusNotFound, "%s", missing.Error())
		case err != nil:
			return nil, err
		}
		if !sync {
			return single{Data: []idJSON{}}, nil
		}
		out := make([]idJSON, len(ids))
		for i, id := range ids {
			out[i] = idJSON{GlobalID(rt.globalID, id)}
		}
		return single{Data: out}, nil
	}
}

func (a *API) postNote(rt annotationRoute) handlerFunc {
	return func(r *http.Request) (any, error) {
		var body struct {
			Data struct {
				SpanID     string `json:"span_id"`
				TraceID    string `json:"trace_id"`
				SessionID  string `json:"session_id"`
				Note       string `json:"note"`
				Identifier string `json:"identifier"`
			} `json:"data"`
		}
		if err := decodeBody(r, &body); err != nil {
			return nil, err
		}
		d := body.Data
		if strings.TrimSpace(d.Note) == "" {
			return nil, errorf(http.StatusUnprocessableEntity, "data.note is required")
		}
		ident := d.Identifier
		if ident == "" {
			ident = fmt.Sprintf("px-%s-note:%s", rt.kind, uuid.NewString())
		}
		ann := store.Annotation{Kind: rt.kind, SpanID: d.SpanID, TraceID: d.TraceID, SessionID: d.SessionID,
			Name: "note", Explanation: &d.Note, AnnotatorKind: "HUMAN", Identifier: ident, Source: "API"}
		ann.UserID, ann.UserName, ann.KeyName = auth.FromContext(r.Context()).Author()
		if ann.EntityID() == "" {
			return nil, errorf(http.StatusUnprocessableEntity, "data.%s is required", rt.idField)
		}
		ids, err := a.Store.UpsertAnnotations(r.Context(), []store.Annotation{ann})
		var missing *store.MissingError
		if errors.As(err, &missing) {
			return nil, errorf(http.StatusNotFound, "%s", missing.Error())
		}
		if err != nil {
			return nil, err
		}
		return single{Data: idJSON{GlobalID(rt.globalID, ids[0])}}, nil
	}
}

type annotationJSON struct {
	ID               string           `json:"id"`
	SpanID           string           `json:"span_id,omitempty"`
	TraceID          string           `json:"trace_id,omitempty"`
	SessionID        string           `json:"session_id,omitempty"`
	DocumentPosition *int             `json:"document_position,omitempty"`
	Name             string           `json:"name"`
	AnnotatorKind    string           `json:"annotator_kind"`
	Result           annotationResult `json:"result"`
	Metadata         json.RawMessage  `json:"metadata"`
	Identifier       string           `json:"identifier"`
	CreatedAt        string           `json:"created_at"`
	UpdatedAt        string           `json:"updated_at"`
	Source           string           `json:"source"`
	UserID           *string          `json:"user_id"`
}

func toAnnotationJSON(rt annotationRoute, a store.Annotation) annotationJSON {
	out := annotationJSON{
		ID: GlobalID(rt.globalID, a.RowID), SpanID: a.SpanID, TraceID: a.TraceID, SessionID: a.SessionID,
		Name: a.Name, AnnotatorKind: a.AnnotatorKind,
		Result:   annotationResult{Label: a.Label, Score: a.Score, Explanation: a.Explanation},
		Metadata: a.Metadata, Identifier: a.Identifier, Source: a.Source,
		CreatedAt: isotime.Format(a.CreatedAt), UpdatedAt: isotime.Format(a.UpdatedAt),
	}
	if rt.kind == store.DocumentAnnotation {
		out.DocumentPosition = &a.DocumentPosition
	}
	if len(out.Metadata) == 0 {
		out.Metadata = json.RawMessage("{}")
	}
	if a.UserID != 0 {
		u := GlobalID("User", a.UserID)
		out.UserID = &u
	}
	return out
}

func (a *API) listAnnotations(rt annotationRoute) handlerFunc {
	return func(r *http.Request) (any, error) {
		p, err := a.project(r)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		aq := store.AnnotationQuery{Kind: rt.kind, ProjectID: p.ID,
			EntityIDs:    listParam(q, rt.listIDs),
			Identifiers:  listParam(q, "identifier"),
			IncludeNames: listParam(q, "include_annotation_names"),
			ExcludeNames: listParam(q, "exclude_annotation_names"),
		}
		if len(aq.EntityIDs) == 0 && len(aq.Identifiers) == 0 {
			return nil, errorf(http.StatusUnprocessableEntity, "give %s or identifier (or both)", rt.listIDs)
		}
		if len(aq.EntityIDs) > 1000 || len(aq.Identifiers) > 1000 {
			return nil, errorf(http.StatusUnprocessableEntity, "at most 1000 %s and 1000 identifiers per request", rt.listIDs)
		}
		if aq.Limit, err = limitParam(q, 10, 10000); err != nil {
			return nil, err
		}
		if aq.Cursor, err = cursorParam(q, rt.globalID); err != nil {
			return nil, err
		}
		limit := aq.Limit
		aq.Limit++
		anns, err := a.Store.Annotations(r.Context(), aq)
		if err != nil {
			return nil, err
		}
		if len(anns) == 0 && len(aq.Identifiers) == 0 && aq.Cursor == 0 {
			if err := a.entitiesExist(r, rt, p.ID, aq.EntityIDs); err != nil {
				return nil, err
			}
		}
		out := page{}
		if len(anns) > limit {
			next := GlobalID(rt.globalID, anns[limit].RowID)
			out.NextCursor = &next
			anns = anns[:limit]
		}
		data := make([]annotationJSON, len(anns))
		for i, ann := range anns {
			data[i] = toAnnotationJSON(rt, ann)
		}
		out.Data = data
		return out, nil
	}
}

// entitiesExist answers 404 when none of the asked-for entities is in the
// project, as Phoenix does, so a typo is not mistaken for "no annotations".
func (a *API) entitiesExist(r *http.Request, rt annotationRoute, projectID int64, ids []string) error {
	ctx := r.Context()
	for _, id := range ids {
		var found bool
		switch rt.kind {
		case store.TraceAnnotation:
			t, err := a.Store.Trace(ctx, id)
			found = err == nil && t.ProjectID == projectID
		case store.SessionAnnotation:
			s, err := a.Store.Session(ctx, id)
			found = err == nil && s.ProjectID == projectID
		default:
			spans, err := a.Store.Spans(ctx, store.SpanQuery{ProjectID: projectID, SpanIDs: []string{id}, Limit: 1})
			found = err == nil && len(spans) == 1
		}
		if found {
			return nil
		}
	}
	return errorf(http.StatusNotFound, "none of the %s given are in this project", rt.listIDs)
}

func (a *API) deleteAnnotations(rt annotationRoute) handlerFunc {
	return func(r *http.Request) (any, error) {
		p, err := a.project(r)
		if err != nil {
			return nil, err
		}
		q := r.URL.Query()
		d := store.AnnotationDelete{Kind: rt.kind, ProjectID: p.ID,
			Names: listParam(q, "name"), Identifiers: listParam(q, "identifier"), AnnotatorKinds: listParam(q, "annotator_kind"),
		}
		if d.All, err = isTrue(q, "delete_all"); err != nil {
			return nil, err
		}
		if d.StartTime, err = timeParam(q, "start_time"); err != nil {
			return nil, err
		}
		if d.EndTime, err = timeParam(q, "end_time"); err != nil {
			return nil, err
		}
		if len(d.Names)+len(d.Identifiers)+len(d.AnnotatorKinds) == 0 && d.StartTime == 0 && d.EndTime == 0 && !d.All {
			return nil, errorf(http.StatusUnprocessableEntity, "give a filter (name, identifier, annotator_kind, start_time, end_time) or delete_all=true")
		}
		if _, err := a.Store.DeleteAnnotations(r.Context(), d); err != nil {
			return nil, err
		}
		return noContent{}, nil
	}
}

// noContent makes the wrapper answer 204 with no body.
type noContent struct{}

// requireJSON refuses a body sent as anything but JSON. A page on another
// site can make a browser send a "simple" POST without asking first only
// as text/plain or a form: refusing those (415) here keeps such a page from
// writing through this API, whatever else guards it. A GET's body (the
// deprecated GET /v1/spans) changes nothing and is read as it comes.
func requireJSON(r *http.Request) error {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	mt, _, err := mime.ParseMediaType(ct)
	if err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json")) {
		return nil
	}
	if ct == "" {
		return errorf(http.StatusUnsupportedMediaType, "the request body must be JSON: send it with Content-Type: application/json")
	}
	return errorf(http.StatusUnsupportedMediaType, "the request body must be JSON, sent with Content-Type: application/json, not %s", ct)
}
