package api

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/spanquery"
)

// POST /v1/spans is Phoenix's SpanQuery endpoint, answered by package
// spanquery; this is its HTTP side.

// serveSpanQuery answers a SpanQuery request as it is read. Every store
// query gets the API's deadline of its own.
func (a *API) serveSpanQuery(w http.ResponseWriter, r *http.Request) {
	if !acceptsJSON(r.Header.Values("Accept")) {
		a.writeError(w, r, errorf(http.StatusNotAcceptable,
			"Loupe answers span queries as multipart/mixed with application/json parts only; "+
				"send Accept: application/json (the Arrow format application/x-pandas-arrow is not supported)"))
		return
	}
	var body spanquery.Body
	if err := decodeBody(r, &body); err != nil {
		a.writeError(w, r, err)
		return
	}
	req, err := spanquery.Compile(body)
	if err == nil {
		s := spanquery.Streamer{Store: a.Store, Log: a.Log, Query: a.query}
		err = s.Answer(w, r, spanQueryProject(r, body), req)
	}
	if err != nil {
		var qe *spanquery.Error
		if errors.As(err, &qe) {
			err = &Error{Status: qe.Status, Msg: qe.Msg}
		}
		a.writeError(w, r, err)
	}
}

// spanQueryProject picks the project as Phoenix does: the project_name
// query parameter, then project-name as a query parameter or a header,
// then the body's project_name, then "default".
func spanQueryProject(r *http.Request, body spanquery.Body) string {
	q := r.URL.Query()
	for _, v := range []string{q.Get("project_name"), q.Get("project-name"), r.Header.Get("project-name")} {
		if v != "" {
			return v
		}
	}
	if body.ProjectName != nil && *body.ProjectName != "" {
		return *body.ProjectName
	}
	return span.DefaultProject
}

// acceptsJSON reports whether the client takes JSON. Phoenix answers
// anything but exactly application/json with Arrow, which Loupe does not
// write; so only a client that names media types and none of JSON's is
// refused, and one that says nothing (or */*) gets JSON.
func acceptsJSON(accept []string) bool {
	named := false
	for _, h := range accept {
		for _, part := range strings.Split(h, ",") {
			mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
			if err != nil {
				continue
			}
			named = true
			switch mt {
			case "application/json", "multipart/mixed", "*/*", "application/*", "multipart/*":
				return true
			}
		}
	}
	return !named
}
