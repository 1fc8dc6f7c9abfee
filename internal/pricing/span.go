package pricing

import (
	"strconv"
	"strings"

	"github.com/loupe-dev/loupe/internal/span"
)

// PriceSpan sets sp.View.Cost for LLM and embedding spans that report
// tokens or a cost. A model without a price gets span.CostNoPrice, never $0.
// An embedding call bills its prompt tokens (llm.token_count.prompt, or the
// total when only that is sent) at the model's input rate.
func (t *Table) PriceSpan(sp *span.Span) {
	v := &sp.View
	v.Cost = span.Cost{}
	if v.Kind != span.KindLLM && v.Kind != span.KindEmbedding {
		return
	}
	tokens := Tokens{Prompt: v.Tokens.Prompt, Completion: v.Tokens.Completion, Total: v.Tokens.Total,
		CacheRead: v.Tokens.CacheRead, CacheWrite: v.Tokens.CacheWrite, AudioPrompt: v.Tokens.AudioPrompt,
		Reasoning: v.Tokens.Reasoning, AudioCompletion: v.Tokens.AudioCompletion}
	var client ClientCost
	for _, a := range sp.Attributes {
		if !strings.HasPrefix(a.Key, "llm.cost.") {
			continue
		}
		if f, ok := attrFloat(a.Value); ok {
			client.SetAttribute(a.Key, f)
		}
	}
	if tokens.Prompt+tokens.Completion+tokens.Total == 0 && client.empty() {
		return
	}
	c, err := t.Cost(v.ModelName, v.Provider, tokens, client)
	if err != nil {
		v.Cost = span.Cost{Status: span.CostNoPrice}
		return
	}
	v.Cost = span.Cost{Status: span.CostPriced, Total: c.Total, Prompt: c.Prompt, Completion: c.Completion,
		Source: c.Source.String(), Entry: c.EntryName, Details: detailsJSON(&c)}
}

func attrFloat(v span.Value) (float64, bool) {
	switch v.Type {
	case span.TypeDouble:
		return v.Float, true
	case span.TypeInt:
		return float64(v.Int), true
	case span.TypeString:
		f, err := strconv.ParseFloat(v.Str, 64)
		return f, err == nil
	}
	return 0, false
}

func detailsJSON(c *Cost) string {
	b := []byte{'{'}
	first := true
	for tt := TokenType(0); tt < NumTokenTypes; tt++ {
		d := c.Details[tt]
		if d.Tokens == 0 && d.Cost == 0 {
			continue
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, tt.String()...)
		b = append(b, `":{"tokens":`...)
		b = strconv.AppendInt(b, d.Tokens, 10)
		b = append(b, `,"cost":`...)
		b = strconv.AppendFloat(b, d.Cost, 'g', -1, 64)
		b = append(b, `,"rate":`...)
		b = strconv.AppendFloat(b, d.Rate, 'g', -1, 64)
		b = append(b, '}')
	}
	return string(append(b, '}'))
}
