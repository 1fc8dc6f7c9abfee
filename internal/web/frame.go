package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"

	"github.com/loupe-dev/loupe/internal/store"
)

// frame is what the layout needs on every page: the top bar's project
// switcher and time range, the current URL to build links from, and the
// project whose live updates the page follows.
type frame struct {
	Title    string
	Project  string   // the project the page is about, if any
	Projects []string // for the switcher
	Range    timeRange
	// ShowRange puts the time range picker in the top bar, on the pages
	// whose lists and stats it bounds.
	ShowRange bool
	URL       pageURL
	// Live names the project whose new spans refresh the page; "*" follows
	// every project; empty turns live updates off.
	Live string
	// Now is when the page's data was read (unix ns): the live stream sends
	// at once any change made since, which the page would otherwise miss.
	Now int64
}

// maxSwitcherProjects bounds the project switcher; more are on the home page.
const maxSwitcherProjects = 200

func (h *Handler) frame(ctx context.Context, r *http.Request, title, project string) frame {
	f := frame{
		Title:   title,
		Project: project,
		Range:   parseTimeRange(r.URL.Query(), h.now()),
		URL:     pageURL{Path: r.URL.Path, Query: r.URL.Query()},
		Now:     h.now().UnixNano(),
	}
	ps, err := h.store.Projects(ctx, store.ProjectQuery{Limit: maxSwitcherProjects})
	if err != nil {
		h.errs.Warn("list projects for the switcher", "err", err)
	}
	for _, p := range ps {
		f.Projects = append(f.Projects, p.Name)
	}
	sort.Strings(f.Projects)
	return f
}

// pageURL builds links that change one thing about the current page and
// keep the rest (time range, sort, filters), so every view is a shareable URL.
type pageURL struct {
	Path  string
	Query url.Values
}

// With returns the current URL with the given key/value pairs set; an empty
// value removes the key. The page cursor is dropped unless set, since a
// change of view starts from the first page.
func (u pageURL) With(kv ...string) string {
	return u.at(u.Path, kv...)
}

// At is With on another path (another tab of the same project, say).
func (u pageURL) At(path string, kv ...string) string {
	return u.at(path, kv...)
}

func (u pageURL) at(path string, kv ...string) string {
	q := url.Values{}
	for k, v := range u.Query {
		if k != "cursor" {
			q[k] = v
		}
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return path
	}
	return path + "?" + q.Encode()
}

// RangeQuery is the time range alone, for links to other pages.
func (u pageURL) RangeQuery() string {
	q := url.Values{}
	for _, k := range []string{"range", "start", "end"} {
		if v := u.Query.Get(k); v != "" {
			q.Set(k, v)
		}
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Get reads one query parameter.
func (u pageURL) Get(key string) string { return u.Query.Get(key) }
