package web

import (
	"context"
	"errors"
	"math"
	"net/http"
	"slices"
	"strings"

	"github.com/loupe-dev/loupe/internal/evals"
	"github.com/loupe-dev/loupe/internal/store"
	"github.com/loupe-dev/loupe/internal/web/view"
)

// Session annotations (the Sessions list and the session page) and
// document annotations (beside each document of a retriever span, with the
// span's retrieval metrics).

// sessionRowChips reads the annotations of the sessions of one list page.
func (h *Handler) sessionRowChips(ctx context.Context, projectID int64, sessions []store.Session) (map[string][]annChip, error) {
	if len(sessions) == 0 {
		return nil, nil
	}
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.SessionID
	}
	anns, err := h.store.Annotations(ctx, store.AnnotationQuery{
		Kind: store.SessionAnnotation, ProjectID: projectID, EntityIDs: ids, Limit: maxRowAnnotations,
	})
	if err != nil {
		return nil, err
	}
	out := map[string][]annChip{}
	for id, list := range groupBy(anns, store.Annotation.EntityID) {
		out[id] = chipsOf(list, false)
	}
	return out, nil
}

func sessionAnnotationsURL(project, sessionID string) string {
	return sessionURL(project, sessionID) + "/annotations"
}

// annotateSession saves an annotation or a note on a session.
func (h *Handler) annotateSession(w http.ResponseWriter, r *http.Request) {
	name, id := r.PathValue("name"), r.PathValue("session_id")
	p, err := h.store.ProjectByName(r.Context(), name)
	var s store.Session
	if err == nil {
		s, err = h.store.Session(r.Context(), id)
	}
	if err == nil && s.ProjectID != p.ID {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		http.Error(w, "no session "+id+" in project "+name, http.StatusNotFound)
		return
	}
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.saveAnnotation(w, r, annotationTarget{
		kind: store.SessionAnnotation, projectID: p.ID, entityID: s.SessionID,
		postURL: sessionAnnotationsURL(name, s.SessionID), compact: true,
		back: sessionURL(name, s.SessionID),
	})
}

// docList is a list of documents with, for retrieved ones, the
// annotations of each (by position).
type docList struct {
	Docs  []view.Document
	Chips map[int][]annChip
}

// DocChips are the annotations of the document at position i.
func (l docList) DocChips(i int) []annChip { return l.Chips[i] }

// retrievalMetric is one annotation name's metrics over a retriever span's
// documents. A NaN is a metric the missing scores leave undefined.
type retrievalMetric struct {
	Name                 string
	K                    int
	NDCG, Precision, Hit float64
	Scored               int // documents with a score of this name
}

// Defined tells the template whether a metric has a value.
func (retrievalMetric) Defined(f float64) bool { return !math.IsNaN(f) }

// withDocumentAnnotations reads the document annotations of a retriever
// or reranker span: one query by the span's row, however many documents.
func (h *Handler) withDocumentAnnotations(ctx context.Context, d *spanDetail) error {
	if d.V.Retrieval == nil || len(d.V.Retrieval.Documents) == 0 {
		return nil
	}
	anns, err := h.store.Annotations(ctx, store.AnnotationQuery{
		Kind: store.DocumentAnnotation, ProjectID: d.Rec.ProjectID, EntityIDs: []string{d.Rec.SpanID}, Limit: maxEntityAnnotations,
	})
	if err != nil || len(anns) == 0 {
		return err
	}
	byPos := map[int][]store.Annotation{}
	for _, a := range anns {
		byPos[a.DocumentPosition] = append(byPos[a.DocumentPosition], a)
	}
	d.DocChips = map[int][]annChip{}
	for pos, list := range byPos {
		d.DocChips[pos] = chipsOf(list, false)
	}
	docs := d.V.Retrieval.Documents
	d.Retrieval = retrievalMetrics(anns, docs[len(docs)-1].Position+1)
	return nil
}

// retrievalMetrics computes, per annotation name, the metrics of a span's
// n documents from their annotations. As Phoenix does, only evaluations
// (annotator LLM) with a score count, k is the number of documents, and a
// document without a score leaves NDCG and precision undefined.
func retrievalMetrics(anns []store.Annotation, n int) []retrievalMetric {
	scores := map[string][]float64{}
	for _, a := range anns {
		if a.AnnotatorKind != "LLM" || a.Score == nil || a.DocumentPosition < 0 || a.DocumentPosition >= n {
			continue
		}
		s := scores[a.Name]
		if s == nil {
			s = make([]float64, n)
			for i := range s {
				s[i] = math.NaN()
			}
			scores[a.Name] = s
		}
		s[a.DocumentPosition] = *a.Score
	}
	var out []retrievalMetric
	for name, s := range scores {
		r := evals.Retrieval{Scores: s}
		m := retrievalMetric{Name: name, K: n, NDCG: r.NDCG(0), Precision: r.Precision(0), Hit: r.Hit()}
		for _, x := range s {
			if !math.IsNaN(x) {
				m.Scored++
			}
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b retrievalMetric) int { return strings.Compare(a.Name, b.Name) })
	return out
}
