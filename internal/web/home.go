package web

import (
	"cmp"
	"net"
	"net/http"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/loupe-dev/loupe/internal/store"
)

type projectSummary struct {
	store.Project
	Stats store.ProjectStats
}

type homePage struct {
	frame
	Summaries []projectSummary
}

// home lists every project with its stats over the time range, or teaches
// how to send the first trace when nothing has arrived yet.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ps, err := h.store.Projects(ctx, store.ProjectQuery{Limit: maxSwitcherProjects})
	if err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	empty := true
	for _, p := range ps {
		if p.LastSpanTime != 0 {
			empty = false
		}
	}
	if empty {
		h.firstRun(w, r)
		return
	}
	page := homePage{frame: h.frame(ctx, r, "Projects", "")}
	page.Live, page.ShowRange = "*", true
	// The projects in use first.
	slices.SortStableFunc(ps, func(a, b store.Project) int { return cmp.Compare(b.LastSpanTime, a.LastSpanTime) })
	// The projects' stats are most of the page's time, each a statement
	// or two: read side by side, a core each.
	page.Summaries = make([]projectSummary, len(ps))
	if many, ok := h.store.(store.ManyProjectStats); ok {
		ids := make([]int64, len(ps))
		for i, p := range ps {
			ids[i] = p.ID
		}
		stats, err := many.ProjectsStats(ctx, ids, page.Range.StartNs(), page.Range.EndNs())
		if err != nil {
			h.fail(w, r, err, notFound{})
			return
		}
		for i, p := range ps {
			page.Summaries[i] = projectSummary{Project: p, Stats: stats[p.ID]}
		}
		h.render(w, r, http.StatusOK, "home", page)
		return
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	start, end := page.Range.StartNs(), page.Range.EndNs()
	for i, p := range ps {
		g.Go(func() error {
			st, err := h.store.ProjectStats(gctx, p.ID, start, end)
			page.Summaries[i] = projectSummary{Project: p, Stats: st}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		h.fail(w, r, err, notFound{})
		return
	}
	h.render(w, r, http.StatusOK, "home", page)
}

type firstRunPage struct {
	frame
	HTTPBase string // http://host:port of this server as the browser reached it
	GRPC     string // host:port of OTLP/gRPC
	GRPCURL  string // http:// or https:// GRPC, as exporters take it
}

func (h *Handler) firstRun(w http.ResponseWriter, r *http.Request) {
	page := firstRunPage{frame: h.frame(r.Context(), r, "Send your first trace", "")}
	page.Live = "*"
	page.HTTPBase = "http://" + r.Host
	if r.TLS != nil {
		page.HTTPBase = "https://" + r.Host
	}
	page.GRPC = grpcTarget(h.grpcAddr, r.Host)
	page.GRPCURL = "http://" + page.GRPC
	if h.grpcTLS {
		page.GRPCURL = "https://" + page.GRPC
	}
	h.render(w, r, http.StatusOK, "firstrun", page)
}

// grpcTarget is the gRPC address a client should dial: the configured one,
// with the host the browser used when the server listens on every interface.
func grpcTarget(grpcAddr, requestHost string) string {
	host, port, err := net.SplitHostPort(grpcAddr)
	if err != nil {
		return grpcAddr
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = requestHost
		if h, _, err := net.SplitHostPort(requestHost); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
	}
	return net.JoinHostPort(host, port)
}
