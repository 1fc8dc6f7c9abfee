package api

import (
	"fmt"
	"net/http"

	"github.com/loupe-dev/loupe/internal/auth"
	"github.com/loupe-dev/loupe/internal/route"
)

// Handler serves the REST API's routes, each through middleware (the
// server's authentication, when on).
func (a *API) Handler(middleware ...route.Middleware) *route.Table {
	a.errs.Log = a.Log
	return route.NewTable(a.routes(), middleware...)
}

// Open reports whether r's route is served without credentials when
// authentication is on: the version, as Phoenix's clients ask it first,
// and logging in and out.
func Open(r *http.Request) bool {
	switch r.Pattern {
	case "GET /arize_phoenix_version", "POST /auth/login", "GET /auth/logout":
		return true
	}
	return false
}

// Access says what a request needs, by its route: what its method says
// (auth.ByMethod), but for the routes named here. As Phoenix, admins
// manage users, system keys, projects' settings and retention; every
// user, viewers included, manages their own keys. The span query reads,
// though it is sent as a POST, so a viewer's arize-phoenix-client can
// read spans (Phoenix refuses it to viewers).
func Access(r *http.Request) auth.Access {
	switch r.Pattern {
	case "GET /v1/users", "POST /v1/users", "DELETE /v1/users/{user_id}", "GET /v1/users/api_keys",
		"GET /v1/system/api_keys", "POST /v1/system/api_keys", "DELETE /v1/system/api_keys/{api_key_id}",
		"PUT /v1/projects/{project_identifier}", "DELETE /v1/projects/{project_identifier}",
		"PUT /v1/projects/{project_identifier}/retention", "DELETE /v1/projects/{project_identifier}/retention",
		"PATCH /v1/projects/{project_identifier}/retention", "PUT /v1/retention", "DELETE /v1/retention":
		return auth.Manage
	case "POST /v1/user/api_keys", "DELETE /v1/user/api_keys/{api_key_id}", "POST /v1/spans":
		return auth.Read
	}
	return auth.ByMethod(r)
}

// routes is the REST API, every route of it.
func (a *API) routes() []route.Route {
	return []route.Route{
		route.HandleFunc("GET /arize_phoenix_version", phoenixVersion),

		// Users, keys and logins: see users.go and login.go.
		route.HandleFunc("POST /auth/login", a.login),
		route.HandleFunc("GET /auth/logout", a.logout),
		route.Handle("GET /v1/user", a.wrap(a.getViewer)),
		route.Handle("GET /v1/users", a.wrap(a.listUsers)),
		route.Handle("POST /v1/users", a.wrap(a.createUser)),
		route.Handle("DELETE /v1/users/{user_id}", a.wrap(a.deleteUser)),
		route.Handle("GET /v1/users/api_keys", a.wrap(a.listUsersKeys)),
		route.Handle("GET /v1/user/api_keys", a.wrap(a.listOwnKeys)),
		route.Handle("POST /v1/user/api_keys", a.wrap(a.createOwnKey)),
		route.Handle("DELETE /v1/user/api_keys/{api_key_id}", a.wrap(a.deleteOwnKey)),
		route.Handle("GET /v1/system/api_keys", a.wrap(a.listSystemKeys)),
		route.Handle("POST /v1/system/api_keys", a.wrap(a.createSystemKey)),
		route.Handle("DELETE /v1/system/api_keys/{api_key_id}", a.wrap(a.deleteSystemKey)),

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

		route.Handle("GET /v1/annotation_configs", a.wrap(a.listAnnotationConfigs)),
		route.Handle("POST /v1/annotation_configs", a.wrap(a.createAnnotationConfig)),
		route.Handle("GET /v1/annotation_configs/{config_identifier}", a.wrap(a.getAnnotationConfig)),
		route.Handle("PUT /v1/annotation_configs/{config_identifier}", a.wrap(a.updateAnnotationConfig)),
		route.Handle("DELETE /v1/annotation_configs/{config_identifier}", a.wrap(a.deleteAnnotationConfig)),
		route.Handle("GET /v1/projects/{project_identifier}/annotation_configs", a.wrap(a.listProjectAnnotationConfigs)),
		route.Handle("PUT /v1/projects/{project_identifier}/annotation_configs", a.wrap(a.setProjectAnnotationConfigs)),
		route.Handle("PUT /v1/projects/{project_identifier}/annotation_configs/{config_identifier}", a.wrap(a.assignAnnotationConfig(true))),
		route.Handle("DELETE /v1/projects/{project_identifier}/annotation_configs/{config_identifier}", a.wrap(a.assignAnnotationConfig(false))),
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
