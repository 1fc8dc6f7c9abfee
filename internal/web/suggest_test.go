package web

import (
	"strings"
	"testing"
)

func TestSuggest(t *testing.T) {
	d := &suggestData{
		keys:        []string{"llm.model_name", "input.value", "metadata.release", "metadata.region", "user.id"},
		annotations: []string{"correctness", "relevance"},
		labels:      map[string][]string{"correctness": {"correct", "incorrect"}},
	}
	values := func(key string) ([]string, error) {
		if key == "llm.model_name" {
			return []string{"gpt-4o-mini", "gpt-4o"}, nil
		}
		if key == "metadata.region" {
			return []string{"eu-west-1"}, nil
		}
		return nil, nil
	}
	for _, tc := range []struct {
		name, src string
		at        int // -1: the end
		grain     filterGrain
		from      int
		want      []string // the first texts offered, in order
		wantNone  bool
	}{
		{name: "a name", src: "llm.mo", at: -1, grain: spanFilter, from: 0, want: []string{"llm.model_name"}},
		{name: "after and", src: "latency_ms > 10 and user", at: -1, grain: spanFilter, from: 20, want: []string{"user.id"}},
		{name: "annotation accessor", src: "corr", at: -1, grain: spanFilter, from: 0,
			want: []string{"annotations['correctness'].label", "annotations['correctness'].score"}},
		{name: "trace annotation accessor", src: "corr", at: -1, grain: traceFilter, from: 0,
			want: []string{"trace_annotations['correctness'].label"}},
		{name: "trace names", src: "error_c", at: -1, grain: traceFilter, from: 0, want: []string{"error_count"}},
		{name: "no attribute keys on traces", src: "llm.mo", at: -1, grain: traceFilter, wantNone: true},
		{name: "annotation name", src: "annotations['re", at: -1, grain: spanFilter, from: 13, want: []string{"relevance']"}},
		{name: "annotation name, closed after", src: "annotations[''].label", at: 13, grain: spanFilter, from: 13, want: []string{"correctness", "relevance"}},
		{name: "a label", src: "annotations['correctness'].label == 'in", at: -1, grain: spanFilter, from: 37, want: []string{"incorrect'"}},
		{name: "an attribute value", src: `llm.model_name == "`, at: -1, grain: spanFilter, from: 19, want: []string{`gpt-4o-mini"`, `gpt-4o"`}},
		{name: "a metadata key", src: "metadata['re", at: -1, grain: spanFilter, from: 10, want: []string{"release']", "region']"}},
		{name: "a metadata value", src: "metadata['region'] == '", at: -1, grain: spanFilter, from: 23, want: []string{"eu-west-1'"}},
		{name: "a kind", src: "span_kind == 'L", at: -1, grain: spanFilter, from: 14, want: []string{"LLM'"}},
		{name: "an unknown key reads nothing", src: "foo.bar == '", at: -1, grain: spanFilter, wantNone: true},
		{name: "past a name", src: "latency_ms ", at: -1, grain: spanFilter, wantNone: true},
		{name: "a number", src: "latency_ms > 10", at: -1, grain: spanFilter, wantNone: true},
		{name: "a name typed whole", src: "user.id", at: -1, grain: spanFilter, wantNone: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := []rune(tc.src)
			at := tc.at
			if at < 0 {
				at = len(src)
			}
			ans := suggest(src, at, tc.grain, d, values)
			var got []string
			for _, it := range ans.Items {
				got = append(got, it.Text)
			}
			if tc.wantNone {
				if len(got) > 0 {
					t.Errorf("suggest(%q) = %q, want nothing", tc.src, got)
				}
				return
			}
			if ans.From != tc.from || ans.To != at {
				t.Errorf("suggest(%q) replaces [%d, %d), want [%d, %d)", tc.src, ans.From, ans.To, tc.from, at)
			}
			if len(got) < len(tc.want) || strings.Join(got[:len(tc.want)], "|") != strings.Join(tc.want, "|") {
				t.Errorf("suggest(%q) = %q, want it to start with %q", tc.src, got, tc.want)
			}
		})
	}
}
