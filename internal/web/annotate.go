package web

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/store"
)

// The forms that write annotations are plain HTML forms, so they work
// without scripts: the handler answers 303 back to the page. The script
// sends the same form with fetch and the header fragmentHeader, and gets
// the updated annotations block to swap in.
const fragmentHeader = "X-Loupe-Fragment"

// Limits on what a form may carry.
const (
	maxFormBytes      = 64 << 10
	maxNameLength     = 200
	maxLabelLength    = 200
	maxExplanationLen = 10_000
)

// annotateSpan saves an annotation, a thumbs or a note on a span. (Posts
// from other sites are refused before they reach the UI's handlers: see
// the server's cross-origin protection.)
func (h *Handler) annotateSpan(w http.ResponseWriter, r *http.Request) {
	rec, ok := h.loadSpan(w, r)
	if !ok {
		return
	}
	project := r.PathValue("name")
	target := annotationTarget{
		kind: store.SpanAnnotation, projectID: rec.ProjectID, entityID: rec.SpanID,
		postURL: spanAnnotationsURL(project, rec.SpanID),
		back:    traceURL(project, rec.TraceID) + "?span=" + url.QueryEscape(rec.SpanID) + "&tab=annotations",
	}
	h.saveAnnotation(w, r, target)
}

// annotateTrace saves an annotation, a thumbs or a note on a trace.
func (h *Handler) annotateTrace(w http.ResponseWriter, r *http.Request) {
	t, ok := h.loadTrace(w, r)
	if !ok {
		return
	}
	project := r.PathValue("name")
	target := annotationTarget{
		kind: store.TraceAnnotation, projectID: t.ProjectID, entityID: t.TraceID,
		postURL: traceAnnotationsURL(project, t.TraceID), compact: true,
		back: traceURL(project, t.TraceID),
	}
	if s := r.URL.Query().Get("span"); s != "" {
		target.back += "?span=" + url.QueryEscape(s)
	}
	h.saveAnnotation(w, r, target)
}

// annotationTarget is what a form annotates and where its page is.
type annotationTarget struct {
	kind      store.AnnotationKind
	projectID int64
	entityID  string
	postURL   string
	back      string // the page to return to, built here: never from the request
	compact   bool
}

func spanAnnotationsURL(project, spanID string) string {
	return projectURL(project) + "/spans/" + url.PathEscape(spanID) + "/annotations"
}

func traceAnnotationsURL(project, traceID string) string {
	return traceURL(project, traceID) + "/annotations"
}

func (h *Handler) saveAnnotation(w http.ResponseWriter, r *http.Request, t annotationTarget) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("The form is larger than %d KB.", maxFormBytes>>10), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "The form could not be read: "+err.Error(), http.StatusBadRequest)
		return
	}
	a, err := annotationFromForm(r.PostForm, t.kind)
	if err != nil {
		http.Error(w, err.Error(), http.StatusUnprocessableEntity)
		return
	}
	if err := h.checkConfig(r.Context(), t.projectID, &a); err != nil {
		var fe *formError
		if errors.As(err, &fe) {
			http.Error(w, fe.msg, http.StatusUnprocessableEntity)
			return
		}
		h.fail(w, r, err, notFound{})
		return
	}
	a.UserID, a.UserName, a.KeyName = auth.FromContext(r.Context()).Author()
	switch t.kind {
	case store.TraceAnnotation:
		a.TraceID = t.entityID
	case store.SessionAnnotation:
		a.SessionID = t.entityID
	default:
		a.SpanID = t.entityID
	}
	if _, err := h.store.UpsertAnnotations(r.Context(), []store.Annotation{a}); err != nil {
		var missing *store.MissingError
		if errors.As(err, &missing) {
			http.Error(w, "The "+string(t.kind)+" "+t.entityID+" no longer exists.", http.StatusNotFound)
			return
		}
		if errors.Is(err, store.ErrUnavailable) {
			h.errs.Warn("save annotation: storage unavailable", "kind", t.kind, "id", t.entityID, "err", err)
			w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
			http.Error(w, "The annotation could not be saved now: the database is unavailable. Try again in a moment.", http.StatusServiceUnavailable)
			return
		}
		h.errs.Error("save annotation", "kind", t.kind, "id", t.entityID, "err", err)
		http.Error(w, "The annotation could not be saved; the details are in the server's log.", http.StatusInternalServerError)
		return
	}
	if r.Header.Get(fragmentHeader) == "" {
		http.Redirect(w, r, t.back, http.StatusSeeOther)
		return
	}
	b, err := h.annotationsBlock(r.Context(), t.kind, t.projectID, t.entityID, t.postURL, t.compact)
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.renderFragment(w, r, "annotations_block", b)
}

// formError is a form field that cannot be saved; its message is for the
// person who filled the form in.
type formError struct{ msg string }

func (e *formError) Error() string { return e.msg }

func formErrorf(format string, args ...any) error { return &formError{fmt.Sprintf(format, args...)} }

// annotationFromForm reads one of the annotation forms: a note (field
// "note"), or a name with a label, a score and an explanation. The thumbs
// buttons send name=thumbs with label up or down, which also scores 1 or 0.
// Everything the UI writes is a HUMAN judgement from the APP.
func annotationFromForm(form url.Values, kind store.AnnotationKind) (store.Annotation, error) {
	a := store.Annotation{Kind: kind, AnnotatorKind: "HUMAN", Source: "APP"}
	if _, ok := form["note"]; ok {
		note := strings.TrimSpace(form.Get("note"))
		if note == "" {
			return a, formErrorf("The note is empty: write something to save.")
		}
		if utf8.RuneCountInString(note) > maxExplanationLen {
			return a, formErrorf("The note is longer than %d characters.", maxExplanationLen)
		}
		a.Name, a.Explanation = noteName, &note
		// Notes accumulate: each has its own identifier, as Phoenix's do.
		a.Identifier = "px-" + string(kind) + "-note:" + uuid.NewString()
		return a, nil
	}
	a.Name = strings.TrimSpace(form.Get("name"))
	switch {
	case a.Name == "":
		return a, formErrorf("The annotation needs a name, such as correctness or helpfulness.")
	case a.Name == noteName:
		return a, formErrorf("The name %q is kept for notes: use the note box, or another name.", noteName)
	case utf8.RuneCountInString(a.Name) > maxNameLength:
		return a, formErrorf("The name is longer than %d characters.", maxNameLength)
	}
	if l := strings.TrimSpace(form.Get("label")); l != "" {
		if utf8.RuneCountInString(l) > maxLabelLength {
			return a, formErrorf("The label is longer than %d characters.", maxLabelLength)
		}
		a.Label = &l
	}
	if s := strings.TrimSpace(form.Get("score")); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return a, formErrorf("The score %q is not a number: write it like 0.8 or 4.", s)
		}
		a.Score = &f
	}
	if e := strings.TrimSpace(form.Get("explanation")); e != "" {
		if utf8.RuneCountInString(e) > maxExplanationLen {
			return a, formErrorf("The explanation is longer than %d characters.", maxExplanationLen)
		}
		a.Explanation = &e
	}
	if a.Name == thumbsName && a.Label != nil && a.Score == nil {
		switch *a.Label {
		case "up":
			a.Score = ptrTo(1.0)
		case "down":
			a.Score = ptrTo(0.0)
		}
	}
	if a.Label == nil && a.Score == nil {
		return a, formErrorf("Give %q a label, a score or both.", a.Name)
	}
	return a, nil
}

func ptrTo[T any](v T) *T { return &v }
