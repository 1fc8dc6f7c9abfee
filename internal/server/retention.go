package server

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/loupe-dev/loupe/internal/store"
)

// Optional is a non-negative flag value that may be left unset, so that a
// setting kept in the database stands unless the flag names a new one.
type Optional[T int64 | float64] struct {
	Value T
	Valid bool
}

func (o *Optional[T]) String() string {
	if o == nil || !o.Valid {
		return ""
	}
	return fmt.Sprint(o.Value)
}

// Set parses a non-negative number.
func (o *Optional[T]) Set(s string) error {
	var err error
	switch v := any(&o.Value).(type) {
	case *int64:
		*v, err = strconv.ParseInt(s, 10, 64)
	case *float64:
		*v, err = strconv.ParseFloat(s, 64)
	}
	if err != nil || o.Value < 0 {
		return errors.New("want a number, 0 or more")
	}
	o.Valid = true
	return nil
}

// applyDefaultRetention stores the default retention policy the flags name,
// keeping the stored value of a bound they leave unset. Every server on a
// database shares the stored policy, which the REST API can change too.
func applyDefaultRetention(ctx context.Context, st store.Retention, cfg Config) error {
	if !cfg.RetentionDays.Valid && !cfg.RetentionTraces.Valid {
		return nil
	}
	stored, err := st.RetentionPolicy(ctx, store.DefaultPolicy)
	if err != nil {
		return err
	}
	p := stored
	if cfg.RetentionDays.Valid {
		p.MaxDays = cfg.RetentionDays.Value
	}
	if cfg.RetentionTraces.Valid {
		p.MaxTraces = cfg.RetentionTraces.Value
	}
	if p == stored {
		// Started again with the same flags: nothing to write, which a
		// database out of space could not take.
		return nil
	}
	if err := st.SetRetentionPolicy(ctx, store.DefaultPolicy, p); err != nil {
		return fmt.Errorf("store the default retention policy: %w", err)
	}
	return nil
}
