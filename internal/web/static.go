package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
)

//go:embed static
var staticFS embed.FS

// staticVersion is a hash of every static file. URLs carry it as a
// directory (/static/<version>/app.js), so the files can be cached forever,
// and the modules' relative imports resolve to the same version.
var staticVersion = hashStatic()

func hashStatic() string {
	names, err := fs.Glob(staticFS, "static/*")
	if err != nil {
		panic(err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		b, err := staticFS.ReadFile(n)
		if err != nil {
			panic(err)
		}
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

func assetURL(name string) string { return "/static/" + staticVersion + "/" + name }

func serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("file")
	b, err := staticFS.ReadFile("static/" + path.Base(name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if path.Ext(name) == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.PathValue("version") == staticVersion {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// A page from before an upgrade asks for the old version: give it
		// today's file, but don't let it be cached under the old name.
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Write(b)
}
