package qoe_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/internal/fence/fencetest"
	"github.com/tenantgate/tenantgate/qoe"
)

// TestStoreFence: an erased customer's calls and subscription cannot be
// written again (a call fetch or renewal racing the offboarding leaves
// nothing behind) until Unfence.
func TestStoreFence(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			st, _ := b.open(t, nil, nil, nil)
			start := time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC)
			fencetest.Run(t, "qoe", fencetest.Subject{
				Write: func(ctx context.Context, c string, i int) error {
					_, err := st.PutCall(ctx, qoe.Call{Customer: c, ID: fmt.Sprintf("call-%d", i), Version: 1,
						Start: start.Add(time.Duration(i) * time.Second), End: start.Add(time.Minute), Quality: qoe.Good,
						Streams: []qoe.Stream{{Key: "s/0/0/1", Direction: "callerToCallee", Quality: qoe.Good}}})
					return err
				},
				Erase:   st.DeleteCustomer,
				Unfence: st.Unfence,
				Count: func(ctx context.Context, c string) (int, error) {
					p, err := st.Calls(ctx, c, qoe.CallQuery{From: start.Add(-time.Hour), To: start.Add(time.Hour), Limit: 1000})
					return len(p.Calls), err
				},
			})
		})
	}
}
