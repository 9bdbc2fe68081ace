package voice

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/testdb"
)

// italy is the demo's Italian inventory in miniature: numbers k of
// +3902 followed by k as 7 digits, every third assigned.
func italy(n int) []numberRow {
	rows := make([]numberRow, n)
	for k := range rows {
		rows[k] = numberRow{Number: fmt.Sprintf("+3902%07d", k), ID: fmt.Sprint(k), Type: "directRouting", Activation: "activated",
			Status: "unassigned", Capabilities: []string{"userAssignment"}, Country: "IT", City: "Milan"}
		if k%3 == 0 {
			rows[k].Status, rows[k].TargetID, rows[k].Category = "userAssigned", fmt.Sprintf("user-%d", k), "primary"
		}
	}
	return rows
}

var milan = Range{Name: "Milan", From: "+39020000000", To: "+39029999999", Type: DirectRouting, QuarantineDays: 30}

// TestReserveNextIsExclusive hands numbers of one range to many
// goroutines of two Stores on separate pools (two replicas) at once:
// each number goes to one holder only, and they are the lowest free ones.
func TestReserveNextIsExclusive(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			a, err := NewStore(ctx, db.DB, db.Dialect)
			require.NoError(t, err)
			b, err := NewStore(ctx, db.Open(t), db.Dialect) // a second replica
			require.NoError(t, err)
			now := time.Unix(1_800_000_000, 0)
			require.NoError(t, a.replaceNumbers(ctx, "c1", italy(120), now))
			require.NoError(t, a.putRanges(ctx, "c1", []Range{milan}))

			const workers, each = 8, 5
			var mu sync.Mutex
			got := map[string]string{}
			var wg sync.WaitGroup
			for w := range workers {
				st := a
				if w%2 == 1 {
					st = b
				}
				wg.Go(func() {
					for i := range each {
						holder := fmt.Sprintf("op-%d-%d", w, i)
						n, ok, err := st.reserveNext(ctx, "c1", milan, holder, now.Add(time.Hour), now)
						assert.NoError(t, err)
						assert.True(t, ok)
						mu.Lock()
						prev, dup := got[n]
						assert.False(t, dup, "%s handed to %s and %s", n, prev, holder)
						got[n] = holder
						mu.Unlock()
					}
				})
			}
			wg.Wait()
			require.Len(t, got, workers*each)
			// The 40 lowest unassigned numbers: k not divisible by 3.
			want := map[string]bool{}
			for k := 0; len(want) < workers*each; k++ {
				if k%3 != 0 {
					want[fmt.Sprintf("+3902%07d", k)] = true
				}
			}
			for n := range got {
				assert.True(t, want[n], "%s is not among the lowest free numbers", n)
			}
			// An expired reservation frees its number again; a quarantine
			// keeps it out of "next" until it ends.
			require.NoError(t, a.unhold(ctx, "c1", "+39020000001", got["+39020000001"]))
			require.NoError(t, a.setQuarantine(ctx, "c1", "+39020000001", "user-1", now.Add(30*24*time.Hour), now))
			n, ok, err := a.reserveNext(ctx, "c1", milan, "op-x", now.Add(time.Hour), now)
			require.NoError(t, err)
			require.True(t, ok)
			assert.NotEqual(t, "+39020000001", n)
			later := now.Add(31 * 24 * time.Hour)
			n, ok, err = a.reserveNext(ctx, "c1", milan, "op-y", later.Add(time.Hour), later)
			require.NoError(t, err)
			require.True(t, ok)
			assert.Equal(t, "+39020000001", n, "after the quarantine (and every reservation) ended, the lowest number again")
		})
	}
}

func TestNumbersListing(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := NewStore(ctx, db.DB, db.Dialect)
			require.NoError(t, err)
			now := time.Unix(1_800_000_000, 0)
			require.NoError(t, s.replaceNumbers(ctx, "c1", italy(30), now))
			require.NoError(t, s.putRanges(ctx, "c1", []Range{{Name: "Low", From: "+39020000000", To: "+39020000009", Type: DirectRouting}}))
			ok, err := s.hold(ctx, "c1", "+39020000002", holdReserved, "op-1", now.Add(time.Hour), now)
			require.NoError(t, err)
			require.True(t, ok)
			ok, err = s.hold(ctx, "c1", "+39020000002", holdReserved, "op-2", now.Add(time.Hour), now)
			require.NoError(t, err)
			assert.False(t, ok, "a live hold of another holder wins")

			p, err := s.numbers(ctx, "c1", NumberQuery{Status: "unassigned"}, now)
			require.NoError(t, err)
			assert.Equal(t, 20, p.Total)
			p, err = s.numbers(ctx, "c1", NumberQuery{Range: "low", Limit: 4}, now)
			require.NoError(t, err)
			assert.Equal(t, 10, p.Total)
			require.Len(t, p.Numbers, 4)
			assert.Equal(t, "Low", p.Numbers[0].Range)
			assert.Equal(t, "assigned", p.Numbers[0].Status)
			assert.Equal(t, "user-0", p.Numbers[0].User.ID)
			assert.True(t, p.Numbers[2].Reserved)
			require.NotEmpty(t, p.Next)
			p2, err := s.numbers(ctx, "c1", NumberQuery{Range: "low", Limit: 4, After: p.Next}, now)
			require.NoError(t, err)
			assert.Equal(t, "+39020000004", p2.Numbers[0].Number)
			p, err = s.numbers(ctx, "c1", NumberQuery{User: "user-3"}, now)
			require.NoError(t, err)
			require.Len(t, p.Numbers, 1)
			assert.Equal(t, "+39020000003", p.Numbers[0].Number)

			// A second read that lost a number drops it.
			require.NoError(t, s.replaceNumbers(ctx, "c1", italy(25), now.Add(time.Minute)))
			p, err = s.numbers(ctx, "c1", NumberQuery{}, now)
			require.NoError(t, err)
			assert.Equal(t, 25, p.Total)

			st, err := s.rangeStats(ctx, "c1", now)
			require.NoError(t, err)
			require.Len(t, st, 1)
			assert.Equal(t, RangeStats{Range: st[0].Range, Numbers: 10, Free: 5, Assigned: 4, Reserved: 1}, st[0])
		})
	}
}

func TestOneOperationPerUser(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s, err := NewStore(ctx, db.DB, db.Dialect)
			require.NoError(t, err)
			now := time.Unix(1_800_000_000, 0)
			mk := func() *Operation {
				return &Operation{ID: newOperationID(), Customer: "c1", Kind: KindSet, State: StateQueued, Created: now, Updated: now,
					Items: []Item{{UserID: "u1", State: StateQueued, Steps: []Step{{Step: "number", Status: StepPending}}}}}
			}
			first := mk()
			require.NoError(t, s.insertOperation(ctx, first, "u1", &plan{UserID: "u1"}))
			err = s.insertOperation(ctx, mk(), "u1", &plan{UserID: "u1"})
			e, ok := AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, CodeOperationInProgress, e.Code)
			assert.Equal(t, 409, e.HTTPStatus())

			ok, err = s.cancelOperation(ctx, "c1", first.ID, now)
			require.NoError(t, err)
			require.True(t, ok)
			got, _, err := s.operation(ctx, "c1", first.ID)
			require.NoError(t, err)
			assert.Equal(t, StateCanceled, got.State)
			assert.Equal(t, StepCanceled, got.Items[0].Steps[0].Status)
			saved, err := s.saveOperation(ctx, got, &plan{})
			require.NoError(t, err)
			assert.False(t, saved, "a cancelled operation is not overwritten by its job")
			require.NoError(t, s.insertOperation(ctx, mk(), "u1", &plan{UserID: "u1"}), "the user is free again")

			page, err := s.operations(ctx, "c1", OperationQuery{Limit: 1})
			require.NoError(t, err)
			require.Len(t, page.Operations, 1)
			page2, err := s.operations(ctx, "c1", OperationQuery{Limit: 1, After: page.Next})
			require.NoError(t, err)
			require.Len(t, page2.Operations, 1)
			assert.NotEqual(t, page.Operations[0].ID, page2.Operations[0].ID)
			_, _, err = s.operation(ctx, "c2", first.ID)
			e, _ = AsError(err)
			require.NotNil(t, e)
			assert.Equal(t, CodeNotFound, e.Code, "another customer's operation is not found")
		})
	}
}
