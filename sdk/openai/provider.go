package openai

import (
	"net/url"
	"strings"

	oi "github.com/loupe-dev/loupe/sdk/openinference"
)

var providerByHost = map[string]string{
	"api.openai.com":                    oi.LLMProviderOpenAI,
	"api.anthropic.com":                 oi.LLMProviderAnthropic,
	"generativelanguage.googleapis.com": oi.LLMProviderGoogle,
	"api.groq.com":                      oi.LLMProviderGroq,
	"api.mistral.ai":                    oi.LLMProviderMistralAI,
	"api.deepseek.com":                  oi.LLMProviderDeepSeek,
	"api.x.ai":                          oi.LLMProviderXAI,
	"api.together.xyz":                  oi.LLMProviderTogether,
	"api.together.ai":                   oi.LLMProviderTogether,
	"api.fireworks.ai":                  oi.LLMProviderFireworks,
	"api.cerebras.ai":                   oi.LLMProviderCerebras,
	"api.perplexity.ai":                 oi.LLMProviderPerplexity,
	"api.moonshot.ai":                   oi.LLMProviderMoonshot,
	"api.moonshot.cn":                   oi.LLMProviderMoonshot,
	"api.cohere.ai":                     oi.LLMProviderCohere,
	"api.cohere.com":                    oi.LLMProviderCohere,
}

// providerFromBaseURL infers llm.provider from the API host, and leaves it
// out (empty) for hosts it does not know, as the other instrumentations do.
func providerFromBaseURL(base string) string {
	u, err := url.Parse(base)
	if err != nil {
		return ""
	}
	host := strings.ToLower(u.Hostname())
	if p, ok := providerByHost[host]; ok {
		return p
	}
	switch {
	case strings.HasSuffix(host, ".openai.azure.com"), strings.HasSuffix(host, ".services.ai.azure.com"):
		return oi.LLMProviderAzure
	case u.Port() == "11434": // Ollama's port
		return oi.LLMProviderOllama
	}
	return ""
}
