// Package schema names the parts of the database schema that every backend
// shares, so that backend code does not spell them out twice.
package schema

import (
	"fmt"

	"github.com/loupe-dev/loupe/internal/store"
)

// AnnotationTable says where one kind of annotation lives.
type AnnotationTable struct {
	Table     string // the annotations' table
	FK        string // its column holding the entity's row id
	Entity    string // the entity's table
	EntityKey string // the entity's client-facing id column
}

// AnnotationTables maps each annotation kind to its table.
var AnnotationTables = map[store.AnnotationKind]AnnotationTable{
	store.SpanAnnotation:     {"span_annotations", "span_rowid", "spans", "span_id"},
	store.DocumentAnnotation: {"document_annotations", "span_rowid", "spans", "span_id"},
	store.TraceAnnotation:    {"trace_annotations", "trace_rowid", "traces", "trace_id"},
	store.SessionAnnotation:  {"session_annotations", "session_rowid", "sessions", "session_id"},
}

// AnnotationTableFor returns the table of kind, or an error wrapping
// store.ErrInvalidArgument for an unknown kind.
func AnnotationTableFor(kind store.AnnotationKind) (AnnotationTable, error) {
	t, ok := AnnotationTables[kind]
	if !ok {
		return t, fmt.Errorf("annotation kind %q: %w", kind, store.ErrInvalidArgument)
	}
	return t, nil
}
