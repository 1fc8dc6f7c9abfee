package browser_test

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loupe-dev/loupe/e2e/e2etest"
)

// TestPagesOnOtherSitesCannotWrite is a developer with Loupe running on
// their machine who visits a hostile page: the page makes their browser
// send the writes a browser sends without asking first (text/plain fetches
// and a form posting JSON-looking text), and none of them changes anything.
func TestPagesOnOtherSitesCannotWrite(t *testing.T) {
	srv := e2etest.Start(t, e2etest.Build(t))
	// A span for the page to try to annotate.
	resp, err := http.Post(srv.HTTPURL+"/v1/traces", "application/json", strings.NewReader(`{"resourceSpans":[{"scopeSpans":[{"spans":[
		{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"llm","startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000001000000000"}]}]}]}`))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("store a span: %v %v", err, resp)
	}
	resp.Body.Close()
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, hostilePage(srv.HTTPURL))
	}))
	defer evil.Close()
	// localhost and 127.0.0.1 are different sites to the browser.
	_, port, _ := net.SplitHostPort(evil.Listener.Addr().String())
	p := newPage(t, "http://localhost:"+port)
	p.open("/")
	p.waitFor("the hostile page to send everything", `document.title === "sent"`, 20*time.Second)
	p.shot("hostile-page")

	var projects struct {
		Data []struct{ Name, Description string }
	}
	srv.GetJSON(t, "/v1/projects", &projects)
	for _, pr := range projects.Data {
		if strings.Contains(pr.Name, "evil") || strings.Contains(pr.Description, "evil") {
			t.Errorf("a page on another site changed project %q (%q)", pr.Name, pr.Description)
		}
	}
	var anns struct{ Data []map[string]any }
	srv.GetJSON(t, "/v1/projects/default/span_annotations?span_ids=eee19b7ec3c1b174", &anns)
	if len(anns.Data) != 0 {
		t.Errorf("a page on another site annotated a span: %v", anns.Data)
	}
}

// hostilePage sends writes to target the way any web page can: fetches in
// no-cors mode with a text/plain body, and a text/plain form whose one
// field spells a JSON object.
func hostilePage(target string) string {
	return `<!doctype html><title>loading</title>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" enctype="text/plain" target="sink" action="` + target + `/v1/projects">
<input type="hidden" name='{"name":"evil-form","x":"' value='"}'>
</form>
<script>
const target = ` + jsString(target) + `;
const writes = [
  ["POST", "/v1/projects", '{"name":"evil-fetch"}'],
  ["POST", "/v1/span_annotations?sync=true", '{"data":[{"span_id":"eee19b7ec3c1b174","name":"evil","annotator_kind":"HUMAN","result":{"label":"x"}}]}'],
  ["POST", "/v1/model_prices/recompute", ''],
];
(async () => {
  for (const [method, path, body] of writes) {
    try {
      await fetch(target + path, {method, mode: "no-cors", headers: {"Content-Type": "text/plain"}, body: body || undefined});
    } catch (e) {}
  }
  const sink = document.querySelector("iframe");
  const posted = new Promise(resolve => sink.addEventListener("load", resolve, {once: true}));
  document.getElementById("f").submit();
  await Promise.race([posted, new Promise(r => setTimeout(r, 5000))]);
  document.title = "sent";
})();
</script>`
}
