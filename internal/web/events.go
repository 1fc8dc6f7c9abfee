package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

const (
	// streamLifetime ends each event stream after a while; the browser
	// reconnects at once (with Last-Event-ID, so nothing is missed). It keeps
	// a server's shutdown short and lets a load balancer spread the streams.
	streamLifetime = 20 * time.Second
	keepAlive      = 10 * time.Second
)

// events streams server-sent events: a "change" whenever the watched project
// (?project=name, or every project without it) receives spans after
// ?since (unix ns).
func (h *Handler) events(w http.ResponseWriter, r *http.Request) {
	project := r.URL.Query().Get("project")
	if project == "" {
		project = "*"
	}
	sub, err := h.live.subscribe(project)
	if err != nil {
		w.Header().Set("Retry-After", "30")
		http.Error(w, err.Error(), http.StatusServiceUnavailable)
		return
	}
	defer h.live.unsubscribe(sub)
	// The stream opens once every later change will be sent: a client that
	// writes right after it connects sees its write. The first reading
	// takes at most the poll's timeout.
	select {
	case <-sub.ready:
	case <-r.Context().Done():
		return
	}

	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprint(w, "retry: 1000\n\n")

	// Changes made since the page was read, or while the browser was
	// reconnecting.
	since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
	if id, err := strconv.ParseInt(r.Header.Get("Last-Event-ID"), 10, 64); err == nil {
		since = id
	}
	if since > 0 {
		if err := h.catchUp(r, w, project, since); err != nil {
			return
		}
	}
	if rc.Flush() != nil {
		return
	}
	end := time.NewTimer(streamLifetime)
	defer end.Stop()
	ping := time.NewTicker(keepAlive)
	defer ping.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-end.C:
			return
		case <-ping.C:
			fmt.Fprint(w, ": ping\n\n")
		case c := <-sub.ch:
			if writeChange(w, c) != nil {
				return
			}
		}
		if rc.Flush() != nil {
			return
		}
	}
}

func (h *Handler) catchUp(r *http.Request, w http.ResponseWriter, project string, since int64) error {
	var ps []store.Project
	var err error
	if project == "*" {
		ps, err = h.store.Projects(r.Context(), store.ProjectQuery{})
	} else {
		var p store.Project
		if p, err = h.store.ProjectByName(r.Context(), project); err == nil {
			ps = append(ps, p)
		} else if errors.Is(err, store.ErrNotFound) {
			err = nil
		}
	}
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.UpdatedAt > since && p.LastSpanTime != 0 {
			if err := writeChange(w, change{Project: p.Name, At: p.UpdatedAt}); err != nil {
				return err
			}
		}
	}
	return nil
}

func writeChange(w http.ResponseWriter, c change) error {
	data, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: change\ndata: %s\n\n", c.At, data)
	return err
}
