package web

import (
	"context"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/loupe-dev/loupe/internal/auth"
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
	// Bare leaves the top bar's navigation out, on the pages a person sees
	// before they may see the rest: logging in, choosing a password.
	Bare bool
	// Who is the person logged in, for the top bar's menu; nil when
	// authentication is off.
	Who *who
}

// who is a principal as the top bar's menu shows it.
type who struct {
	Name      string // "alice", or a key's name
	Role      string // "Admin", "Member", "Viewer", "System"
	CanWrite  bool
	CanManage bool
	// Person is someone logged in to the UI, who has a settings page and
	// logs out; a key sent by a program has neither.
	Person bool
	// MustChangePassword hides the way to anything but choosing one.
	MustChangePassword bool
	Initial            string // the avatar's letter
	RoleClass          string // the role badge's colour
}

func whoOf(p *auth.Principal) *who {
	if p == nil {
		return nil
	}
	w := &who{Name: p.String(), Role: roleName(p.Role), CanWrite: p.Can(auth.Write), CanManage: p.Can(auth.Manage),
		Person: p.Human(), MustChangePassword: p.MustChangePassword, RoleClass: strings.ToLower(string(p.Role))}
	if r, _ := utf8.DecodeRuneInString(w.Name); r != utf8.RuneError {
		w.Initial = strings.ToUpper(string(r))
	}
	return w
}

// roleName is a role as sentences say it.
func roleName(r auth.Role) string {
	if r == "" {
		return ""
	}
	return string(r[0]) + strings.ToLower(string(r[1:]))
}

// CanWrite reports whether the page may offer forms that change data:
// always when authentication is off.
func (f frame) CanWrite() bool { return f.Who == nil || f.Who.CanWrite }

// CanManage reports whether the page may offer server-wide settings.
func (f frame) CanManage() bool { return f.Who == nil || f.Who.CanManage }

// maxSwitcherProjects bounds the project switcher; more are on the home page.
const maxSwitcherProjects = 200

func (h *Handler) frame(ctx context.Context, r *http.Request, title, project string) frame {
	f := frame{
		Title:   title,
		Project: project,
		Range:   parseTimeRange(r.URL.Query(), h.now()),
		URL:     pageURL{Path: r.URL.Path, Query: r.URL.Query()},
		Now:     h.now().UnixNano(),
		Who:     whoOf(auth.FromContext(r.Context())),
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

// bareFrame is the frame of a page that stands alone: no project list,
// which a person not yet logged in may not see.
func (h *Handler) bareFrame(r *http.Request, title string) frame {
	return frame{Title: title, URL: pageURL{Path: r.URL.Path, Query: r.URL.Query()}, Now: h.now().UnixNano(),
		Bare: true, Who: whoOf(auth.FromContext(r.Context()))}
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
