package span

import "testing"

func TestNormalizeErrorMessage(t *testing.T) {
	tests := []struct{ in, want string }{
		{"timeout after 31s on req 8f3a9c01", "timeout after <n>s on req <hex>"},
		{"timeout after 12s on req 77be0d2e", "timeout after <n>s on req <hex>"},
		{"Rate limit reached for gpt-4o in organization org-AbC123xYz on tokens per min (TPM): Limit 30000, Used 29846, Requested 1204.",
			"Rate limit reached for gpt-4o in organization org-<id> on tokens per min (TPM): Limit <n>, Used <n>, Requested <n>."},
		{"KeyError: 'customer_id'", "KeyError: <str>"},
		{`file "/srv/app/tools/search.py", line 42`, "file <str>, line <n>"},
		{"cannot open /var/data/tickets/9912.json: no such file", "cannot open <path>: no such file"},
		{"GET https://api.example.com/v1/orders/123 returned 503", "GET <path> returned <n>"},
		{"ticket 550e8400-e29b-41d4-a716-446655440000 not found", "ticket <hex> not found"},
		{"latency 1.25 ms over budget", "latency <n>.<n> ms over budget"},
		{"user_8812 job-2024-11-02", "user_<n> job-<n>-<n>-<n>"},
		{"429 Too Many Requests: rate limit reached for gpt-4o-mini", "<n> Too Many Requests: rate limit reached for gpt-4o-mini"},
		{"claude-3-5-sonnet overloaded after 3 tries", "claude-<n>-<n>-sonnet overloaded after <n> tries"},
		{"  spaced\t\tout  \n traceback line 2", "spaced out"},
		{"an 'unclosed quote", "an 'unclosed quote"},
		{"deadbeef failed v2", "deadbeef failed v<n>"},
		{"", ""},
	}
	for _, tc := range tests {
		if got := NormalizeErrorMessage(tc.in); got != tc.want {
			t.Errorf("NormalizeErrorMessage(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestErrorGroup(t *testing.T) {
	a := ErrorGroup(Failure{Type: "TimeoutError", Message: "timeout after 31s on req 8f3a9c01"})
	b := ErrorGroup(Failure{Type: "TimeoutError", Message: "timeout after 2s on req 77be0d2e"})
	c := ErrorGroup(Failure{Type: "ValueError", Message: "timeout after 31s on req 8f3a9c01"})
	if a != b || a == c || len(a) != 16 {
		t.Errorf("groups %q %q %q: want the first two equal, 16 hex digits, the third apart", a, b, c)
	}
	s := &Span{StatusCode: StatusError, StatusMessage: "status says",
		Events: []Event{{Name: "log"}, {Name: "exception", Attributes: Attributes{
			{Key: "exception.type", Value: StringValue("TimeoutError")},
			{Key: "exception.message", Value: StringValue("timeout after 31s on req 8f3a9c01")}}}}}
	if f, ok := FailureOf(s); !ok || f.Type != "TimeoutError" || ErrorGroup(f) != a {
		t.Errorf("FailureOf = %+v, %v", f, ok)
	}
	s.Events = nil
	if f, ok := FailureOf(s); !ok || f != (Failure{Message: "status says"}) {
		t.Errorf("FailureOf without an exception = %+v, %v", f, ok)
	}
	if _, ok := FailureOf(&Span{StatusCode: StatusOK}); ok {
		t.Error("a span that did not fail has a failure")
	}
}

func TestStoredFailure(t *testing.T) {
	s := Span{StatusCode: StatusError, StatusMessage: "status says", Events: []Event{{Name: "exception", Attributes: Attributes{
		{Key: "exception.type", Value: StringValue("TimeoutError")},
		{Key: "exception.message", Value: StringValue("timeout after 31s")}}}}}
	var buf []byte
	events, _ := s.StoredEventsAndLinks(&buf)
	want, _ := FailureOf(&s)
	if got := StoredFailure(s.StatusMessage, []byte(events)); got != want {
		t.Errorf("StoredFailure = %+v, want %+v as FailureOf reads the span", got, want)
	}
	if got := StoredFailure("plain", nil); got != (Failure{Message: "plain"}) {
		t.Errorf("StoredFailure without events = %+v", got)
	}
	Normalize(&s)
	if s.View.ErrorGroup != ErrorGroup(want) {
		t.Errorf("View.ErrorGroup = %q, want %q", s.View.ErrorGroup, ErrorGroup(want))
	}
}
