package agentdemo

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
)

// chunk is a piece of the documentation the agent searches.
type chunk struct {
	ID    string
	Title string
	Text  string
}

var corpus = []chunk{
	{"install-1", "Running Loupe", "Run loupe serve. It listens for OTLP over HTTP on port 6006 and over gRPC on port 4317, and stores traces in SQLite under ~/.loupe."},
	{"sdk-setup-1", "Go SDK setup", "To send traces from Go, call loupe.Register(ctx) once at start-up: it exports OTLP over HTTP to PHOENIX_COLLECTOR_ENDPOINT, default http://localhost:6006. Call the returned shutdown function before exit so queued spans are sent."},
	{"sdk-spans-1", "Go SDK spans", "Build a tracer with loupe.NewTracer(tp) and start typed spans: StartLLM, StartTool, StartRetriever, StartAgent and the other OpenInference kinds."},
	{"sdk-context-1", "Sessions and users", "loupe.WithSession and loupe.WithUser put a session id and user id on the context; every span started under it carries them."},
	{"projects-1", "Projects", "Spans go to the project named by PHOENIX_PROJECT_NAME, sent as the resource attribute openinference.project.name; without one they go to the project default."},
}

var stopWords = []string{"a", "an", "and", "do", "from", "how", "i", "in", "is", "of", "the", "to", "what"}

// words splits text into lower-case words without stop words.
func words(text string) []string {
	ws := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
	return slices.DeleteFunc(ws, func(w string) bool { return slices.Contains(stopWords, w) })
}

// search scores every chunk by the share of query words it contains and
// returns the best ones first.
func search(query string, limit int) []scoredChunk {
	qs := words(query)
	var hits []scoredChunk
	for _, c := range corpus {
		text := words(c.Title + " " + c.Text)
		n := 0
		for _, w := range qs {
			if slices.Contains(text, w) {
				n++
			}
		}
		if n > 0 {
			hits = append(hits, scoredChunk{chunk: c, Score: float64(n) / float64(len(qs))})
		}
	}
	slices.SortStableFunc(hits, func(a, b scoredChunk) int { return cmp.Compare(b.Score, a.Score) })
	return hits[:min(limit, len(hits))]
}

type scoredChunk struct {
	chunk
	Score float64
}

func chunkByID(id string) (chunk, bool) {
	i := slices.IndexFunc(corpus, func(c chunk) bool { return c.ID == id })
	if i < 0 {
		return chunk{}, false
	}
	return corpus[i], true
}
