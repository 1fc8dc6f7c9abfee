package web

import (
	"context"

	"golang.org/x/sync/errgroup"

	"github.com/loupe-dev/loupe/internal/store"
)

// projectHead reads the header of a project's pages: its stats, the
// annotation summaries and usage, bounded reads of the time range (sums of
// roll-ups and a sample of latencies, summaries over the annotations of
// entities in it, usage from hourly roll-ups). They are independent
// statements, most of every project page's time: read side by side. The
// cost panels show on the Traces tab; the other tabs use the usage only to
// flag unpriced spans.
func (h *Handler) projectHead(ctx context.Context, page *projectPage) error {
	var (
		stats store.ProjectStats
		anns  []annotationSummary
		costs *costPanels
	)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) {
		stats, err = h.store.ProjectStats(gctx, page.P.ID, page.Range.StartNs(), page.Range.EndNs())
		return err
	})
	g.Go(func() (err error) {
		anns, err = h.annotationSummaries(gctx, page)
		return err
	})
	g.Go(func() (err error) {
		costs, err = h.costPanels(gctx, page, page.Tab == "traces")
		return err
	})
	if err := g.Wait(); err != nil {
		return err
	}
	page.Stats, page.Annotations, page.Costs = stats, anns, costs
	return nil
}
