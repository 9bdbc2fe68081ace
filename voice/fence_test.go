package voice

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/internal/fence/fencetest"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// TestStoreFence: an erased customer's voice rows cannot be written again
// (an operation or refresh racing the offboarding leaves nothing behind)
// until Unfence; the refusal is ErrErased to fence-aware callers.
func TestStoreFence(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := NewStore(ctx, db.DB, db.Dialect)
			require.NoError(t, err)
			fencetest.Run(t, "voice", fencetest.Subject{
				Write: func(ctx context.Context, c string, i int) error {
					_, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_ranges
						(customer, name, first_number, last_number, number_type, location_id, quarantine_days) VALUES (?, ?, ?, ?, ?, '', 0)`),
						c, fmt.Sprintf("r%d", i), fmt.Sprintf("+3902%07d", i*10), fmt.Sprintf("+3902%07d", i*10+9), string(DirectRouting))
					return fence.Wrap(err, "put a range")
				},
				Erase:   s.DeleteCustomer,
				Unfence: s.Unfence,
				Count: func(ctx context.Context, c string) (int, error) {
					rs, err := s.ranges(ctx, c)
					return len(rs), err
				},
			})
		})
	}
}
