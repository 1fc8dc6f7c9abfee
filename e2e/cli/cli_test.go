// Package cli_test runs loupe's client commands (spans, traces, annotate)
// as a user does: the real binary against a running server holding two
// fixed agent traces, comparing what they print with golden files.
package cli_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestMain(m *testing.M) { e2etest.Main(m) }

const project = "cli-e2e"

// Span ids of testdata/agent_runs.json.
const (
	llmSpan    = "00f067aa0ba902b7"
	failedSpan = "1c3e5a7b9d2f4a6c"
)

// startWithFixture starts loupe and sends testdata/agent_runs.json (two
// traces with fixed ids and times, so the output is stable) as OTLP/JSON.
func startWithFixture(t *testing.T) (*e2etest.Server, string) {
	t.Helper()
	bin := e2etest.Build(t)
	srv := e2etest.Start(t, bin)
	body, err := os.ReadFile(filepath.Join("testdata", "agent_runs.json"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(srv.HTTPURL+"/v1/traces", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /v1/traces = %s", resp.Status)
	}
	return srv, bin
}

// run runs loupe with args and returns its exit code, stdout and stderr.
// The environment carries no LOUPE_* or PHOENIX_* variable, so only the
// flags configure the command.
func run(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "LOUPE_") || strings.HasPrefix(kv, "PHOENIX_")
	})
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running loupe %v: %v", args, err)
	}
	return code, stdout.String(), stderr.String()
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("output differs from %s (-want +got):\n%s", path, diff)
	}
}

func TestReadCommands(t *testing.T) {
	srv, bin := startWithFixture(t)
	url := "--url=" + srv.HTTPURL
	tests := []struct {
		golden string
		args   []string
	}{
		{"spans_llm.jsonl", []string{"spans", url, "--project", project, "--filter", "span_kind == 'LLM'", "--format", "jsonl"}},
		{"spans_llm.csv", []string{"spans", url, "--project", project, "--filter", "span_kind == 'LLM'", "--format", "csv"}},
		{"spans_llm.txt", []string{"spans", url, "--project", project, "--filter", "span_kind == 'LLM'", "--format", "table"}},
		{"spans_all.txt", []string{"spans", url, "--project", project}},
		{"spans_roots.csv", []string{"spans", url, "--project", project, "--roots", "--format", "csv"}},
		{"spans_limit.csv", []string{"spans", url, "--project", project, "--limit", "2", "--format", "csv"}},
		{"spans_slow_llm.csv", []string{"spans", url, "--project", project, "--format", "csv",
			"--filter", "span_kind == 'LLM' and latency_ms > 1000 and llm.model_name == 'gpt-4o-mini'"}},
		{"traces.jsonl", []string{"traces", url, "--project", project, "--format", "jsonl"}},
		{"traces.csv", []string{"traces", url, "--project", project, "--format", "csv"}},
		{"traces.txt", []string{"traces", url, "--project", project}},
		{"traces_by_latency.csv", []string{"traces", url, "--project", project, "--sort", "latency_ms", "--format", "csv"}},
		{"traces_session.csv", []string{"traces", url, "--project", project, "--session", "session-2", "--format", "csv"}},
	}
	for _, tc := range tests {
		t.Run(tc.golden, func(t *testing.T) {
			code, stdout, stderr := run(t, bin, tc.args...)
			if code != 0 {
				t.Fatalf("loupe %v exited %d: %s", tc.args, code, stderr)
			}
			golden(t, tc.golden, stdout)
		})
	}

	// jsonl is the API's own span objects, one per line.
	_, out, _ := run(t, bin, "spans", url, "--project", project, "--filter", "span_kind == 'LLM'", "--format", "jsonl")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("jsonl printed %d lines, want 3 LLM spans:\n%s", len(lines), out)
	}
	for _, l := range lines {
		var s struct {
			SpanKind   string         `json:"span_kind"`
			Attributes map[string]any `json:"attributes"`
		}
		if err := json.Unmarshal([]byte(l), &s); err != nil || s.SpanKind != "LLM" || s.Attributes["llm.model_name"] == nil {
			t.Errorf("jsonl line is not an LLM span object (%v): %s", err, l)
		}
	}
}

func TestAnnotate(t *testing.T) {
	srv, bin := startWithFixture(t)
	url := "--url=" + srv.HTTPURL
	steps := []struct {
		args       []string
		wantStdout string
	}{
		{[]string{"annotate", url, "--span", llmSpan, "--name", "correctness", "--label", "correct", "--score", "1",
			"--explanation", "matches the policy"}, "annotated span " + llmSpan + ": U3BhbkFubm90YXRpb246MQ==\n"},
		{[]string{"annotate", url, "--span", failedSpan, "--name", "correctness", "--label", "incorrect", "--score", "0",
			"--kind", "llm"}, "annotated span " + failedSpan + ": U3BhbkFubm90YXRpb246Mg==\n"},
		// The same name and identifier again updates the annotation in place.
		{[]string{"annotate", url, "--span", llmSpan, "--name", "correctness", "--label", "partly correct", "--score", "0.5"},
			"annotated span " + llmSpan + ": U3BhbkFubm90YXRpb246MQ==\n"},
		{[]string{"annotate", url, "--trace", "0af7651916cd43dd8448eb211c80319c", "--name", "resolved", "--label", "yes"},
			"annotated trace 0af7651916cd43dd8448eb211c80319c: VHJhY2VBbm5vdGF0aW9uOjE=\n"},
	}
	for _, s := range steps {
		code, stdout, stderr := run(t, bin, s.args...)
		if code != 0 || stdout != s.wantStdout {
			t.Errorf("loupe %v = exit %d, stdout %q, stderr %q; want exit 0, stdout %q", s.args, code, stdout, stderr, s.wantStdout)
		}
	}

	var page struct {
		Data []struct {
			SpanID        string `json:"span_id"`
			Name          string `json:"name"`
			AnnotatorKind string `json:"annotator_kind"`
			Result        struct {
				Label       string   `json:"label"`
				Score       *float64 `json:"score"`
				Explanation *string  `json:"explanation"`
			} `json:"result"`
		} `json:"data"`
	}
	srv.GetJSON(t, "/v1/projects/"+project+"/span_annotations?span_ids="+llmSpan+"&span_ids="+failedSpan, &page)
	got := map[string]string{}
	for _, a := range page.Data {
		score := "none"
		if a.Result.Score != nil {
			score = strconv.FormatFloat(*a.Result.Score, 'f', -1, 64)
		}
		got[a.SpanID] = strings.Join([]string{a.Name, a.AnnotatorKind, a.Result.Label, score}, "/")
	}
	want := map[string]string{
		llmSpan:    "correctness/HUMAN/partly correct/0.5",
		failedSpan: "correctness/LLM/incorrect/0",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("annotations read back (-want +got):\n%s", diff)
	}

	// The annotations are visible to the filter language, and so to loupe spans.
	code, out, stderr := run(t, bin, "spans", url, "--project", project, "--format", "csv",
		"--filter", "annotations['correctness'].score < 1")
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.Contains(out, llmSpan) || !strings.Contains(out, failedSpan) {
		t.Errorf("spans filtered by annotation = exit %d:\n%s%s", code, out, stderr)
	}
}

func TestCommandErrors(t *testing.T) {
	srv, bin := startWithFixture(t)
	url := "--url=" + srv.HTTPURL
	tests := []struct {
		args       []string
		wantCode   int
		wantStderr string
	}{
		{[]string{"spans", url, "--project", project, "--filter", "latncy_ms > 1"}, 1, "did you mean 'latency_ms'"},
		{[]string{"spans", url, "--project", "nope"}, 1, "Project with name nope not found"},
		{[]string{"spans", url, "--project", project, "--format", "xml"}, 1, `--format "xml": use jsonl, csv or table`},
		{[]string{"spans", url, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"spans", "--url=http://127.0.0.1:1"}, 1, "reach Loupe at http://127.0.0.1:1"},
		{[]string{"traces", url, "--project", project, "--sort", "name"}, 1, "sort must be start_time or latency_ms"},
		{[]string{"annotate", url, "--span", llmSpan, "--label", "x"}, 1, "--name is required"},
		{[]string{"annotate", url, "--name", "n", "--label", "x"}, 1, "give one of --span, --trace or --session"},
		{[]string{"annotate", url, "--span", llmSpan, "--trace", "abc", "--name", "n", "--label", "x"}, 1, "exactly one of"},
		{[]string{"annotate", url, "--span", llmSpan, "--name", "n"}, 1, "at least one of --label, --score and --explanation"},
		{[]string{"annotate", url, "--span", llmSpan, "--name", "n", "--score", "high"}, 1, `--score "high" is not a number`},
		{[]string{"annotate", url, "--span", "ffffffffffffffff", "--name", "n", "--label", "x"}, 1, "404"},
		{[]string{"annotate", url, "--span", llmSpan, "--name", "note", "--label", "x"}, 1, "reserved"},
	}
	for _, tc := range tests {
		code, stdout, stderr := run(t, bin, tc.args...)
		if code != tc.wantCode || !strings.Contains(stderr, tc.wantStderr) {
			t.Errorf("loupe %v = exit %d, stderr %q (stdout %q); want exit %d and stderr containing %q",
				tc.args, code, stderr, stdout, tc.wantCode, tc.wantStderr)
		}
	}
}
