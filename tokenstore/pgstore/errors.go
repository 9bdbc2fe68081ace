package pgstore

import (
	"context"
	"errors"
	"fmt"
	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// mapErr makes an ended context visible: pgx reports a statement cut short
// by ctx in several ways, and callers branch on errors.Is(err,
// context.Canceled) or context.DeadlineExceeded.
func mapErr(ctx context.Context, err error) error {
	if err == nil {
		return nil
	}
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w (%w)", ctxErr, err)
	}
	if fence.Is(err) {
		return fmt.Errorf("%w: %w", tokenstore.ErrErased, err)
	}
	return err
}
