package view

import (
	"encoding/json"
	"math"
)

// Document is a retrieved or reranked document.
type Document struct {
	Position int // its index in the list, which document annotations name
	ID       string
	Score    float64
	HasScore bool
	ScorePct float64 // Score scaled to the largest score of its list, 0–100, for a bar
	Content  Text
	Metadata Text
}

// Retrieval is the reading of a RETRIEVER or RERANKER span.
type Retrieval struct {
	Query     string
	Model     string
	TopK      string
	Documents []Document // retrieved, or reranked output
	Inputs    []Document // reranker candidates
}

// Embedding is the reading of an EMBEDDING span.
type Embedding struct {
	Model string
	Items []EmbeddingItem
}

// EmbeddingItem is one embedded text; the vector is described, not shown.
type EmbeddingItem struct {
	Text       Text
	Dimensions int
	Norm       float64
}

// Tool is the reading of a TOOL span.
type Tool struct {
	Name, Description, ID string
	Parameters            Text
}

func readDocuments(a Attrs, prefix string, limit int) []Document {
	var docs []Document
	best := 0.0
	for _, it := range a.List(prefix) {
		d := Document{
			Position: it.Index,
			ID:       it.Str("document.id"),
			Content:  NewText(it.Str("document.content"), it.Key+"document.content", limit, false),
			Metadata: NewText(it.Str("document.metadata"), it.Key+"document.metadata", limit, true),
		}
		d.Score, d.HasScore = it.Float("document.score")
		if d.HasScore && math.Abs(d.Score) > best {
			best = math.Abs(d.Score)
		}
		docs = append(docs, d)
	}
	for i := range docs {
		if docs[i].HasScore && best > 0 {
			docs[i].ScorePct = math.Abs(docs[i].Score) / best * 100
		}
	}
	return docs
}

func readRetrieval(a Attrs, kind string, limit int) *Retrieval {
	r := &Retrieval{Query: a.Str("reranker.query"), Model: a.Str("reranker.model_name"), TopK: a.Str("reranker.top_k")}
	if kind == "RERANKER" {
		r.Inputs = readDocuments(a, "reranker.input_documents", limit)
		r.Documents = readDocuments(a, "reranker.output_documents", limit)
	} else {
		r.Documents = readDocuments(a, "retrieval.documents", limit)
	}
	if len(r.Documents) == 0 && len(r.Inputs) == 0 {
		return nil
	}
	return r
}

func readEmbedding(a Attrs, limit int) *Embedding {
	e := &Embedding{Model: a.Str("embedding.model_name")}
	for _, it := range a.List("embedding.embeddings") {
		item := EmbeddingItem{Text: NewText(it.Str("embedding.text"), it.Key+"embedding.text", limit, false)}
		if vec, ok := it.Attrs["embedding.vector"].([]any); ok {
			item.Dimensions = len(vec)
			sum := 0.0
			for _, x := range vec {
				if n, ok := x.(json.Number); ok {
					f, _ := n.Float64()
					sum += f * f
				}
			}
			item.Norm = math.Sqrt(sum)
		}
		e.Items = append(e.Items, item)
	}
	if e.Model == "" && len(e.Items) == 0 {
		return nil
	}
	return e
}

func readTool(a Attrs, limit int) *Tool {
	t := &Tool{
		Name:        a.Str("tool.name"),
		Description: a.Str("tool.description"),
		ID:          a.Str("tool.id"),
	}
	if a.Has("tool.parameters") {
		t.Parameters = NewText(a.Str("tool.parameters"), "tool.parameters", limit, true)
	}
	if *t == (Tool{}) {
		return nil
	}
	return t
}
