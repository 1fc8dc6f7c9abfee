package clickhouse

import (
	"context"

	"github.com/loupe-dev/loupe/internal/span"
	"github.com/loupe-dev/loupe/internal/store"
)

// What the ClickHouse backend does not do yet answers errUnsupported, so
// that a caller (and the conformance suite, which lists these cases with
// their reason in clickhouse_test.go) sees it instead of a wrong answer.

// UsageByTool is not supported yet.
func (s *Store) UsageByTool(ctx context.Context, projectID int64, start, end int64) (tools []store.ToolUsage, sampled bool, err error) {
	return nil, false, unsupported("UsageByTool")
}

// ToolCallsWithModels is not supported yet.
func (s *Store) ToolCallsWithModels(ctx context.Context, projectID int64, start, end int64) (bool, error) {
	return false, unsupported("ToolCallsWithModels")
}

// CountedBelow is not supported yet.
func (s *Store) CountedBelow(ctx context.Context, spanRowID int64, limit int) ([]store.CountedCall, error) {
	return nil, unsupported("CountedBelow")
}

// RecomputeCosts is not supported yet.
func (s *Store) RecomputeCosts(ctx context.Context, models []string, price func(*span.Span), progress func(store.RecomputeResult)) (store.RecomputeResult, error) {
	return store.RecomputeResult{}, unsupported("RecomputeCosts")
}

// PromptVersionReport is not supported yet.
func (s *Store) PromptVersionReport(ctx context.Context, projectID, start, end int64) (store.PromptVersionReport, error) {
	return store.PromptVersionReport{}, unsupported("PromptVersionReport")
}

// DocumentScores is not supported yet.
func (s *Store) DocumentScores(ctx context.Context, projectID, start, end int64) (store.DocumentScores, error) {
	return store.DocumentScores{}, unsupported("document scores")
}

// ErrorGroups is not supported yet.
func (s *Store) ErrorGroups(ctx context.Context, q store.ErrorGroupQuery) ([]store.ErrorGroup, error) {
	return nil, unsupported("error groups")
}
