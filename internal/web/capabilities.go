package web

import "github.com/loupe-dev/loupe/internal/store"

// capabilities are what the store does beyond reading, when it does: the
// server hands the UI its whole store, a test may hand it a reader only,
// and the pages leave out what they cannot offer.
type capabilities struct {
	annotator store.Annotator // annotation forms; nil hides them
	coster    store.Coster    // cost panels; nil hides them
	searcher  store.Searcher  // the search index's lag; nil says nothing
}

func capabilitiesOf(r store.Reader) capabilities {
	var c capabilities
	c.annotator, _ = r.(store.Annotator)
	c.coster, _ = r.(store.Coster)
	c.searcher, _ = r.(store.Searcher)
	return c
}
