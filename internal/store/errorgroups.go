package store

import (
	"cmp"
	"context"
	"slices"

	"github.com/loupe-dev/loupe/internal/span"
)

// ErrorGroupReader groups a project's failures.
type ErrorGroupReader interface {
	// ErrorGroups groups the failed spans of a project that started in
	// [q.StartTime, q.EndTime) by their error group (span.ErrorGroup),
	// most failures first. It reads the failed spans alone, through an
	// index of them.
	ErrorGroups(ctx context.Context, q ErrorGroupQuery) ([]ErrorGroup, error)
}

// ErrorGroupQuery selects the failures ErrorGroups groups.
type ErrorGroupQuery struct {
	ProjectID int64
	StartTime int64
	EndTime   int64
	// Buckets is how many equal stretches of the range Series counts
	// failures in.
	Buckets int
}

// ErrorGroup is the failures of one group in a time range.
type ErrorGroup struct {
	Key                 string
	Count               int64
	FirstSeen, LastSeen int64 // start times of the first and last failure in range
	// LatestRowID is the row id of the newest failure stored, whose
	// record says what the group's failures say.
	LatestRowID int64
	Models      []string // llm.model_name of the failures, most failures first
	// Versions are the llm.prompt_template.version values of the group's
	// failures in range, most failures first, read from the index of
	// failures with the counts (see PromptVersionColumn).
	Versions []string
	Series   []int64 // failures per stretch of the range
}

// PromptVersionColumn is what a span's prompt_version column holds: its
// llm.prompt_template.version as text, or "" when it names none, for an
// LLM span (the prompt version report reads it) and for a failed span of
// any kind (error groups read it, with the counts, from the index of
// failures; a version propagated onto a failing tool call counts too).
// ok is false, NULL, for the other spans, and for an LLM span that did not
// fail with a version that is not a string, which readers take from the
// attributes.
func PromptVersionColumn(sp *span.Span) (v string, ok bool) {
	failed := sp.StatusCode == span.StatusError
	if sp.View.Kind != span.KindLLM && !failed {
		return "", false
	}
	a, found := sp.Attributes.Get(span.AttrTemplateVersion)
	switch {
	case !found:
		return "", true
	case a.Type == span.TypeString:
		return a.Str, true
	case failed:
		return a.AsString(), true
	}
	return "", false
}

// ErrorGroupCell counts the failures of one group, with one model, in one
// stretch of the range: what a backend reads for ErrorGroups.
type ErrorGroupCell struct {
	Key, Model  string
	Bucket      int
	Count       int64
	First, Last int64
	MaxRowID    int64
}

// ErrorGroupVersion counts the failures of one group with one prompt
// template version.
type ErrorGroupVersion struct {
	Key, Version string
	Count        int64
}

// BucketWidth is the width of each of q's stretches, in nanoseconds.
func (q ErrorGroupQuery) BucketWidth() int64 {
	n := int64(max(q.Buckets, 1))
	return max((q.EndTime-q.StartTime+n-1)/n, 1)
}

// GroupErrors puts the cells and versions a backend read together: groups
// by most failures, then by the newest.
func GroupErrors(q ErrorGroupQuery, cells []ErrorGroupCell, versions []ErrorGroupVersion) []ErrorGroup {
	buckets := max(q.Buckets, 1)
	byKey := map[string]*ErrorGroup{}
	models := map[string]map[string]int64{}
	var out []*ErrorGroup
	for _, c := range cells {
		g := byKey[c.Key]
		if g == nil {
			g = &ErrorGroup{Key: c.Key, FirstSeen: c.First, LastSeen: c.Last, Series: make([]int64, buckets)}
			byKey[c.Key], models[c.Key] = g, map[string]int64{}
			out = append(out, g)
		}
		g.Count += c.Count
		g.FirstSeen, g.LastSeen = min(g.FirstSeen, c.First), max(g.LastSeen, c.Last)
		g.LatestRowID = max(g.LatestRowID, c.MaxRowID)
		g.Series[min(max(c.Bucket, 0), buckets-1)] += c.Count
		if c.Model != "" {
			models[c.Key][c.Model] += c.Count
		}
	}
	versionCounts := map[string]map[string]int64{}
	for _, v := range versions {
		if byKey[v.Key] == nil || v.Version == "" {
			continue
		}
		if versionCounts[v.Key] == nil {
			versionCounts[v.Key] = map[string]int64{}
		}
		versionCounts[v.Key][v.Version] += v.Count
	}
	groups := make([]ErrorGroup, len(out))
	for i, g := range out {
		g.Models = byCount(models[g.Key])
		g.Versions = byCount(versionCounts[g.Key])
		groups[i] = *g
	}
	slices.SortFunc(groups, func(a, b ErrorGroup) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(b.LastSeen, a.LastSeen), cmp.Compare(a.Key, b.Key))
	})
	return groups
}

// byCount lists the keys of counts, the largest count first.
func byCount(counts map[string]int64) []string {
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(counts[b], counts[a]), cmp.Compare(a, b)) })
	return keys
}
