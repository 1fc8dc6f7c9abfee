package web

import (
	"io/fs"
	"regexp"
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

// countNoun is a count written before a plural noun without the plural
// helper: "{{num .Count}} spans" reads "1 spans" when the count is 1.
var countNoun = regexp.MustCompile(`\{\{(num\b|len\b|\.[A-Z])[^{}]*\}\}(</b>)? (more |earlier |failed |error |tool |model )?[a-z]+s\b`)

// TestCountsAgreeWithNouns fails on a template that writes a count before
// a plural noun itself: counts go through plural.
func TestCountsAgreeWithNouns(t *testing.T) {
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(templateFS, path)
		if err != nil {
			return err
		}
		for _, m := range countNoun.FindAllString(string(b), -1) {
			t.Errorf("%s: %q: write the count with {{plural n \"one\" \"many\"}}", path, m)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
