package web

import (
	"bufio"
	"encoding/json"
	"net/http"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

type exportSpan struct {
	TraceID       string          `json:"trace_id"`
	SpanID        string          `json:"span_id"`
	ParentID      *string         `json:"parent_id"`
	Name          string          `json:"name"`
	SpanKind      string          `json:"span_kind"`
	StartTime     string          `json:"start_time"`
	EndTime       string          `json:"end_time"`
	StatusCode    string          `json:"status_code"`
	StatusMessage string          `json:"status_message"`
	Attributes    json.RawMessage `json:"attributes"`
	Events        json.RawMessage `json:"events"`
}

// exportTrace downloads the whole trace, every span with its attributes
// and events, as one JSON document, written span by span.
func (h *Handler) exportTrace(w http.ResponseWriter, r *http.Request) {
	info, ok := h.loadTrace(w, r)
	if !ok {
		return
	}
	t, err := h.store.Trace(r.Context(), info.TraceID)
	if err != nil {
		h.fail(w, r, err, notFoundTrace(r.PathValue("name"), info.TraceID))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="trace-`+t.TraceID+`.json"`)
	bw := bufio.NewWriterSize(w, 64<<10)
	head, _ := json.Marshal(struct {
		TraceID   string `json:"trace_id"`
		Project   string `json:"project"`
		StartTime string `json:"start_time"`
		EndTime   string `json:"end_time"`
	}{t.TraceID, r.PathValue("name"), isoTime(t.StartTime), isoTime(t.EndTime)})
	bw.Write(head[:len(head)-1])
	bw.WriteString(`,"spans":[`)
	enc := json.NewEncoder(bw)
	for i, s := range t.Spans {
		if i > 0 {
			bw.WriteByte(',')
		}
		if err := enc.Encode(toExportSpan(s)); err != nil {
			h.errs.Error("export trace", "trace_id", t.TraceID, "err", err)
			return
		}
	}
	bw.WriteString("]}\n")
	if err := bw.Flush(); err != nil {
		h.log.Debug("export trace: client went away", "trace_id", t.TraceID, "err", err)
	}
}

func toExportSpan(s store.SpanRecord) exportSpan {
	e := exportSpan{
		TraceID: s.TraceID, SpanID: s.SpanID, Name: s.Name, SpanKind: string(s.View.Kind),
		StartTime: isoTime(s.StartTime), EndTime: isoTime(s.EndTime),
		StatusCode: string(s.StatusCode), StatusMessage: s.StatusMessage,
		// Readable: one old span nested too deep must not cut the download short.
		Attributes: span.ReadableJSON(s.AttributesJSON), Events: span.ReadableJSON(s.EventsJSON),
	}
	if s.ParentID != "" {
		e.ParentID = &s.ParentID
	}
	if len(e.Attributes) == 0 {
		e.Attributes = json.RawMessage("{}")
	}
	if len(e.Events) == 0 {
		e.Events = json.RawMessage("[]")
	}
	return e
}
