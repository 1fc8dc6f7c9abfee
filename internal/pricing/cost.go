package pricing

// Source says where a cost figure came from.
type Source uint8

const (
	SourceNone     Source = iota // no figure
	SourceComputed               // computed from the price table
	SourceClient                 // sent by the client as llm.cost.*
	SourceMixed                  // client figures completed with computed ones
)

var sourceNames = [...]string{"", "computed", "client", "mixed"}

func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "invalid"
}

// MarshalText renders the source as "computed", "client" or "mixed".
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Detail is the cost of one token class.
type Detail struct {
	Tokens int64
	Cost   float64 // USD
	Rate   float64 // USD per token that produced Cost (Cost/Tokens for client figures)
	Source Source
}

// Cost is the cost of one span in USD.
type Cost struct {
	Total      float64
	Prompt     float64
	Completion float64
	Details    [NumTokenTypes]Detail

	EntryName    string // the price entry used, empty when none matched
	ModelPattern string // its pattern
	Source       Source
	// LongContext is set when a long-context tier's rates applied.
	LongContext bool
	// Partial is set when the model has no price and some tokens had no
	// client figure either: they were counted as 0, so Total understates
	// the real cost.
	Partial bool
}

// Detail returns the cost of one token class.
func (c *Cost) Detail(t TokenType) Detail { return c.Details[t] }

// PromptTokens and CompletionTokens return the token counts the cost was
// computed from, after the repairs described in the package documentation.
func (c *Cost) PromptTokens() int64 {
	return c.Details[Input].Tokens + c.Details[CacheRead].Tokens + c.Details[CacheWrite].Tokens + c.Details[AudioInput].Tokens
}

func (c *Cost) CompletionTokens() int64 {
	return c.Details[Output].Tokens + c.Details[Reasoning].Tokens + c.Details[AudioOutput].Tokens
}

var (
	promptTypes     = [...]TokenType{Input, CacheRead, CacheWrite, AudioInput}
	completionTypes = [...]TokenType{Output, Reasoning, AudioOutput}
)

// Cost prices one LLM span. Figures the client sent (llm.cost.*) win over
// computed ones:
//   - a client detail (say llm.cost.prompt_details.cache_read) replaces the
//     computed cost of that class;
//   - a client side total (llm.cost.prompt or llm.cost.completion) is that
//     side's cost, and then only the client's details are shown for it,
//     since computed ones might not add up to it;
//   - without a client side total, a side is the sum of its details;
//   - llm.cost.total, when sent, is the total even if it disagrees with the
//     sides; otherwise the total is prompt + completion.
//
// Negative, NaN and infinite client figures are ignored. When the model has
// no price and the client sent no usable cost, the error matches ErrNoPrice
// and the returned Cost still carries the token counts.
func (t *Table) Cost(model, provider string, tokens Tokens, client ClientCost) (Cost, error) {
	var out Cost
	counts := splitTokens(tokens)
	for tt, n := range counts {
		out.Details[tt].Tokens = n
	}

	r := t.lookup(model, provider)
	if r.entry == nil && client.empty() {
		return out, r.err
	}
	var rates perToken
	if r.entry != nil {
		out.EntryName, out.ModelPattern = r.entry.Name, r.entry.Pattern
		rates, out.LongContext = r.entry.ratesFor(counts.prompt())
	}

	var usedClient, usedComputed bool
	side := func(types []TokenType, clientSide Amount) float64 {
		sum := 0.0
		for _, tt := range types {
			d := &out.Details[tt]
			switch a := client.Details[tt]; {
			case a.usable():
				d.Cost, d.Source = a.USD, SourceClient
				if d.Tokens > 0 {
					d.Rate = a.USD / float64(d.Tokens)
				}
				usedClient = true
			case clientSide.usable():
				continue
			case r.entry != nil:
				d.Rate = rates[tt]
				d.Cost = float64(d.Tokens) * d.Rate
				d.Source = SourceComputed
				usedComputed = true
			case d.Tokens > 0:
				out.Partial = true
				continue
			}
			sum += d.Cost
		}
		if clientSide.usable() {
			usedClient = true
			return clientSide.USD
		}
		return sum
	}
	out.Prompt = side(promptTypes[:], client.Prompt)
	out.Completion = side(completionTypes[:], client.Completion)
	if client.Total.usable() {
		out.Total = client.Total.USD
		out.Partial = false
		usedClient = true
	} else {
		out.Total = out.Prompt + out.Completion
	}

	switch {
	case usedClient && usedComputed:
		out.Source = SourceMixed
	case usedClient:
		out.Source = SourceClient
	default:
		out.Source = SourceComputed
	}
	return out, nil
}

// tokenCounts are token counts per class after repair.
type tokenCounts [NumTokenTypes]int64

func (c tokenCounts) prompt() int64 {
	return c[Input] + c[CacheRead] + c[CacheWrite] + c[AudioInput]
}

// splitTokens turns OpenInference counts into disjoint per-class counts.
// It repairs the ways real emitters break the convention:
//   - a missing prompt or completion count is inferred from the total;
//   - a completion that leaves out reasoning tokens, detected by the total
//     exceeding prompt+completion by exactly the reasoning count (xAI
//     reports usage this way), gets them added back;
//   - a prompt (completion) smaller than its own details evidently excludes
//     them (Anthropic's raw input_tokens), so the details are added to it.
//
// Negative counts are treated as zero.
func splitTokens(t Tokens) tokenCounts {
	nn := func(v int64) int64 { return max(v, 0) }
	prompt, completion, total := nn(t.Prompt), nn(t.Completion), nn(t.Total)
	cacheRead, cacheWrite, audioIn := nn(t.CacheRead), nn(t.CacheWrite), nn(t.AudioPrompt)
	reasoning, audioOut := nn(t.Reasoning), nn(t.AudioCompletion)

	switch {
	case prompt == 0 && total > completion:
		prompt = total - completion
	case completion == 0 && total > prompt:
		completion = total - prompt
	case reasoning > 0 && total-prompt-completion == reasoning:
		completion += reasoning
	}
	if d := cacheRead + cacheWrite + audioIn; d > prompt {
		prompt += d
	}
	if d := reasoning + audioOut; d > completion {
		completion += d
	}

	var c tokenCounts
	c[CacheRead], c[CacheWrite], c[AudioInput] = cacheRead, cacheWrite, audioIn
	c[Input] = prompt - cacheRead - cacheWrite - audioIn
	c[Reasoning], c[AudioOutput] = reasoning, audioOut
	c[Output] = completion - reasoning - audioOut
	return c
}
