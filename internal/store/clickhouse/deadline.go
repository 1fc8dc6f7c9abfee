package clickhouse

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"time"
)

// deadlineError reports a read cut by the caller's deadline as the
// deadline, as the other backends do. The driver sets the context's
// deadline on the socket, and the socket's timeout can fire a moment
// before the context's own timer marks it done: the error is then a
// network timeout, which alone would read as the server unreachable.
func deadlineError(ctx context.Context, err error) error {
	deadline, ok := ctx.Deadline()
	if !ok || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	var ne net.Error
	if !errors.Is(err, os.ErrDeadlineExceeded) && !(errors.As(err, &ne) && ne.Timeout()) {
		return err
	}
	if time.Until(deadline) > 0 {
		return err // a timeout of its own, before the caller's deadline
	}
	<-ctx.Done() // due now: its timer is about to fire
	return fmt.Errorf("%w: %v", ctx.Err(), err)
}
