package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// AnnotationKind is what an annotation is attached to.
type AnnotationKind string

const (
	SpanAnnotation     AnnotationKind = "span"
	TraceAnnotation    AnnotationKind = "trace"
	SessionAnnotation  AnnotationKind = "session"
	DocumentAnnotation AnnotationKind = "document"
)

// Annotation is a judgement on a span, trace, session or retrieved document.
type Annotation struct {
	RowID int64
	Kind  AnnotationKind
	// The annotated entity: SpanID for span and document annotations,
	// TraceID for trace annotations, SessionID for session annotations.
	SpanID           string
	TraceID          string
	SessionID        string
	DocumentPosition int
	Name             string
	Label            *string
	Score            *float64
	Explanation      *string
	Metadata         json.RawMessage // a JSON object; nil reads as {}
	AnnotatorKind    string          // HUMAN, LLM or CODE
	Identifier       string
	Source           string // API or APP
	// Who made it, when authentication is on (package auth's
	// Principal.Author): the user's id and name (the name "system" for the
	// admin secret), and the API key it came through, if any.
	UserID    int64 // 0 when none
	UserName  string
	KeyName   string
	CreatedAt int64
	UpdatedAt int64
}

// Author names who made a: "alice", "alice (key ci)", "key ingest" for a
// system key, or "" when no one was logged in.
func (a Annotation) Author() string {
	switch {
	case a.KeyName == "":
		return a.UserName
	case a.UserName == "":
		return "key " + a.KeyName
	}
	return a.UserName + " (key " + a.KeyName + ")"
}

// EntityID is the id of the annotated entity, as clients name it.
func (a Annotation) EntityID() string {
	switch a.Kind {
	case TraceAnnotation:
		return a.TraceID
	case SessionAnnotation:
		return a.SessionID
	}
	return a.SpanID
}

// MissingError lists annotation targets that do not exist; it wraps ErrNotFound.
type MissingError struct {
	Kind AnnotationKind
	IDs  []string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%ss not found: %s", e.Kind, strings.Join(e.IDs, ", "))
}

func (e *MissingError) Unwrap() error { return ErrNotFound }

// AnnotationQuery lists a project's annotations of one kind, newest id first.
type AnnotationQuery struct {
	Kind         AnnotationKind
	ProjectID    int64
	EntityIDs    []string // span, trace or session ids
	Identifiers  []string
	IncludeNames []string
	ExcludeNames []string
	Cursor       int64 // only ids <= Cursor
	Limit        int
}

// AnnotationDelete selects a project's annotations of one kind to delete.
// At least one condition, or All, must be set.
type AnnotationDelete struct {
	Kind           AnnotationKind
	ProjectID      int64
	Names          []string
	Identifiers    []string
	AnnotatorKinds []string
	StartTime      int64 // updated at or after (unix ns)
	EndTime        int64 // updated before
	All            bool
}

// Annotator stores annotations.
type Annotator interface {
	// UpsertAnnotations inserts or updates annotations on (name, entity,
	// identifier) in one transaction and returns their row ids in order. If
	// any target does not exist nothing is written and the error is a
	// *MissingError.
	UpsertAnnotations(ctx context.Context, anns []Annotation) ([]int64, error)
	Annotations(ctx context.Context, q AnnotationQuery) ([]Annotation, error)
	DeleteAnnotations(ctx context.Context, d AnnotationDelete) (int64, error)
}
