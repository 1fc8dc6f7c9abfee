package span

import (
	"sort"
	"strconv"
	"strings"
)

// FeedbackTarget says what a feedback item carried on a span is about.
type FeedbackTarget string

const (
	FeedbackSpan    FeedbackTarget = "span"
	FeedbackTrace   FeedbackTarget = "trace"
	FeedbackSession FeedbackTarget = "session"
)

// Feedback is an annotation or evaluation a client sent as span attributes
// (annotations.{i}.annotation.*, evaluations.{i}.evaluation.*, and the same
// under trace. and session.).
type Feedback struct {
	Target        FeedbackTarget
	Name          string
	Label         *string
	Score         *float64
	Explanation   *string
	AnnotatorKind string
	Identifier    string
	Metadata      string // JSON object, "" when absent
}

var feedbackPrefixes = []struct {
	prefix, item string
	target       FeedbackTarget
}{
	{"annotations.", "annotation.", FeedbackSpan},
	{"evaluations.", "evaluation.", FeedbackSpan},
	{"trace.annotations.", "annotation.", FeedbackTrace},
	{"trace.evaluations.", "evaluation.", FeedbackTrace},
	{"session.annotations.", "annotation.", FeedbackSession},
	{"session.evaluations.", "evaluation.", FeedbackSession},
}

// FeedbackFromAttributes extracts the feedback items in a. Items without a
// name, or with none of score, label and explanation, are left out, as the
// OpenInference convention asks.
func FeedbackFromAttributes(a Attributes) []Feedback {
	type key struct {
		group int
		index int
	}
	var items map[key]*Feedback
	for _, attr := range a {
		if !strings.Contains(attr.Key, "annotation") && !strings.Contains(attr.Key, "evaluation") {
			continue
		}
		for g, p := range feedbackPrefixes {
			rest, ok := strings.CutPrefix(attr.Key, p.prefix)
			if !ok {
				continue
			}
			idx, field, ok := strings.Cut(rest, ".")
			if !ok {
				continue
			}
			i, err := strconv.Atoi(idx)
			if err != nil {
				continue
			}
			field, ok = strings.CutPrefix(field, p.item)
			if !ok {
				continue
			}
			if items == nil {
				items = make(map[key]*Feedback)
			}
			k := key{g, i}
			f := items[k]
			if f == nil {
				f = &Feedback{Target: p.target}
				items[k] = f
			}
			setFeedbackField(f, field, attr.Value)
		}
	}
	if len(items) == 0 {
		return nil
	}
	keys := make([]key, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].group != keys[j].group {
			return keys[i].group < keys[j].group
		}
		return keys[i].index < keys[j].index
	})
	var out []Feedback
	for _, k := range keys {
		f := items[k]
		if f.Name == "" || (f.Label == nil && f.Score == nil && f.Explanation == nil) {
			continue
		}
		if f.AnnotatorKind == "" {
			f.AnnotatorKind = "CODE"
		}
		out = append(out, *f)
	}
	return out
}

func setFeedbackField(f *Feedback, field string, v Value) {
	switch field {
	case "name":
		f.Name = v.AsString()
	case "label":
		s := v.AsString()
		f.Label = &s
	case "explanation":
		s := v.AsString()
		f.Explanation = &s
	case "score":
		var x float64
		switch v.Type {
		case TypeDouble:
			x = v.Float
		case TypeInt:
			x = float64(v.Int)
		case TypeString:
			var err error
			if x, err = strconv.ParseFloat(v.Str, 64); err != nil {
				return
			}
		default:
			return
		}
		f.Score = &x
	case "annotator_kind":
		f.AnnotatorKind = strings.ToUpper(v.AsString())
	case "identifier":
		f.Identifier = v.AsString()
	case "metadata":
		f.Metadata = v.AsString()
	}
}
