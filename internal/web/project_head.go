package web

import "context"

// projectHead reads the header's annotation summaries and usage: bounded
// reads of the time range (summaries over the annotations of entities in
// it, usage from hourly roll-ups). The cost panels show on the Traces tab;
// the other tabs use the usage only to flag unpriced spans.
func (h *Handler) projectHead(ctx context.Context, page *projectPage) error {
	var err error
	if page.Annotations, err = h.annotationSummaries(ctx, page); err != nil {
		return err
	}
	page.Costs, err = h.costPanels(ctx, page, page.Tab == "traces")
	return err
}
