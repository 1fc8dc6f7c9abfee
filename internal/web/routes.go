package web

import (
	"slices"

	"github.com/loupe-dev/loupe/internal/route"
)

// Handler serves the UI's routes, each through middleware (the server's
// authentication, when on), and then through the check that a person
// whose password someone else chose chooses their own first.
func (h *Handler) Handler(middleware ...route.Middleware) *route.Table {
	return route.NewTable(h.routes(), append(slices.Clip(middleware), h.passwordFirst)...)
}

// routes is the UI, every page, fragment and form of it.
func (h *Handler) routes() []route.Route {
	return []route.Route{
		route.Handle("GET /{$}", h.bounded(h.home)),
		route.HandleFunc("GET /static/{version}/{file}", serveStatic),
		route.HandleFunc("GET /events", h.events),
		route.Handle("GET /filter/check", h.bounded(h.checkFilter)),

		route.Handle("GET /traces", h.bounded(h.gotoTrace)),
		route.Handle("GET /traces/{trace_id}", h.bounded(h.traceRedirect)),

		route.Handle("GET /projects/{name}", h.bounded(h.projectTraces)),
		route.Handle("GET /projects/{name}/spans", h.bounded(h.projectSpans)),
		route.Handle("GET /projects/{name}/errors", h.bounded(h.projectErrors)),
		route.Handle("GET /projects/{name}/tool-costs", h.bounded(h.toolCosts)),
		route.Handle("GET /projects/{name}/sessions", h.bounded(h.projectSessions)),
		route.Handle("GET /projects/{name}/sessions/{session_id}", h.bounded(h.session)),
		route.HandleFunc("POST /projects/{name}/sessions/{session_id}/annotations", h.annotateSession),
		route.Handle("GET /projects/{name}/traces/{trace_id}", h.bounded(h.trace)),
		route.Handle("GET /projects/{name}/traces/{trace_id}/tree", h.bounded(h.treeFragment)),
		route.Handle("GET /projects/{name}/traces/{trace_id}/search", h.bounded(h.traceSearchFragment)),
		route.Handle("GET /projects/{name}/traces/{trace_id}/export", h.bounded(h.exportTrace)),
		route.HandleFunc("POST /projects/{name}/traces/{trace_id}/annotations", h.annotateTrace),
		route.Handle("GET /projects/{name}/spans/{span_id}", h.bounded(h.spanFragment)),
		route.Handle("GET /projects/{name}/spans/{span_id}/value", h.bounded(h.spanValue)),
		route.HandleFunc("POST /projects/{name}/spans/{span_id}/annotations", h.annotateSpan),
		route.Handle("GET /projects/{name}/filter/suggest", h.bounded(h.filterSuggest)),
		route.Handle("GET /projects/{name}/annotation-choices", h.bounded(h.annotationChoicesFragment)),
		route.Handle("GET /projects/{name}/metrics", h.bounded(h.projectMetrics)),
		route.Handle("GET /projects/{name}/prompts", h.bounded(h.projectPrompts)),
		// Any other page of a project, or of none.
		route.Handle("GET /projects/", h.bounded(h.notFoundPage)),
		// Any other address a browser asks for gets the same page; a
		// client that did not ask for HTML gets a plain 404.
		route.Handle("GET /{path...}", h.bounded(h.unknownPath)),

		route.Handle("GET /prices", h.bounded(h.prices)),
		route.HandleFunc("POST /prices", h.savePrice),
		route.HandleFunc("POST /prices/delete", h.deletePrice),
		route.HandleFunc("POST /prices/recompute", h.recomputePrices),
		route.Handle("GET /annotation-configs", h.bounded(h.annotationConfigsPage)),
		route.HandleFunc("POST /annotation-configs", h.saveAnnotationConfig),
		route.HandleFunc("POST /annotation-configs/delete", h.deleteAnnotationConfig),
		route.HandleFunc("POST /annotation-configs/assign", h.assignAnnotationConfig),
		route.Handle("GET /storage", h.bounded(h.storage)),
		route.HandleFunc("POST /storage/retention", h.saveRetention),

		// Logging in and out, and choosing a password: see login.go.
		route.HandleFunc("GET /login", h.loginPage),
		route.HandleFunc("POST /login", h.login),
		route.HandleFunc("POST /logout", h.logout),
		route.HandleFunc("GET /password", h.passwordPage),
		route.HandleFunc("POST /password", h.changePassword),
		// Single sign-on, at Phoenix's paths: package sso.
		route.HandleFunc("GET /oauth2/{idp_name}/login", h.ssoLogin),
		route.HandleFunc("POST /oauth2/{idp_name}/login", h.ssoLogin),
		route.HandleFunc("GET /oauth2/{idp_name}/tokens", h.ssoCallback),

		// A person's account and keys; for admins, users and system keys:
		// see settings.go.
		route.Handle("GET /settings", h.bounded(h.settings)),
		route.HandleFunc("POST /settings/keys", h.createOwnKey),
		route.HandleFunc("POST /settings/keys/{id}/revoke", h.revokeOwnKey),
		route.HandleFunc("POST /settings/system-keys", h.createSystemKey),
		route.HandleFunc("POST /settings/system-keys/{id}/revoke", h.revokeSystemKey),
		route.HandleFunc("POST /settings/users", h.createUser),
		route.HandleFunc("POST /settings/users/{id}/role", h.setUserRole),
		route.HandleFunc("POST /settings/users/{id}/delete", h.deleteUser),
	}
}
