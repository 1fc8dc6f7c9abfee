package view

import (
	"bytes"
	"html/template"
	"net/url"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/parser"
	"github.com/yuin/goldmark/renderer/html"
	"github.com/yuin/goldmark/text"
	"github.com/yuin/goldmark/util"
)

// markdown renders model text the way a chat client would, and only as
// safely as plain text: goldmark's HTML renderer is used without its
// unsafe option, so raw HTML in the text is dropped, and safeLinks keeps
// only links a reader can follow without running anything.
var markdown = goldmark.New(
	goldmark.WithExtensions(extension.Table, extension.Strikethrough, extension.TaskList, extension.Linkify),
	goldmark.WithParserOptions(parser.WithASTTransformers(util.Prioritized(safeLinks{}, 0))),
	// A model's single newlines are meant as line breaks (a log, an
	// address), as chat clients show them.
	goldmark.WithRendererOptions(html.WithHardWraps()),
)

// Markdown renders s, text a model or a user wrote, as HTML. Raw HTML is
// left out; a link whose address is not http, https, mailto or relative
// loses it; images become links, so opening a span never fetches from
// addresses chosen by the text.
func Markdown(s string) template.HTML {
	var buf bytes.Buffer
	if err := markdown.Convert([]byte(s), &buf); err != nil {
		// Convert fails only when the writer does; a bytes.Buffer does not.
		return template.HTML(template.HTMLEscapeString(s))
	}
	return template.HTML(buf.String())
}

// RenderMarkdown fills in the Markdown of the texts a person reads as prose:
// the messages of a transcript and plain (non-JSON) input and output.
func (v *Span) RenderMarkdown() {
	for _, t := range []*Text{&v.Input, &v.Output} {
		t.renderMarkdown()
	}
	if v.LLM == nil {
		return
	}
	for _, msgs := range [][]Message{v.LLM.Input, v.LLM.Output} {
		for i := range msgs {
			msgs[i].Content.renderMarkdown()
			for k := range msgs[i].Parts {
				msgs[i].Parts[k].Text.renderMarkdown()
			}
		}
	}
}

func (t *Text) renderMarkdown() {
	if t.JSON || t.Value == "" {
		return
	}
	t.Markdown = Markdown(t.Value)
}

type safeLinks struct{}

// linkRel keeps a followed link from reaching back into the page that
// opened it, and from lending it any standing.
const linkRel = "noopener noreferrer nofollow"

func (safeLinks) Transform(doc *ast.Document, reader text.Reader, _ parser.Context) {
	source := reader.Source()
	var images []*ast.Image
	var unsafe []*ast.AutoLink
	ast.Walk(doc, func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering {
			return ast.WalkContinue, nil
		}
		switch n := n.(type) {
		case *ast.Link:
			n.Destination = safeURL(n.Destination)
			n.Title = nil
			n.SetAttributeString("rel", []byte(linkRel))
		case *ast.AutoLink:
			if len(safeURL(n.URL(source))) == 0 {
				unsafe = append(unsafe, n)
				return ast.WalkContinue, nil
			}
			n.SetAttributeString("rel", []byte(linkRel))
		case *ast.Image:
			images = append(images, n)
		}
		return ast.WalkContinue, nil
	})
	// Nodes are replaced after the walk, which would stop at a node taken
	// out of the tree under it.
	for _, n := range unsafe {
		// An autolink shows its address as its text; as plain text it says
		// the same without being followable.
		n.Parent().ReplaceChild(n.Parent(), n, ast.NewString(n.Label(source)))
	}
	for _, img := range images {
		link := ast.NewLink()
		link.Destination = safeURL(img.Destination)
		link.SetAttributeString("rel", []byte(linkRel))
		for c := img.FirstChild(); c != nil; {
			next := c.NextSibling()
			link.AppendChild(link, c)
			c = next
		}
		if link.ChildCount() == 0 {
			link.AppendChild(link, ast.NewString([]byte("image")))
		}
		img.Parent().ReplaceChild(img.Parent(), img, link)
	}
}

// safeURL is dest when following it runs nothing: an http, https or mailto
// address, or one relative to the page (an anchor, a path). Anything else
// (javascript:, data:, vbscript:, file:, a scheme hidden behind control
// characters or entities, which the parser has already decoded) is
// emptied.
func safeURL(dest []byte) []byte {
	s := strings.TrimSpace(string(dest))
	u, err := url.Parse(s)
	if err != nil {
		return nil
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "mailto":
		return []byte(s)
	case "":
		// A relative address must not smuggle a scheme the browser would
		// still honour (url.Parse rejects most; a leading "//" is another
		// host, which is as safe as https).
		if strings.ContainsAny(s, "\x00\t\n\r\\") || strings.Contains(strings.ToLower(s), "script:") {
			return nil
		}
		return []byte(s)
	}
	return nil
}
