package audit_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

func newLog(t *testing.T, db testdb.DB) *audit.Log {
	t.Helper()
	l, err := audit.New(t.Context(), audit.Options{DB: db.DB, Dialect: db.Dialect})
	require.NoError(t, err)
	return l
}

func TestAppendListNewestFirstPaged(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			l := newLog(t, db)
			base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			for i := range 7 {
				customer := "contoso"
				if i%2 == 1 {
					customer = "fabrikam"
				}
				require.NoError(t, l.Append(t.Context(), audit.Entry{At: base.Add(time.Duration(i) * time.Minute), Actor: "admin@provider.example",
					Action: fmt.Sprintf("action.%d", i), Customer: customer, Outcome: audit.Succeeded, RequestID: fmt.Sprintf("req-%d", i)}))
			}
			// contoso has actions 0, 2, 4, 6: newest first, two per page.
			var got []string
			q := audit.Query{Customer: "contoso", Limit: 2}
			for pages := 0; ; pages++ {
				p, err := l.List(t.Context(), q)
				require.NoError(t, err)
				for _, e := range p.Entries {
					got = append(got, e.Action)
					assert.Equal(t, "contoso", e.Customer, "entry %+v", e)
					assert.Equal(t, "admin@provider.example", e.Actor, "entry %+v", e)
					assert.Equal(t, audit.Succeeded, e.Outcome, "entry %+v", e)
					assert.Equal(t, time.UTC, e.At.Location(), "entry %+v", e)
				}
				if p.Next == "" {
					assert.Equal(t, 2, pages+1, "pages")
					break
				}
				q.After = p.Next
			}
			assert.Equal(t, "action.6,action.4,action.2,action.0", strings.Join(got, ","), "contoso's trail")
			all, err := l.List(t.Context(), audit.Query{})
			require.NoError(t, err)
			assert.Empty(t, all.Next, "all")
			require.Len(t, all.Entries, 7)
			assert.Equal(t, "action.6", all.Entries[0].Action)
			assert.Equal(t, "req-6", all.Entries[0].RequestID)
			_, err = l.List(t.Context(), audit.Query{After: "bm9wZQ"})
			assert.ErrorIs(t, err, audit.ErrBadCursor, "a forged cursor")
			empty, err := l.List(t.Context(), audit.Query{Customer: "nobody"})
			require.NoError(t, err)
			assert.NotNil(t, empty.Entries, "no entries: want an empty, non-nil list")
			assert.Empty(t, empty.Entries, "no entries")
		})
	}
}

func TestTrailIsAppendOnly(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			l := newLog(t, db)
			require.NoError(t, l.Append(t.Context(), audit.Entry{Actor: "a", Action: "settings.write", Customer: "contoso", Outcome: audit.Succeeded}))
			for _, stmt := range []string{
				`UPDATE tenantgate_audit SET actor = 'someone else'`,
				`DELETE FROM tenantgate_audit`,
			} {
				_, err := db.DB.ExecContext(t.Context(), stmt)
				assert.ErrorContains(t, err, "append-only", "%s: want the trail to refuse", stmt)
			}
			if db.Dialect == audit.Postgres {
				_, err := db.DB.ExecContext(t.Context(), `TRUNCATE tenantgate_audit`)
				assert.Error(t, err, "TRUNCATE succeeded")
			}
			p, err := l.List(t.Context(), audit.Query{})
			require.NoError(t, err, "after the refused changes")
			require.Len(t, p.Entries, 1, "after the refused changes")
			assert.Equal(t, "a", p.Entries[0].Actor, "after the refused changes")
		})
	}
}

func TestAppendChecksAndScrubs(t *testing.T) {
	t.Parallel()
	l := newLog(t, testdb.SQLite(t))
	bad := map[string]audit.Entry{
		"no actor":        {Action: "x", Outcome: audit.Succeeded},
		"no action":       {Actor: "a", Outcome: audit.Succeeded},
		"unknown outcome": {Actor: "a", Action: "x", Outcome: "maybe"},
		"control chars":   {Actor: "a\nforged: entry", Action: "x", Outcome: audit.Succeeded},
		"long customer":   {Actor: "a", Action: "x", Customer: strings.Repeat("c", audit.MaxCustomerLen+1), Outcome: audit.Succeeded},
	}
	for name, e := range bad {
		assert.Error(t, l.Append(t.Context(), e), "%s: Append accepted %+v", name, e)
	}
	secret := "0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1w~x"
	require.NoError(t, l.Append(t.Context(), audit.Entry{Actor: "admin", Action: "settings.write", Customer: "contoso", Outcome: audit.Failed,
		Detail: "invalid_settings: appSecret " + secret + " see https://portal.example/x?token=abc"}))
	p, err := l.List(t.Context(), audit.Query{})
	require.NoError(t, err)
	require.NotEmpty(t, p.Entries)
	d := p.Entries[0].Detail
	assert.NotContains(t, d, secret, "detail")
	assert.NotContains(t, d, "://", "detail")
	assert.True(t, strings.HasPrefix(d, "invalid_settings"), "detail = %q", d)
}

type fakeCred struct{ n int }

func (f *fakeCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.n++
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestCredentialUseCountedPerHour(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			a, b := newLog(t, db), newLog(t, db) // two replicas
			inner := &fakeCred{}
			ca, cb := a.Credential("contoso", inner), b.Credential("contoso", inner)
			for range 5 {
				_, err := ca.GetToken(t.Context(), policy.TokenRequestOptions{})
				require.NoError(t, err)
			}
			for range 3 {
				_, _ = cb.GetToken(t.Context(), policy.TokenRequestOptions{})
			}
			b.CountUse("fabrikam")
			assert.Equal(t, 8, inner.n, "calls of the wrapped credential")
			for _, l := range []*audit.Log{a, b, a} { // a second Flush adds nothing
				require.NoError(t, l.Flush(t.Context()))
			}
			now := time.Now()
			use, err := a.CredentialUse(t.Context(), "contoso", now.Add(-time.Hour), now.Add(time.Hour))
			require.NoError(t, err)
			if assert.Len(t, use, 1, "contoso's use") {
				assert.Equal(t, int64(8), use[0].Uses, "contoso's use in this hour")
				assert.True(t, use[0].Hour.Equal(now.Truncate(time.Hour)), "contoso's use: hour %v, want %v", use[0].Hour, now.Truncate(time.Hour))
			}
			fuse, _ := b.CredentialUse(t.Context(), "fabrikam", now.Add(-time.Hour), now.Add(time.Hour))
			if assert.Len(t, fuse, 1, "fabrikam's use") {
				assert.Equal(t, int64(1), fuse[0].Uses, "fabrikam's use")
			}
		})
	}
}

// TestAppendKeepsRequestIDs: the portal's request IDs (24 hex digits)
// and Graph's (GUIDs) stay in the trail, so an entry can be tied to its
// logs; a token sent as a request ID is still scrubbed.
func TestAppendKeepsRequestIDs(t *testing.T) {
	t.Parallel()
	l := newLog(t, testdb.SQLite(t))
	for _, id := range []string{"0123456789abcdef01234567", "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0"} {
		require.NoError(t, l.Append(t.Context(), audit.Entry{Actor: "admin", Action: "sync.start", Outcome: audit.Succeeded, RequestID: id}))
	}
	p, err := l.List(t.Context(), audit.Query{})
	require.NoError(t, err)
	got := map[string]bool{}
	for _, e := range p.Entries {
		got[e.RequestID] = true
	}
	for _, want := range []string{"0123456789abcdef01234567", "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "[redacted]"} {
		assert.True(t, got[want], "request IDs stored %v; want %q among them", got, want)
	}
}
