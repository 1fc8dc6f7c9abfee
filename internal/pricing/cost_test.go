package pricing

import (
	"errors"
	"math"
	"testing"
)

// near compares dollar amounts computed in floating point with the
// hand-computed figures below.
func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-12+1e-9*math.Abs(want)
}

type wantCost struct {
	prompt, completion, total float64
	details                   map[TokenType]float64 // cost per class; classes left out must cost 0
}

func checkCost(t *testing.T, got Cost, want wantCost) {
	t.Helper()
	if !near(got.Prompt, want.prompt) || !near(got.Completion, want.completion) || !near(got.Total, want.total) {
		t.Errorf("prompt/completion/total = %.9f/%.9f/%.9f, want %.9f/%.9f/%.9f",
			got.Prompt, got.Completion, got.Total, want.prompt, want.completion, want.total)
	}
	for _, tt := range TokenTypes {
		if w := want.details[tt]; !near(got.Details[tt].Cost, w) {
			t.Errorf("%s cost = %.9f, want %.9f", tt, got.Details[tt].Cost, w)
		}
	}
}

func TestCostBuiltinPrices(t *testing.T) {
	tests := []struct {
		name            string
		model, provider string
		tokens          Tokens
		want            wantCost
		entry           string
		longContext     bool
	}{
		{
			// 1000 × $2.50/M = 0.0025; 500 × $10/M = 0.005; total 0.0075.
			name:   "plain",
			model:  "gpt-4o",
			tokens: Tokens{Prompt: 1000, Completion: 500, Total: 1500},
			want: wantCost{prompt: 0.0025, completion: 0.005, total: 0.0075,
				details: map[TokenType]float64{Input: 0.0025, Output: 0.005}},
			entry: "gpt-4o",
		},
		{
			// OpenAI: prompt 10000 includes 8000 cached.
			// (10000-8000) × $2.50/M = 0.005; 8000 × $1.25/M = 0.01 → prompt 0.015;
			// 1000 × $10/M = 0.01; total 0.025.
			name:   "openai cache read",
			model:  "gpt-4o-2024-08-06",
			tokens: Tokens{Prompt: 10000, CacheRead: 8000, Completion: 1000},
			want: wantCost{prompt: 0.015, completion: 0.01, total: 0.025,
				details: map[TokenType]float64{Input: 0.005, CacheRead: 0.01, Output: 0.01}},
			entry: "gpt-4o",
		},
		{
			// Anthropic via OpenInference: prompt = 500 input + 2000 written + 10000 read.
			// 500 × $3/M = 0.0015; 2000 × $3.75/M = 0.0075; 10000 × $0.30/M = 0.003 → 0.012;
			// 800 × $15/M = 0.012; total 0.024.
			name:   "anthropic cache write and read",
			model:  "claude-sonnet-4-5-20250929",
			tokens: Tokens{Prompt: 12500, CacheWrite: 2000, CacheRead: 10000, Completion: 800},
			want: wantCost{prompt: 0.012, completion: 0.012, total: 0.024,
				details: map[TokenType]float64{Input: 0.0015, CacheWrite: 0.0075, CacheRead: 0.003, Output: 0.012}},
			entry: "claude-sonnet-4-5-20250929",
		},
		{
			// Same request from an emitter passing Anthropic's raw input_tokens (500):
			// the details exceed the prompt, so the prompt becomes 500+2000+10000 and
			// the figures equal the previous case.
			name:   "anthropic raw input_tokens repaired",
			model:  "claude-sonnet-4-5-20250929",
			tokens: Tokens{Prompt: 500, CacheWrite: 2000, CacheRead: 10000, Completion: 800},
			want: wantCost{prompt: 0.012, completion: 0.012, total: 0.024,
				details: map[TokenType]float64{Input: 0.0015, CacheWrite: 0.0075, CacheRead: 0.003, Output: 0.012}},
			entry: "claude-sonnet-4-5-20250929",
		},
		{
			// Claude 3 Haiku's cache multipliers are not the usual 1.25x/0.1x:
			// 1000 × $0.25/M = 0.00025; 1000 × $0.30/M = 0.0003; 1000 × $0.03/M = 0.00003 → 0.00058;
			// 1000 × $1.25/M = 0.00125; total 0.00183.
			name:   "claude 3 haiku cache",
			model:  "claude-3-haiku-20240307",
			tokens: Tokens{Prompt: 3000, CacheWrite: 1000, CacheRead: 1000, Completion: 1000},
			want: wantCost{prompt: 0.00058, completion: 0.00125, total: 0.00183,
				details: map[TokenType]float64{Input: 0.00025, CacheWrite: 0.0003, CacheRead: 0.00003, Output: 0.00125}},
			entry: "claude-3-haiku-20240307",
		},
		{
			// Completion 5000 includes 4000 reasoning, billed at the output rate once.
			// 2000 × $1.10/M = 0.0022; (5000-4000) × $4.40/M = 0.0044; 4000 × $4.40/M = 0.0176
			// → completion 0.022; total 0.0242.
			name:   "o4-mini reasoning",
			model:  "o4-mini-2025-04-16",
			tokens: Tokens{Prompt: 2000, Completion: 5000, Reasoning: 4000, Total: 7000},
			want: wantCost{prompt: 0.0022, completion: 0.022, total: 0.0242,
				details: map[TokenType]float64{Input: 0.0022, Output: 0.0044, Reasoning: 0.0176}},
			entry: "o4-mini",
		},
		{
			// (3000-1000) × $2/M = 0.004; 1000 × $0.50/M = 0.0005 → 0.0045;
			// (2500-2000) × $8/M = 0.004; 2000 × $8/M = 0.016 → 0.02; total 0.0245.
			name:   "o3 reasoning and cache",
			model:  "o3",
			tokens: Tokens{Prompt: 3000, CacheRead: 1000, Completion: 2500, Reasoning: 2000},
			want: wantCost{prompt: 0.0045, completion: 0.02, total: 0.0245,
				details: map[TokenType]float64{Input: 0.004, CacheRead: 0.0005, Output: 0.004, Reasoning: 0.016}},
			entry: "o3",
		},
		{
			// Exactly 200k is not above the threshold: base rates.
			// 200000 × $1.25/M = 0.25; 2000 × $10/M = 0.02; total 0.27.
			name:   "gemini 2.5 pro at threshold",
			model:  "gemini-2.5-pro",
			tokens: Tokens{Prompt: 200000, Completion: 2000},
			want: wantCost{prompt: 0.25, completion: 0.02, total: 0.27,
				details: map[TokenType]float64{Input: 0.25, Output: 0.02}},
			entry: "gemini-2.5-pro",
		},
		{
			// Above 200k the long-context rates apply to the whole request, output too.
			// 250000 × $2.50/M = 0.625; 2000 × $15/M = 0.03; total 0.655.
			name:   "gemini 2.5 pro above threshold",
			model:  "gemini-2.5-pro",
			tokens: Tokens{Prompt: 250000, Completion: 2000},
			want: wantCost{prompt: 0.625, completion: 0.03, total: 0.655,
				details: map[TokenType]float64{Input: 0.625, Output: 0.03}},
			entry:       "gemini-2.5-pro",
			longContext: true,
		},
		{
			// Cached tokens count towards the threshold and take the long-context cache rate.
			// 200000 × $2.50/M = 0.5; 100000 × $0.25/M = 0.025 → 0.525;
			// 1000 × $15/M = 0.015; 2000 thinking × $15/M = 0.03 → 0.045; total 0.57.
			name:   "gemini 2.5 pro long context with cache and thinking",
			model:  "models/gemini-2.5-pro",
			tokens: Tokens{Prompt: 300000, CacheRead: 100000, Completion: 3000, Reasoning: 2000},
			want: wantCost{prompt: 0.525, completion: 0.045, total: 0.57,
				details: map[TokenType]float64{Input: 0.5, CacheRead: 0.025, Output: 0.015, Reasoning: 0.03}},
			entry:       "gemini-2.5-pro",
			longContext: true,
		},
		{
			// Gemini 1.5 tiers at 128k: 130000 × $0.15/M = 0.0195; 1000 × $0.60/M = 0.0006; total 0.0201.
			name:   "gemini 1.5 flash above 128k",
			model:  "gemini-1.5-flash-002",
			tokens: Tokens{Prompt: 130000, Completion: 1000},
			want: wantCost{prompt: 0.0195, completion: 0.0006, total: 0.0201,
				details: map[TokenType]float64{Input: 0.0195, Output: 0.0006}},
			entry:       "gemini-1.5-flash",
			longContext: true,
		},
		{
			// Text and audio have separate rates on both sides.
			// (1000-600) × $2.50/M = 0.001; 600 × $40/M = 0.024 → 0.025;
			// (500-300) × $10/M = 0.002; 300 × $80/M = 0.024 → 0.026; total 0.051.
			name:   "audio",
			model:  "gpt-4o-audio-preview-2024-12-17",
			tokens: Tokens{Prompt: 1000, AudioPrompt: 600, Completion: 500, AudioCompletion: 300},
			want: wantCost{prompt: 0.025, completion: 0.026, total: 0.051,
				details: map[TokenType]float64{Input: 0.001, AudioInput: 0.024, Output: 0.002, AudioOutput: 0.024}},
			entry: "gpt-4o-audio-preview",
		},
		{
			// xAI leaves reasoning out of completion; total = 100 + 50 + 200 gives it away,
			// so the completion becomes 250.
			// 100 × $0.30/M = 0.00003; 50 × $0.50/M = 0.000025; 200 × $0.50/M = 0.0001
			// → completion 0.000125; total 0.000155.
			name:   "xai reasoning outside completion",
			model:  "grok-3-mini",
			tokens: Tokens{Prompt: 100, Completion: 50, Reasoning: 200, Total: 350},
			want: wantCost{prompt: 0.00003, completion: 0.000125, total: 0.000155,
				details: map[TokenType]float64{Input: 0.00003, Output: 0.000025, Reasoning: 0.0001}},
			entry: "grok-3-mini",
		},
		{
			// 1000 × $0.28/M = 0.00028; 9000 × $0.028/M = 0.000252 → 0.000532;
			// 1000 × $0.42/M = 0.00042; total 0.000952.
			name:   "deepseek cache hit",
			model:  "deepseek-chat",
			tokens: Tokens{Prompt: 10000, CacheRead: 9000, Completion: 1000},
			want: wantCost{prompt: 0.000532, completion: 0.00042, total: 0.000952,
				details: map[TokenType]float64{Input: 0.00028, CacheRead: 0.000252, Output: 0.00042}},
			entry: "deepseek-chat",
		},
		{
			// Bedrock regional profile: 1000 × $3.30/M = 0.0033; 1000 × $16.50/M = 0.0165; total 0.0198.
			name:   "bedrock regional claude",
			model:  "us.anthropic.claude-sonnet-4-5-20250929-v1:0",
			tokens: Tokens{Prompt: 1000, Completion: 1000},
			want: wantCost{prompt: 0.0033, completion: 0.0165, total: 0.0198,
				details: map[TokenType]float64{Input: 0.0033, Output: 0.0165}},
			entry: "anthropic.claude-sonnet-4-5-20250929-v1:0",
		},
		{
			// Bedrock global profile bills Anthropic's rates: 1000 × $3/M + 1000 × $15/M = 0.018.
			name:   "bedrock global claude",
			model:  "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
			tokens: Tokens{Prompt: 1000, Completion: 1000},
			want: wantCost{prompt: 0.003, completion: 0.015, total: 0.018,
				details: map[TokenType]float64{Input: 0.003, Output: 0.015}},
			entry: "claude-sonnet-4-5-20250929",
		},
		{
			// Prompt missing: 1100 - 100 = 1000 prompt tokens.
			// 1000 × $0.15/M = 0.00015; 100 × $0.60/M = 0.00006; total 0.00021.
			name:   "prompt inferred from total",
			model:  "gpt-4o-mini",
			tokens: Tokens{Completion: 100, Total: 1100},
			want: wantCost{prompt: 0.00015, completion: 0.00006, total: 0.00021,
				details: map[TokenType]float64{Input: 0.00015, Output: 0.00006}},
			entry: "gpt-4o-mini",
		},
		{
			// 1M × $0.59/M + 1M × $0.79/M = 1.38.
			name:     "groq hosted",
			model:    "llama-3.3-70b-versatile",
			provider: "groq",
			tokens:   Tokens{Prompt: 1_000_000, Completion: 1_000_000},
			want: wantCost{prompt: 0.59, completion: 0.79, total: 1.38,
				details: map[TokenType]float64{Input: 0.59, Output: 0.79}},
			entry: "llama-3.3-70b-versatile",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Default().Cost(tc.model, tc.provider, tc.tokens, ClientCost{})
			if err != nil {
				t.Fatalf("Cost: %v", err)
			}
			checkCost(t, got, tc.want)
			if got.EntryName != tc.entry {
				t.Errorf("entry = %q, want %q", got.EntryName, tc.entry)
			}
			if got.Source != SourceComputed {
				t.Errorf("source = %v, want computed", got.Source)
			}
			if got.LongContext != tc.longContext {
				t.Errorf("long context = %v, want %v", got.LongContext, tc.longContext)
			}
		})
	}
}

func TestCostReasoningRate(t *testing.T) {
	// A model that bills thinking at its own rate.
	tab, err := New([]Entry{{Name: "thinker-1", Pattern: "thinker-1", Prices: Rates{Input: 1, Output: 2, Reasoning: 5}}})
	if err != nil {
		t.Fatal(err)
	}
	// 1000 × $1/M = 0.001; (3000-2000) × $2/M = 0.002; 2000 × $5/M = 0.01 → 0.012; total 0.013.
	got, err := tab.Cost("thinker-1", "", Tokens{Prompt: 1000, Completion: 3000, Reasoning: 2000}, ClientCost{})
	if err != nil {
		t.Fatal(err)
	}
	checkCost(t, got, wantCost{prompt: 0.001, completion: 0.012, total: 0.013,
		details: map[TokenType]float64{Input: 0.001, Output: 0.002, Reasoning: 0.01}})
	if r := got.Details[Reasoning].Rate; !near(r, 5e-6) {
		t.Errorf("reasoning rate = %g, want 5e-6", r)
	}
}

func TestCostDetailRates(t *testing.T) {
	got, err := Default().Cost("gpt-4o", "", Tokens{Prompt: 10, Completion: 10, Reasoning: 4}, ClientCost{})
	if err != nil {
		t.Fatal(err)
	}
	// Reasoning has no rate of its own, so it shows the output rate.
	for tt, want := range map[TokenType]float64{Input: 2.5e-6, CacheRead: 1.25e-6, CacheWrite: 2.5e-6, Output: 1e-5, Reasoning: 1e-5} {
		if d := got.Details[tt]; !near(d.Rate, want) || d.Source != SourceComputed {
			t.Errorf("%s: rate %g source %v, want %g computed", tt, d.Rate, d.Source, want)
		}
	}
	if got.PromptTokens() != 10 || got.CompletionTokens() != 10 {
		t.Errorf("tokens = %d/%d, want 10/10", got.PromptTokens(), got.CompletionTokens())
	}
}

func TestCostClientFigures(t *testing.T) {
	plain := Tokens{Prompt: 1000, Completion: 500, Total: 1500} // gpt-4o: 0.0025 + 0.005 = 0.0075 computed
	tests := []struct {
		name   string
		model  string
		tokens Tokens
		client ClientCost
		want   wantCost
		source Source
	}{
		{
			name:   "all client",
			model:  "gpt-4o",
			tokens: plain,
			client: ClientCost{Prompt: USD(0.1), Completion: USD(0.2), Total: USD(0.3)},
			want:   wantCost{prompt: 0.1, completion: 0.2, total: 0.3},
			source: SourceClient,
		},
		{
			// Only the total is the client's; the sides stay computed (0.0025 and 0.005).
			name:   "client total",
			model:  "gpt-4o",
			tokens: plain,
			client: ClientCost{Total: USD(0.5)},
			want: wantCost{prompt: 0.0025, completion: 0.005, total: 0.5,
				details: map[TokenType]float64{Input: 0.0025, Output: 0.005}},
			source: SourceMixed,
		},
		{
			// The client's cache_read cost replaces the computed 0.01; input 0.005 and
			// output 0.01 are computed: prompt 0.005 + 0.004 = 0.009; total 0.019.
			name:   "client detail",
			model:  "gpt-4o",
			tokens: Tokens{Prompt: 10000, CacheRead: 8000, Completion: 1000},
			client: ClientCost{Details: [NumTokenTypes]Amount{CacheRead: USD(0.004)}},
			want: wantCost{prompt: 0.009, completion: 0.01, total: 0.019,
				details: map[TokenType]float64{Input: 0.005, CacheRead: 0.004, Output: 0.01}},
			source: SourceMixed,
		},
		{
			// A client side total hides computed details for that side.
			name:   "client prompt side",
			model:  "gpt-4o",
			tokens: plain,
			client: ClientCost{Prompt: USD(0.001)},
			want: wantCost{prompt: 0.001, completion: 0.005, total: 0.006,
				details: map[TokenType]float64{Output: 0.005}},
			source: SourceMixed,
		},
		{
			name:   "unknown model priced by the client",
			model:  "acme-private-7b",
			tokens: plain,
			client: ClientCost{Prompt: USD(0.01), Completion: USD(0.02)},
			want:   wantCost{prompt: 0.01, completion: 0.02, total: 0.03},
			source: SourceClient,
		},
		{
			// Garbage figures are ignored and the computed cost stands.
			name:   "invalid client figures",
			model:  "gpt-4o",
			tokens: plain,
			client: ClientCost{Prompt: USD(-1), Completion: USD(math.NaN()), Total: USD(math.Inf(1))},
			want: wantCost{prompt: 0.0025, completion: 0.005, total: 0.0075,
				details: map[TokenType]float64{Input: 0.0025, Output: 0.005}},
			source: SourceComputed,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Default().Cost(tc.model, "", tc.tokens, tc.client)
			if err != nil {
				t.Fatalf("Cost: %v", err)
			}
			checkCost(t, got, tc.want)
			if got.Source != tc.source {
				t.Errorf("source = %v, want %v", got.Source, tc.source)
			}
			if got.Partial {
				t.Error("partial set")
			}
		})
	}
}

func TestCostPartialClientFigures(t *testing.T) {
	// No price and only the completion from the client: the prompt tokens are
	// unpriced, which the result must say.
	got, err := Default().Cost("acme-private-7b", "", Tokens{Prompt: 100, Completion: 10},
		ClientCost{Completion: USD(0.02)})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Partial || got.Total != 0.02 || got.Source != SourceClient || got.EntryName != "" {
		t.Errorf("got %+v, want partial client cost 0.02 with no entry", got)
	}
}

func TestCostNoPrice(t *testing.T) {
	got, err := Default().Cost("acme-private-7b", "ollama", Tokens{Prompt: 100, Completion: 10}, ClientCost{})
	if !errors.Is(err, ErrNoPrice) {
		t.Fatalf("err = %v, want ErrNoPrice", err)
	}
	var np *NoPriceError
	if !errors.As(err, &np) || np.Model != "acme-private-7b" || np.Provider != "ollama" {
		t.Errorf("err = %#v, want NoPriceError naming the model and provider", err)
	}
	if got.Total != 0 || got.Source != SourceNone || got.PromptTokens() != 100 || got.CompletionTokens() != 10 {
		t.Errorf("got %+v, want token counts only", got)
	}
	if _, err := Default().Cost("", "", Tokens{Prompt: 1}, ClientCost{}); !errors.Is(err, ErrNoPrice) {
		t.Errorf("empty model: err = %v, want ErrNoPrice", err)
	}
}

func TestSplitTokens(t *testing.T) {
	tests := []struct {
		name string
		in   Tokens
		want tokenCounts
	}{
		{"completion from total", Tokens{Prompt: 10, Total: 25}, tokenCounts{Input: 10, Output: 15}},
		{"negative counts", Tokens{Prompt: -5, Completion: 3, CacheRead: -1}, tokenCounts{Output: 3}},
		{"details only", Tokens{CacheRead: 7}, tokenCounts{CacheRead: 7}},
		{"completion smaller than reasoning", Tokens{Completion: 2, Reasoning: 5}, tokenCounts{Output: 2, Reasoning: 5}},
		// Total larger than prompt+completion by something other than the
		// reasoning count is left alone.
		{"unexplained total", Tokens{Prompt: 10, Completion: 10, Reasoning: 4, Total: 30}, tokenCounts{Input: 10, Output: 6, Reasoning: 4}},
	}
	for _, tc := range tests {
		if got := splitTokens(tc.in); got != tc.want {
			t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAttributeSetters(t *testing.T) {
	var tok Tokens
	for k, v := range map[string]int64{
		"llm.token_count.prompt": 1, "llm.token_count.completion": 2, "llm.token_count.total": 3,
		"llm.token_count.prompt_details.cache_read": 4, "llm.token_count.prompt_details.cache_write": 5,
		"llm.token_count.prompt_details.audio": 6, "llm.token_count.completion_details.reasoning": 7,
		"llm.token_count.completion_details.audio": 8,
	} {
		if !tok.SetAttribute(k, v) {
			t.Errorf("Tokens.SetAttribute(%q) = false", k)
		}
	}
	if want := (Tokens{1, 2, 3, 4, 5, 6, 7, 8}); tok != want {
		t.Errorf("tokens = %+v, want %+v", tok, want)
	}
	if tok.SetAttribute("llm.token_count.prompt_details.cache_input", 1) {
		t.Error("unknown key accepted")
	}

	var c ClientCost
	keys := map[string]*Amount{
		"llm.cost.prompt": &c.Prompt, "llm.cost.completion": &c.Completion, "llm.cost.total": &c.Total,
		"llm.cost.prompt_details.input": &c.Details[Input], "llm.cost.prompt_details.cache_read": &c.Details[CacheRead],
		"llm.cost.prompt_details.cache_write": &c.Details[CacheWrite], "llm.cost.prompt_details.audio": &c.Details[AudioInput],
		"llm.cost.completion_details.output": &c.Details[Output], "llm.cost.completion_details.reasoning": &c.Details[Reasoning],
		"llm.cost.completion_details.audio": &c.Details[AudioOutput],
	}
	for k, p := range keys {
		if !c.SetAttribute(k, 0.5) || *p != USD(0.5) {
			t.Errorf("ClientCost.SetAttribute(%q) did not set its field", k)
		}
	}
	if c.SetAttribute("llm.cost.prompt_details.cache_input", 1) {
		t.Error("cache_input accepted")
	}
}
