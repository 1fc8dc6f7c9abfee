package pricing

import (
	"errors"
	"fmt"
)

// ErrNoPrice is matched (with errors.Is) by the error Table.Cost returns
// when no entry prices the model and the client sent no cost either. It is
// an explicit "unknown", never a $0 cost.
var ErrNoPrice = errors.New("pricing: no price for model")

// NoPriceError names the model that has no price.
type NoPriceError struct {
	Model    string
	Provider string
}

func (e *NoPriceError) Error() string {
	if e.Provider == "" {
		return fmt.Sprintf("pricing: no price for model %q", e.Model)
	}
	return fmt.Sprintf("pricing: no price for model %q (provider %q)", e.Model, e.Provider)
}

// Is makes errors.Is(err, ErrNoPrice) hold.
func (e *NoPriceError) Is(target error) bool { return target == ErrNoPrice }
