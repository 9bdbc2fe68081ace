package voice_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/voice"
)

// TestFleetView: two customers summarized (contoso of 200 users: 67
// voice users, 3 of them disabled; fabrikam of 100: 34 and 2), their
// Milan ranges checked; the fleet view lists, searches, filters, sorts
// and pages them, and refuses a cursor of other filters.
func TestFleetView(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newPlanEnv(t, db, 200, nil)
			e.addCustomer(t, "fabrikam", 100)
			for _, c := range []string{"contoso", "fabrikam"} {
				_, err := e.svc.Refresh(ctx, c) // the ranges' free numbers
				require.NoError(t, err)
			}
			cv, err := e.svc.Summarize(ctx, "contoso")
			require.NoError(t, err)
			assert.Equal(t, 67, cv.Users)
			assert.Equal(t, 64, cv.Ready)
			assert.Equal(t, map[string]int{voice.CheckAccountEnabled: 3}, cv.NotReady, "users 39, 99 and 159 are disabled")
			_, err = e.svc.Summarize(ctx, "fabrikam")
			require.NoError(t, err)

			page, err := e.svc.Fleet(ctx, voice.FleetQuery{})
			require.NoError(t, err)
			require.Len(t, page.Customers, 2)
			assert.Equal(t, 2, page.Total)
			assert.Empty(t, page.Next)
			c := page.Customers[0]
			assert.Equal(t, "contoso", c.Customer)
			assert.Equal(t, 67, c.Users)
			assert.Equal(t, 3, c.NotReadyTotal)
			require.NotNil(t, c.SummarizedAt)
			require.Len(t, c.Ranges, 1)
			assert.Equal(t, voice.RangeFree{Name: "Milan", Type: voice.DirectRouting, Numbers: 20, Free: 14, Level: voice.RangeOK}, c.Ranges[0])
			f := page.Customers[1]
			assert.Equal(t, "fabrikam", f.Customer)
			assert.Equal(t, 34, f.Users)
			assert.Equal(t, map[string]int{voice.CheckAccountEnabled: 2}, f.NotReady)
			assert.Equal(t, 7, f.Ranges[0].Free)

			page, err = e.svc.Fleet(ctx, voice.FleetQuery{Search: "FAB"})
			require.NoError(t, err)
			require.Len(t, page.Customers, 1)
			assert.Equal(t, "fabrikam", page.Customers[0].Customer)
			names := func(c string) string { return map[string]string{"contoso": "Contoso Ltd"}[c] }
			page, err = e.svc.Fleet(ctx, voice.FleetQuery{Search: "ltd", Name: names})
			require.NoError(t, err)
			require.Len(t, page.Customers, 1, "a name matches too")
			assert.Equal(t, "Contoso Ltd", page.Customers[0].Name)
			page, err = e.svc.Fleet(ctx, voice.FleetQuery{Low: true})
			require.NoError(t, err)
			assert.Empty(t, page.Customers, "no range is low")
			page, err = e.svc.Fleet(ctx, voice.FleetQuery{Visible: func(c string) bool { return c == "contoso" }})
			require.NoError(t, err)
			require.Len(t, page.Customers, 1)
			assert.Equal(t, "contoso", page.Customers[0].Customer)

			// Fewest free numbers first, a page at a time.
			first, err := e.svc.Fleet(ctx, voice.FleetQuery{Sort: voice.FleetSortFree, Limit: 1})
			require.NoError(t, err)
			require.Len(t, first.Customers, 1)
			assert.Equal(t, "fabrikam", first.Customers[0].Customer)
			require.NotEmpty(t, first.Next)
			second, err := e.svc.Fleet(ctx, voice.FleetQuery{Sort: voice.FleetSortFree, Limit: 1, After: first.Next})
			require.NoError(t, err)
			require.Len(t, second.Customers, 1)
			assert.Equal(t, "contoso", second.Customers[0].Customer)
			assert.Empty(t, second.Next)
			_, err = e.svc.Fleet(ctx, voice.FleetQuery{Sort: voice.FleetSortUsers, Limit: 1, After: first.Next})
			ve, ok := voice.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, "after", ve.Field)
			_, err = e.svc.Fleet(ctx, voice.FleetQuery{Sort: "sideways"})
			ve, ok = voice.AsError(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, "sort", ve.Field)
			byUsers, err := e.svc.Fleet(ctx, voice.FleetQuery{Sort: voice.FleetSortUsers})
			require.NoError(t, err)
			assert.Equal(t, "contoso", byUsers.Customers[0].Customer)
		})
	}
}
