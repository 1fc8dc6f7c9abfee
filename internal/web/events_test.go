package web

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// readEvents returns the "data:" lines of change events read from an event
// stream until timeout.
func readEvents(t *testing.T, srv *httptest.Server, path, lastEventID string, timeout time.Duration, ready chan<- struct{}) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+path, nil)
	if lastEventID != "" {
		req.Header.Set("Last-Event-ID", lastEventID)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", path, err)
		close(ready)
		return nil
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("Content-Type = %q", ct)
	}
	close(ready)
	var data []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			data = append(data, d)
			return data
		}
	}
	return data
}

func TestEventsAcrossWriters(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("quiet", traceIDn(1), "", time.Now())...)
	srv := httptest.NewServer(e.mux)
	defer srv.Close()

	ready := make(chan struct{})
	got := make(chan []string, 1)
	go func() { got <- readEvents(t, srv, "/events?project=watched", "", 5*time.Second, ready) }()
	<-ready // the stream opens after the poller's first reading
	// Written straight to the database, as another server sharing it would:
	// only the poller can see it. A write to another project is not sent.
	e.write(agentRun("quiet", traceIDn(2), "", time.Now())...)
	e.write(agentRun("watched", agentTrace, "", time.Now())...)
	data := <-got
	if len(data) != 1 || !strings.Contains(data[0], `"project":"watched"`) {
		t.Errorf("events = %q, want one change of project watched", data)
	}
}

func TestEventsCatchUp(t *testing.T) {
	e := newEnv(t)
	e.write(agentRun("p", agentTrace, "", time.Now())...)
	srv := httptest.NewServer(e.mux)
	defer srv.Close()
	// A browser reconnecting after a change it did not see, and a page
	// subscribing after it was rendered.
	for _, tc := range []struct{ path, lastID string }{{"/events", "1"}, {"/events?project=p&since=1", ""}} {
		data := readEvents(t, srv, tc.path, tc.lastID, 2*time.Second, make(chan struct{}))
		if len(data) != 1 || !strings.Contains(data[0], `"project":"p"`) {
			t.Errorf("%s: catch-up events = %q, want the change of p", tc.path, data)
		}
	}
}

func TestBrokerBounds(t *testing.T) {
	e := newEnv(t)
	b := newBroker(e.store, e.h.log, time.Hour, 2)
	s1, err1 := b.subscribe("*")
	s2, err2 := b.subscribe("p")
	if err1 != nil || err2 != nil {
		t.Fatal(err1, err2)
	}
	if _, err := b.subscribe("q"); err != errTooManySubscribers {
		t.Errorf("third subscriber: %v, want errTooManySubscribers", err)
	}
	b.unsubscribe(s1)
	b.unsubscribe(s2)
	b.mu.Lock()
	running := b.stop != nil
	b.mu.Unlock()
	if running {
		t.Error("poller still running with no subscribers")
	}
	// Waking with nobody watching must not block.
	b.wake()
	b.wake()
}
