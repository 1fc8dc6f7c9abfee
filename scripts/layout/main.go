// Command layout writes the README's "Layout" section from the doc comment
// of every Go package in the tree, so that the map a newcomer reads cannot
// drift from the code: `go run ./scripts/layout -w` rewrites it, and
// `go run ./scripts/layout` (which the test command runs) fails when it is
// out of date.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

const (
	begin = "<!-- layout: written by `go run ./scripts/layout -w` from the package doc comments -->\n"
	end   = "<!-- end of layout -->\n"
)

func main() {
	write := flag.Bool("w", false, "rewrite README.md instead of checking it")
	flag.Parse()
	if err := run(".", "README.md", *write); err != nil {
		fmt.Fprintln(os.Stderr, "layout:", err)
		os.Exit(1)
	}
}

func run(root, readme string, write bool) error {
	table, err := layout(root)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(filepath.Join(root, readme))
	if err != nil {
		return err
	}
	start, stop := bytes.Index(old, []byte(begin)), bytes.Index(old, []byte(end))
	if start < 0 || stop < start {
		return fmt.Errorf("%s has no %q … %q markers", readme, strings.TrimSpace(begin), strings.TrimSpace(end))
	}
	updated := slices.Concat(old[:start+len(begin)], []byte(table), old[stop:])
	if bytes.Equal(updated, old) {
		return nil
	}
	if !write {
		return fmt.Errorf("the layout in %s is out of date: run go run ./scripts/layout -w", readme)
	}
	return os.WriteFile(filepath.Join(root, readme), updated, 0o644)
}

// layout lists every directory holding Go files with the first sentence of
// its package's doc comment, as a fenced block.
func layout(root string) (string, error) {
	type row struct{ dir, doc string }
	var rows []row
	var missing []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "node_modules") {
			return filepath.SkipDir
		}
		doc, ok, err := packageDoc(path)
		switch {
		case err != nil:
			return err
		case !ok:
			return nil
		case doc == "":
			missing = append(missing, path)
		}
		rows = append(rows, row{filepath.ToSlash(path) + "/", doc})
		return nil
	})
	if err != nil {
		return "", err
	}
	if len(missing) > 0 {
		return "", fmt.Errorf("packages without a doc comment: %s", strings.Join(missing, ", "))
	}
	var b strings.Builder
	b.WriteString("| directory | what it is |\n| --- | --- |\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| `%s` | %s |\n", r.dir, strings.ReplaceAll(r.doc, "|", `\|`))
	}
	return b.String(), nil
}

var (
	lead        = regexp.MustCompile(`^(Package|Command) \S+ (is )?`)
	sentenceEnd = regexp.MustCompile(`[.:]( |$)`)
)

// packageDoc returns the doc comment of the package in dir (a test-only
// package's doc counts) up to the end of its first sentence or its first
// colon, whichever comes first, and whether dir holds Go files.
func packageDoc(dir string) (string, bool, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil || len(files) == 0 {
		return "", false, err
	}
	slices.Sort(files)
	fset := token.NewFileSet()
	for _, f := range files {
		parsed, err := parser.ParseFile(fset, f, nil, parser.PackageClauseOnly|parser.ParseComments)
		if err != nil {
			return "", true, fmt.Errorf("read %s: %w", f, err)
		}
		if parsed.Doc == nil {
			continue
		}
		text := strings.Join(strings.Fields(parsed.Doc.Text()), " ")
		if loc := sentenceEnd.FindStringIndex(text); loc != nil {
			text = text[:loc[0]]
		}
		return lead.ReplaceAllString(text, ""), true, nil
	}
	return "", true, nil
}
