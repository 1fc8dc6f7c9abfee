package web

import (
	"io/fs"
	"strings"
	"testing"
)

// TestEveryTemplateDeclared fails on a file under templates/ that no page
// is parsed with: one the registry in templates.go does not name.
func TestEveryTemplateDeclared(t *testing.T) {
	declared := map[string]bool{}
	for _, f := range shared {
		declared[f] = true
	}
	for name, partials := range pages {
		declared["pages/"+name+".html"] = true
		for _, f := range partials {
			declared[f] = true
		}
	}
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !declared[strings.TrimPrefix(path, "templates/")] {
			t.Errorf("%s is declared nowhere: name it in shared, or with the pages that use it, in templates.go", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
