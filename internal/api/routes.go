package api

import (
	"fmt"
	"net/http"

	"github.com/loupe-dev/loupe/internal/route"
)

// Handler serves the REST API's routes. Middleware that every one of them
// goes through is passed to route.NewTable here.
func (a *API) Handler() *route.Table {
	a.errs.Log = a.Log
	return route.NewTable(a.routes())
}

// routes is the REST API, every route of it.
func (a *API) routes() []route.Route {
	return []route.Route{
		route.HandleFunc("GET /arize_phoenix_version", phoenixVersion),

		route.Handle("GET /v1/projects", a.wrap(a.listProjects)),
		route.Handle("POST /v1/projects", a.wrap(a.createProject)),
		route.Handle("GET /v1/projects/{project_identifier}", a.wrap(a.getProject)),
		route.Handle("PUT /v1/projects/{project_identifier}", a.wrap(a.updateProject)),
		route.Handle("DELETE /v1/projects/{project_identifier}", a.wrap(a.deleteProject)),
		route.Handle("GET /v1/projects/{project_identifier}/usage", a.wrap(a.projectUsage)),

		route.Handle("GET /v1/projects/{project_identifier}/spans", a.wrap(a.listSpans)),
		route.Handle("POST /v1/projects/{project_identifier}/spans", a.wrap(a.uploadSpans)),
		route.Handle("GET /v1/projects/{project_identifier}/spans/otlpv1", a.wrap(a.listSpansOTLP)),
		route.Handle("DELETE /v1/spans/{span_identifier}", a.wrap(a.deleteSpan)),
		route.HandleFunc("POST /v1/spans", a.serveSpanQuery),
		// Deprecated in Phoenix, still served: it reads a body too.
		route.HandleFunc("GET /v1/spans", a.serveSpanQuery),

		route.HandleFunc("GET /v1/projects/{project_identifier}/traces", a.serveTraces),
		route.Handle("DELETE /v1/projects/{project_identifier}/traces", a.wrap(a.deleteProjectTraces)),
		route.Handle("DELETE /v1/traces/{trace_identifier}", a.wrap(a.deleteTrace)),
		route.Handle("POST /v1/traces/transfer", a.wrap(a.transferTraces)),

		route.Handle("GET /v1/projects/{project_identifier}/sessions", a.wrap(a.listSessions)),
		route.Handle("GET /v1/sessions/{session_identifier}", a.wrap(a.getSession)),
		route.Handle("DELETE /v1/sessions/{session_identifier}", a.wrap(a.deleteSession)),
		route.Handle("POST /v1/sessions/delete", a.wrap(a.deleteSessions)),

		route.Handle("POST /v1/span_annotations", a.wrap(a.postAnnotations(spanAnnotations))),
		route.Handle("GET /v1/projects/{project_identifier}/span_annotations", a.wrap(a.listAnnotations(spanAnnotations))),
		route.Handle("DELETE /v1/projects/{project_identifier}/span_annotations", a.wrap(a.deleteAnnotations(spanAnnotations))),
		route.Handle("POST /v1/span_notes", a.wrap(a.postNote(spanAnnotations))),
		route.Handle("POST /v1/trace_annotations", a.wrap(a.postAnnotations(traceAnnotations))),
		route.Handle("GET /v1/projects/{project_identifier}/trace_annotations", a.wrap(a.listAnnotations(traceAnnotations))),
		route.Handle("DELETE /v1/projects/{project_identifier}/trace_annotations", a.wrap(a.deleteAnnotations(traceAnnotations))),
		route.Handle("POST /v1/trace_notes", a.wrap(a.postNote(traceAnnotations))),
		route.Handle("POST /v1/session_annotations", a.wrap(a.postAnnotations(sessionAnnotations))),
		route.Handle("GET /v1/projects/{project_identifier}/session_annotations", a.wrap(a.listAnnotations(sessionAnnotations))),
		route.Handle("DELETE /v1/projects/{project_identifier}/session_annotations", a.wrap(a.deleteAnnotations(sessionAnnotations))),
		route.Handle("POST /v1/session_notes", a.wrap(a.postNote(sessionAnnotations))),
		route.Handle("POST /v1/document_annotations", a.wrap(a.postAnnotations(documentAnnotations))),

		route.Handle("GET /v1/model_prices", a.wrap(a.listPrices)),
		route.Handle("PUT /v1/model_prices", a.wrap(a.putPrices)),
		route.Handle("GET /v1/model_prices/recompute", a.wrap(a.recomputeStatus)),
		route.Handle("POST /v1/model_prices/recompute", a.wrap(a.recomputeAll)),

		// Retention policies and the storage report: see retention.go.
		route.Handle("GET /v1/projects/{project_identifier}/retention", a.wrap(a.getRetention(true))),
		route.Handle("PUT /v1/projects/{project_identifier}/retention", a.wrap(a.putRetention(true))),
		route.Handle("DELETE /v1/projects/{project_identifier}/retention", a.wrap(a.deleteRetention(true))),
		route.Handle("PATCH /v1/projects/{project_identifier}/retention", a.wrap(a.patchRetention)),
		route.Handle("GET /v1/retention", a.wrap(a.getRetention(false))),
		route.Handle("PUT /v1/retention", a.wrap(a.putRetention(false))),
		route.Handle("DELETE /v1/retention", a.wrap(a.deleteRetention(false))),
		route.Handle("GET /v1/storage", a.wrap(a.getStorage)),
	}
}

func phoenixVersion(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, PhoenixVersion)
}
