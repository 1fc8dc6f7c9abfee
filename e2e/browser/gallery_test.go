package browser_test

import (
	"bytes"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// galleryPage is one page of the screenshot gallery: name is the file
// (name.png, name-dark.png), path the page, ready a JavaScript condition
// that holds once it shows what it is for; cookie, if set, is a reader's
// choice the page is shown with (loupe_text=markdown).
type galleryPage struct {
	name, path, ready string
	cookie            string
}

// TestScreenshotGallery takes a 1440×900 screenshot of every page, light
// and dark, over a realistic demo dataset, for the README. It runs only
// when LOUPE_GALLERY names the folder to write to (docs/screenshots, from
// the repository root, to refresh the committed gallery):
//
//	LOUPE_GALLERY=docs/screenshots go test ./e2e/browser -run TestScreenshotGallery
func TestScreenshotGallery(t *testing.T) {
	dir := os.Getenv("LOUPE_GALLERY")
	if dir == "" {
		t.Skip("set LOUPE_GALLERY=docs/screenshots to take the gallery's screenshots")
	}
	if !filepath.IsAbs(dir) {
		root, err := filepath.Abs("../..")
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(root, dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}

	srv := e2etest.StartEnv(t, e2etest.Build(t), e2etest.AuthEnv())
	_, key := srv.SystemKey(t, "demo")
	d := loadDemo(t, srv, key)

	p := newPage(t, srv.HTTPURL)
	project := "/projects/support-bot"
	p.open(project)
	shootPage(t, p, dir, galleryPage{"login", "", `!!document.querySelector(".authcard")`, ""})
	p.logIn("admin", "admin")
	p.waitFor("the password page", `location.pathname === "/password"`, 10*time.Second)
	p.choosePassword("admin", "correct-horse-battery")
	p.waitFor("the project", `location.pathname === "/projects/support-bot"`, 10*time.Second)

	// Adding a page to the gallery is one line here.
	pages := []galleryPage{
		{"home", "/", `!!document.querySelector("table.grid")`, ""},
		{"traces", project, `!!document.querySelector("table.grid tbody tr")`, ""},
		{"traces-errors", project + "?errors=1", `!!document.querySelector("table.grid tbody tr")`, ""},
		{"spans", project + "/spans", `!!document.querySelector("table.grid tbody tr")`, ""},
		{"spans-costliest", project + "/spans?kind=LLM&sort=cost", `!!document.querySelector("table.grid tbody tr")`, ""},
		{"errors", project + "/errors", `!!document.querySelector("table.errgroups tbody tr")`, ""},
		{"sessions", project + "/sessions", `!!document.querySelector("table.grid tbody tr")`, ""},
		{"session", project + "/sessions/" + url.PathEscape(d.session), `!!document.querySelector(".conversation")`, ""},
		{"trace", project + "/traces/" + d.agent, `!!document.querySelector(".detail")`, ""},
		{"trace-error", project + "/traces/" + d.failed, `!!document.querySelector(".detail .exception")`, ""},
		{"span-messages", project + "/traces/" + d.long, `!!document.querySelector(".detail .msg")`, ""},
		{"span-markdown", project + "/traces/" + d.long + "?tab=overview#msg-out-0", `!!document.querySelector(".detail .mdbody")`, "loupe_text=markdown"},
		{"span-retriever", project + "/traces/" + d.agent + "?span=" + d.retriever, `!!document.querySelector(".detail .docs")`, ""},
		{"trace-big", project + "/traces/" + d.big, `!!document.querySelector(".tree .row")`, ""},
		{"metrics", project + "/metrics?range=1d", `!!document.querySelector(".chart")`, ""},
		{"prompts", project + "/prompts?range=1d", `!!document.querySelector("main table")`, ""},
		{"annotation-configs", "/annotation-configs", `!!document.querySelector("main h1")`, ""},
		{"prices", "/prices", `!!document.querySelector("main table")`, ""},
		{"storage", "/storage", `!!document.querySelector("main h1")`, ""},
		{"settings", "/settings", `!!document.querySelector(".settings")`, ""},
		{"not-found", "/no/such/page", `!!document.querySelector(".notfound")`, ""},
	}
	for _, pg := range pages {
		if pg.cookie != "" {
			p.do("choose "+pg.cookie, chromedp.Evaluate[chromedp.Void](`document.cookie = `+jsString(pg.cookie+"; path=/")))
		}
		p.open(pg.path)
		shootPage(t, p, dir, pg)
		if name, _, ok := strings.Cut(pg.cookie, "="); ok {
			p.do("forget "+name, chromedp.Evaluate[chromedp.Void](`document.cookie = `+jsString(name+"=; path=/; max-age=0")))
		}
	}
}

// shootPage waits for the page and its deferred parts, then saves it light
// and dark.
func shootPage(t *testing.T, p *page, dir string, pg galleryPage) {
	t.Helper()
	p.waitFor(pg.name+" to show", pg.ready+` && !document.querySelector("[data-defer]")`, 15*time.Second)
	// Let charts lay out and the live stream settle before the picture.
	time.Sleep(300 * time.Millisecond)
	for _, dark := range []bool{false, true} {
		p.darkMode(dark)
		name := pg.name
		if dark {
			name += "-dark"
		}
		savePNG(t, p, filepath.Join(dir, name+".png"))
	}
	p.darkMode(false)
}

// savePNG saves the viewport, recompressed: the gallery is committed.
func savePNG(t *testing.T, p *page, path string) {
	t.Helper()
	raw := run(p, "screenshot "+path, chromedp.CaptureScreenshot())
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("gallery: %s (%d KB)", path, buf.Len()>>10)
}

// demo is what the gallery's pages open.
type demo struct {
	agent, failed, long, big string // trace ids
	retriever                string // a retriever span of agent, its documents annotated
	session                  string
}

// loadDemo fills the server with the data a team running a support agent
// has after a day: agent runs in conversations, some failing, a long
// streamed call, prompt versions with scores, a very big run, relevance
// of retrieved documents and satisfaction of sessions.
func loadDemo(t *testing.T, srv *e2etest.Server, key string) demo {
	t.Helper()
	app := newEmitterWithKey(t, srv.HTTPURL, "support-bot", key)
	now := time.Now()
	var d demo
	questions := []turn{
		{Question: "What is our refund policy?", Answer: "Refunds are accepted within 30 days with the receipt.", Session: "conv-42", User: "alice@acme.test"},
		{Question: "Can I return an opened item?", Answer: "Only unused items in their original packaging can be returned.", Session: "conv-42", User: "alice@acme.test"},
		{Question: "Who pays for return shipping?", Answer: "Return shipping is free for members.", Session: "conv-42", User: "alice@acme.test"},
		{Question: "Where is order #4411?", Answer: "It left the warehouse yesterday and arrives on Monday.", Session: "conv-51", User: "bob@acme.test"},
		{Question: "Can I change the delivery address?", Answer: "Yes, until the order ships: open the order and choose Edit address.", Session: "conv-51", User: "bob@acme.test"},
		{Question: "Do you ship to Norway?", Answer: "Yes, to every EEA country, in 3 to 5 working days.", Session: "conv-63", User: "carol@acme.test"},
		{Question: "How do I cancel my membership?", Answer: "Open Account, then Membership, then Cancel; it runs to the end of the month.", Session: "conv-70", User: "dave@acme.test"},
	}
	for i, q := range questions {
		id := app.agentRun(now.Add(-time.Duration(7-i)*47*time.Minute), q)
		if i == 0 {
			d.agent = id
		}
	}
	d.failed = app.failingRun(now.Add(-25*time.Minute), turn{Question: "Summarise my last five orders", Session: "conv-77", User: "erin@acme.test"})
	app.failingRun(now.Add(-3*time.Hour), turn{Question: "Export my invoices as PDF", Session: "conv-63", User: "carol@acme.test"})
	d.long = app.longConversation(now.Add(-12*time.Minute), 13, "gpt-4o-mini", 0)
	d.big = app.bigRun(now.Add(-90 * time.Minute))
	app.houseModelCall(now.Add(-30 * time.Minute)) // a model no price covers
	var scores []map[string]any
	for i, v := range []string{"v1", "v1", "v1", "v2", "v2", "v2", "v2", "v3", "v3", "v3"} {
		spanID := app.versionedCall(now.Add(-time.Duration(20-i)*time.Hour/2), v, v == "v2" && i%2 == 0)
		score := map[string]float64{"v1": 0.8, "v2": 0.3, "v3": 0.9}[v]
		if i%3 == 0 {
			score -= 0.2
		}
		scores = append(scores, map[string]any{"span_id": spanID, "name": "correctness", "annotator_kind": "LLM",
			"result": map[string]any{"score": score, "label": map[bool]string{true: "correct", false: "incorrect"}[score >= 0.5]}})
	}
	batch := newEmitterWithKey(t, srv.HTTPURL, "batch-jobs", key)
	batch.chain(now.Add(-2*time.Hour), "export.orders", "orders for 2026-11")
	batch.chain(now.Add(-5*time.Hour), "nightly.reindex", "reindex the help centre")
	app.flush()
	batch.flush()

	post := func(path string, body any) {
		t.Helper()
		if code, out := srv.Do(t, "POST", path, key, body); code != http.StatusOK {
			t.Fatalf("POST %s: %d %s", path, code, out)
		}
	}
	post("/v1/span_annotations?sync=true", map[string]any{"data": scores})

	var spans struct {
		Data []struct {
			Context struct {
				TraceID string `json:"trace_id"`
				SpanID  string `json:"span_id"`
			} `json:"context"`
		} `json:"data"`
	}
	getJSON(t, srv, "/v1/projects/support-bot/spans?name=retrieval&limit=100", key, &spans)
	var docs []map[string]any
	for _, s := range spans.Data {
		if s.Context.TraceID == d.agent {
			d.retriever = s.Context.SpanID
		}
		for pos, label := range []string{"relevant", "relevant", "irrelevant"} {
			docs = append(docs, map[string]any{"span_id": s.Context.SpanID, "document_position": pos, "name": "relevance",
				"annotator_kind": "LLM", "result": map[string]any{"label": label, "score": map[string]float64{"relevant": 1, "irrelevant": 0}[label]}})
		}
	}
	if d.retriever == "" {
		t.Fatal("no retriever span in the first agent run")
	}
	post("/v1/document_annotations?sync=true", map[string]any{"data": docs})
	var csat []map[string]any
	for s, score := range map[string]float64{"conv-42": 5, "conv-51": 4, "conv-63": 2, "conv-70": 4, "conv-77": 1} {
		csat = append(csat, map[string]any{"session_id": s, "name": "csat", "annotator_kind": "HUMAN",
			"result": map[string]any{"score": score}})
	}
	post("/v1/session_annotations?sync=true", map[string]any{"data": csat})
	d.session = "conv-42"
	return d
}
