package store

import "context"

// Settings keeps server-wide settings (JSON values) in the database, so
// that every server sharing it sees the same ones.
type Settings interface {
	// Setting returns a setting's value; ok is false when it was never set.
	Setting(ctx context.Context, key string) (value string, ok bool, err error)
	PutSetting(ctx context.Context, key, value string) error
}
