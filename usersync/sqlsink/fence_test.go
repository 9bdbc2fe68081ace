package sqlsink_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tenantgate/tenantgate/internal/fence/fencetest"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

// TestFence: a purged customer's users cannot be written again (a sync
// racing the offboarding leaves nothing behind) until Unfence.
func TestFence(t *testing.T) {
	t.Parallel()
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			fencetest.Run(t, customer("fence"), fencetest.Subject{
				Write: func(ctx context.Context, c string, i int) error {
					p, err := s.BeginDelta(ctx, c)
					if err != nil {
						return err
					}
					if _, err := p.Put(ctx, users(i, i+1, "Engineer")); err != nil {
						_ = p.Abort(ctx)
						return err
					}
					_, err = p.Commit(ctx)
					return err
				},
				Erase:   s.Purge,
				Unfence: s.Unfence,
				Count:   s.Count,
				Benign:  func(err error) bool { return errors.Is(err, sqlsink.ErrSuperseded) },
			})
		})
	}
}
