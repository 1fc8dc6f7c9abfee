package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/loupe-dev/loupe/internal/store"
)

// Phoenix retries asynchronous annotations whose target has not arrived
// every 10 s, 60 times; Loupe does the same.
const (
	pendingInterval = 10 * time.Second
	pendingAttempts = 60
	pendingMax      = 100_000
)

// Pending holds asynchronous annotations whose span, trace or session has
// not been stored yet (annotations often race their spans' export).
type Pending struct {
	mu    sync.Mutex
	items []pendingItem
	Log   *slog.Logger
}

type pendingItem struct {
	ann      store.Annotation
	attempts int
}

// add writes the annotations whose targets exist and keeps the others for retry.
func (p *Pending) add(ctx context.Context, st store.Annotator, anns []store.Annotation, missingIDs []string) error {
	missing := make(map[string]bool, len(missingIDs))
	for _, id := range missingIDs {
		missing[id] = true
	}
	var now, later []store.Annotation
	for _, a := range anns {
		if missing[a.EntityID()] {
			later = append(later, a)
		} else {
			now = append(now, a)
		}
	}
	p.mu.Lock()
	if len(p.items)+len(later) > pendingMax {
		p.mu.Unlock()
		return errorf(http.StatusServiceUnavailable, "too many annotations are waiting for their spans; retry later")
	}
	for _, a := range later {
		p.items = append(p.items, pendingItem{ann: a})
	}
	p.mu.Unlock()
	if len(now) == 0 {
		return nil
	}
	_, err := st.UpsertAnnotations(ctx, now)
	var me *store.MissingError
	if errors.As(err, &me) {
		// A target vanished in between (deleted); keep those for retry too.
		return p.add(ctx, st, now, me.IDs)
	}
	return err
}

// Len is the number of annotations waiting.
func (p *Pending) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

// Run retries waiting annotations until ctx ends.
func (p *Pending) Run(ctx context.Context, st store.Annotator) error {
	t := time.NewTicker(pendingInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if n := p.Len(); n > 0 && p.Log != nil {
				p.Log.Warn("annotations still waiting for their spans were not stored", "count", n)
			}
			return nil
		case <-t.C:
			p.retry(ctx, st)
		}
	}
}

func (p *Pending) retry(ctx context.Context, st store.Annotator) {
	p.mu.Lock()
	items := p.items
	p.items = nil
	p.mu.Unlock()
	if len(items) == 0 {
		return
	}
	anns := make([]store.Annotation, len(items))
	for i, it := range items {
		anns[i] = it.ann
	}
	_, err := st.UpsertAnnotations(ctx, anns)
	if err == nil {
		return
	}
	var me *store.MissingError
	if !errors.As(err, &me) {
		p.requeue(items)
		if p.Log != nil {
			p.Log.Error("retry waiting annotations", "err", err)
		}
		return
	}
	missing := make(map[string]bool, len(me.IDs))
	for _, id := range me.IDs {
		missing[id] = true
	}
	var ready []store.Annotation
	var waiting []pendingItem
	for _, it := range items {
		if !missing[it.ann.EntityID()] {
			ready = append(ready, it.ann)
			continue
		}
		if it.attempts++; it.attempts < pendingAttempts {
			waiting = append(waiting, it)
		} else if p.Log != nil {
			p.Log.Warn("dropped an annotation whose target never arrived", "kind", it.ann.Kind, "id", it.ann.EntityID(), "name", it.ann.Name)
		}
	}
	p.requeue(waiting)
	if len(ready) > 0 {
		if _, err := st.UpsertAnnotations(ctx, ready); err != nil && p.Log != nil {
			p.Log.Error("store waiting annotations", "err", err)
		}
	}
}

func (p *Pending) requeue(items []pendingItem) {
	p.mu.Lock()
	p.items = append(p.items, items...)
	p.mu.Unlock()
}
