package pricing

import (
	"fmt"
	"math"
)

// TokenType is a billing class of tokens. Prompt-side classes come first.
type TokenType uint8

// The billing classes. Input and Output are the plain text remainders of the
// prompt and completion once the other classes are taken out.
const (
	Input TokenType = iota
	CacheRead
	CacheWrite
	AudioInput
	Output
	Reasoning
	AudioOutput

	// NumTokenTypes sizes arrays indexed by TokenType.
	NumTokenTypes = 7
)

var tokenTypeNames = [NumTokenTypes]string{
	Input:       "input",
	CacheRead:   "cache_read",
	CacheWrite:  "cache_write",
	AudioInput:  "audio_input",
	Output:      "output",
	Reasoning:   "reasoning",
	AudioOutput: "audio_output",
}

// TokenTypes lists every class in a stable order.
var TokenTypes = [NumTokenTypes]TokenType{Input, CacheRead, CacheWrite, AudioInput, Output, Reasoning, AudioOutput}

func (t TokenType) String() string {
	if int(t) < NumTokenTypes {
		return tokenTypeNames[t]
	}
	return fmt.Sprintf("TokenType(%d)", uint8(t))
}

// IsPrompt reports whether the class is billed on the prompt side.
func (t TokenType) IsPrompt() bool { return t < Output }

// fallback is the class whose rate applies when t has none of its own: the
// provider bills those tokens like plain input or output (Phoenix does the same).
func (t TokenType) fallback() TokenType {
	if t.IsPrompt() {
		return Input
	}
	return Output
}

// MarshalText makes TokenType usable as a JSON object key.
func (t TokenType) MarshalText() ([]byte, error) {
	if int(t) >= NumTokenTypes {
		return nil, fmt.Errorf("pricing: invalid token type %d", uint8(t))
	}
	return []byte(tokenTypeNames[t]), nil
}

// UnmarshalText accepts the names used in price files.
func (t *TokenType) UnmarshalText(b []byte) error {
	tt, ok := ParseTokenType(string(b))
	if !ok {
		return fmt.Errorf("unknown token type %q", b)
	}
	*t = tt
	return nil
}

// ParseTokenType maps a price-file name such as "cache_read" to its TokenType.
func ParseTokenType(s string) (TokenType, bool) {
	for i, n := range tokenTypeNames {
		if n == s {
			return TokenType(i), true
		}
	}
	return 0, false
}

// Tokens are a span's OpenInference token counts (llm.token_count.*).
// Following OpenInference, Prompt includes CacheRead, CacheWrite and
// AudioPrompt, and Completion includes Reasoning and AudioCompletion; see the
// package documentation for how counts that break that rule are repaired.
type Tokens struct {
	Prompt          int64 // llm.token_count.prompt
	Completion      int64 // llm.token_count.completion
	Total           int64 // llm.token_count.total
	CacheRead       int64 // llm.token_count.prompt_details.cache_read
	CacheWrite      int64 // llm.token_count.prompt_details.cache_write
	AudioPrompt     int64 // llm.token_count.prompt_details.audio
	Reasoning       int64 // llm.token_count.completion_details.reasoning
	AudioCompletion int64 // llm.token_count.completion_details.audio
}

// SetAttribute stores an llm.token_count.* attribute value and reports
// whether key was one of them.
func (t *Tokens) SetAttribute(key string, v int64) bool {
	var p *int64
	switch key {
	case "llm.token_count.prompt":
		p = &t.Prompt
	case "llm.token_count.completion":
		p = &t.Completion
	case "llm.token_count.total":
		p = &t.Total
	case "llm.token_count.prompt_details.cache_read":
		p = &t.CacheRead
	case "llm.token_count.prompt_details.cache_write":
		p = &t.CacheWrite
	case "llm.token_count.prompt_details.audio":
		p = &t.AudioPrompt
	case "llm.token_count.completion_details.reasoning":
		p = &t.Reasoning
	case "llm.token_count.completion_details.audio":
		p = &t.AudioCompletion
	default:
		return false
	}
	*p = v
	return true
}

// Amount is an optional amount in USD.
type Amount struct {
	USD   float64
	Valid bool
}

// USD returns a present Amount.
func USD(v float64) Amount { return Amount{USD: v, Valid: true} }

// usable rejects amounts no bill can contain, so a garbage attribute does not
// override a computed cost.
func (a Amount) usable() bool {
	return a.Valid && a.USD >= 0 && !math.IsNaN(a.USD) && !math.IsInf(a.USD, 0)
}

// ClientCost holds the llm.cost.* attributes a client sent with the span.
// Those values win over computed ones; see Table.Cost.
type ClientCost struct {
	Prompt     Amount // llm.cost.prompt
	Completion Amount // llm.cost.completion
	Total      Amount // llm.cost.total
	// Details holds llm.cost.prompt_details.{input,cache_read,cache_write,audio}
	// and llm.cost.completion_details.{output,reasoning,audio}.
	Details [NumTokenTypes]Amount
}

// SetAttribute stores an llm.cost.* attribute value and reports whether key
// was one of them. llm.cost.prompt_details.cache_input is not a billing class
// of its own in any price list and is ignored.
func (c *ClientCost) SetAttribute(key string, v float64) bool {
	var p *Amount
	switch key {
	case "llm.cost.prompt":
		p = &c.Prompt
	case "llm.cost.completion":
		p = &c.Completion
	case "llm.cost.total":
		p = &c.Total
	case "llm.cost.prompt_details.input":
		p = &c.Details[Input]
	case "llm.cost.prompt_details.cache_read":
		p = &c.Details[CacheRead]
	case "llm.cost.prompt_details.cache_write":
		p = &c.Details[CacheWrite]
	case "llm.cost.prompt_details.audio":
		p = &c.Details[AudioInput]
	case "llm.cost.completion_details.output":
		p = &c.Details[Output]
	case "llm.cost.completion_details.reasoning":
		p = &c.Details[Reasoning]
	case "llm.cost.completion_details.audio":
		p = &c.Details[AudioOutput]
	default:
		return false
	}
	*p = USD(v)
	return true
}

// empty reports whether the client sent no usable cost at all.
func (c *ClientCost) empty() bool {
	if c.Prompt.usable() || c.Completion.usable() || c.Total.usable() {
		return false
	}
	for _, d := range c.Details {
		if d.usable() {
			return false
		}
	}
	return true
}
