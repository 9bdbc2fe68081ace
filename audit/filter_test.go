package audit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// TestListFilters: customer, action, outcome and time range select
// entries together; pages of a filtered query follow its cursor; a
// cursor of another query, or edited, is ErrBadCursor.
func TestListFilters(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			l := newLog(t, db)
			base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			outcomes := []audit.Outcome{audit.Succeeded, audit.Failed, audit.Denied}
			for i := range 30 {
				require.NoError(t, l.Append(t.Context(), audit.Entry{At: base.Add(time.Duration(i) * time.Minute), Actor: "admin",
					Action: []string{"settings.write", "users.sync"}[i%2], Customer: []string{"contoso", "fabrikam"}[i/15],
					Outcome: outcomes[i%3], RequestID: fmt.Sprintf("req-%d", i)}))
			}
			ids := func(q audit.Query) []string {
				t.Helper()
				var out []string
				for {
					p, err := l.List(t.Context(), q)
					require.NoError(t, err)
					for _, e := range p.Entries {
						out = append(out, e.RequestID)
					}
					if p.Next == "" {
						return out
					}
					q.After = p.Next
				}
			}
			for _, tc := range []struct {
				name string
				q    audit.Query
				want []string
			}{
				{"customer", audit.Query{Customer: "fabrikam", Limit: 4}, reqs(29, 28, 27, 26, 25, 24, 23, 22, 21, 20, 19, 18, 17, 16, 15)},
				{"action", audit.Query{Customer: "contoso", Action: "users.sync", Limit: 2}, reqs(13, 11, 9, 7, 5, 3, 1)},
				{"outcome", audit.Query{Outcome: audit.Denied, Limit: 3}, reqs(29, 26, 23, 20, 17, 14, 11, 8, 5, 2)},
				{"action and outcome", audit.Query{Action: "settings.write", Outcome: audit.Succeeded}, reqs(24, 18, 12, 6, 0)},
				{"time range", audit.Query{From: base.Add(10 * time.Minute), To: base.Add(13 * time.Minute), Limit: 1}, reqs(12, 11, 10)},
				{"nothing", audit.Query{Customer: "contoso", From: base.Add(20 * time.Minute)}, nil},
			} {
				assert.Equal(t, tc.want, ids(tc.q), tc.name)
			}

			first, err := l.List(t.Context(), audit.Query{Customer: "contoso", Limit: 2})
			require.NoError(t, err)
			require.NotEmpty(t, first.Next)
			for name, q := range map[string]audit.Query{
				"another customer": {Customer: "fabrikam", Limit: 2, After: first.Next},
				"another outcome":  {Customer: "contoso", Outcome: audit.Failed, After: first.Next},
				"edited":           {Customer: "contoso", After: first.Next[:len(first.Next)-2] + "AA"},
				"made up":          {Customer: "contoso", After: "YTQy"},
			} {
				_, err := l.List(t.Context(), q)
				assert.ErrorIs(t, err, audit.ErrBadCursor, name)
			}
			// The same query with another page size keeps its place.
			p, err := l.List(t.Context(), audit.Query{Customer: "contoso", Limit: 5, After: first.Next})
			require.NoError(t, err)
			require.Len(t, p.Entries, 5)
			assert.Equal(t, "req-12", p.Entries[0].RequestID)
		})
	}
}

func reqs(ns ...int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = fmt.Sprintf("req-%d", n)
	}
	return out
}
