package openai

import (
	"encoding/json"
	"fmt"
	"net/http"
)

// APIError is an error answered by the API: a non-2xx status, or an error
// event in a stream.
type APIError struct {
	StatusCode int    // 0 for an error event in a stream
	Message    string // the API's message, or the status text
	Type       string
	Code       string
	Body       string // the raw error body, up to 64 KiB
}

func (e *APIError) Error() string {
	if e.StatusCode == 0 {
		return fmt.Sprintf("chat completions stream error: %s", e.Message)
	}
	return fmt.Sprintf("chat completions: %d %s: %s", e.StatusCode, http.StatusText(e.StatusCode), e.Message)
}

// errorBody is the {"error": {...}} envelope most providers answer with.
type errorBody struct {
	Message string `json:"message"`
	Type    string `json:"type"`
	Code    any    `json:"code"` // a string for OpenAI, a number for some others
}

func (b *errorBody) apiError(status int, raw []byte) *APIError {
	e := &APIError{StatusCode: status, Message: b.Message, Type: b.Type, Body: string(raw)}
	if b.Code != nil {
		e.Code = fmt.Sprint(b.Code)
	}
	return e
}

func newAPIError(status int, raw []byte) *APIError {
	var env struct {
		Error *errorBody `json:"error"`
	}
	if json.Unmarshal(raw, &env) == nil && env.Error != nil && env.Error.Message != "" {
		return env.Error.apiError(status, raw)
	}
	msg := string(raw)
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &APIError{StatusCode: status, Message: msg, Body: string(raw)}
}
