package audit_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// tamper runs stmt on the audit table as someone with write access to
// the database would: the append-only triggers dropped first.
func tamper(t *testing.T, db testdb.DB, stmt string) {
	t.Helper()
	drop := []string{`DROP TRIGGER tenantgate_audit_no_update`, `DROP TRIGGER tenantgate_audit_no_delete`}
	if db.Dialect == audit.Postgres {
		drop = []string{`DROP TRIGGER tenantgate_audit_no_change ON tenantgate_audit`}
	}
	for _, d := range drop {
		_, _ = db.DB.ExecContext(t.Context(), d)
	}
	_, err := db.DB.ExecContext(t.Context(), stmt)
	require.NoError(t, err)
}

// TestChainVerify: each customer's entries form a hash chain; Verify
// finds it intact, and reports the first broken link after an entry is
// changed, removed or inserted behind the library's back.
func TestChainVerify(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		stmt   string
		reason string
		at     int // position of the first broken link
	}{
		{"an entry changed", `UPDATE tenantgate_audit SET outcome = 'failed' WHERE action = 'action.2'`, "hash", 3},
		{"an entry removed", `DELETE FROM tenantgate_audit WHERE action = 'action.2'`, "link", 3},
		{"an entry inserted", `INSERT INTO tenantgate_audit (at, actor, action, customer, outcome, request_id, detail, prev_hash, hash)
			VALUES (1, 'x', 'action.forged', 'contoso', 'succeeded', '', '', '', '00')`, "link", 6},
	}
	for i, db := range testdb.All(t) {
		for _, c := range cases {
			t.Run(db.Name+"/"+c.name, func(t *testing.T) {
				mine := testdb.All(t)[i] // a database of its own: the triggers are dropped
				l := newLog(t, mine)
				base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
				for i := range 5 {
					require.NoError(t, l.Append(t.Context(), audit.Entry{At: base.Add(time.Duration(i) * time.Minute), Actor: "admin@provider.example",
						Action: fmt.Sprintf("action.%d", i), Customer: "contoso", Outcome: audit.Succeeded}))
					require.NoError(t, l.Append(t.Context(), audit.Entry{Actor: "admin@provider.example", Action: "other", Customer: "fabrikam", Outcome: audit.Succeeded}))
				}
				rep, err := l.Verify(t.Context(), "contoso")
				require.NoError(t, err)
				assert.True(t, rep.Intact)
				assert.Equal(t, 5, rep.Entries)
				assert.Nil(t, rep.FirstBroken)

				tamper(t, mine, c.stmt)
				rep, err = l.Verify(t.Context(), "contoso")
				require.NoError(t, err)
				assert.False(t, rep.Intact)
				require.NotNil(t, rep.FirstBroken)
				assert.Equal(t, c.reason, rep.FirstBroken.Reason)
				assert.Equal(t, c.at, rep.FirstBroken.Position)
				other, err := l.Verify(t.Context(), "fabrikam")
				require.NoError(t, err)
				assert.True(t, other.Intact, "another customer's chain is not affected")
			})
		}
	}
}

// TestChainKey: with a ChainKey, recomputing the hashes without it does
// not verify.
func TestChainKey(t *testing.T) {
	t.Parallel()
	db := testdb.All(t)[0]
	keyed, err := audit.New(t.Context(), audit.Options{DB: db.DB, Dialect: db.Dialect, ChainKey: []byte("kept-outside-the-database")})
	require.NoError(t, err)
	require.NoError(t, keyed.Append(t.Context(), audit.Entry{Actor: "a", Action: "x", Customer: "contoso", Outcome: audit.Succeeded}))
	rep, err := keyed.Verify(t.Context(), "contoso")
	require.NoError(t, err)
	assert.True(t, rep.Intact)
	unkeyed := newLog(t, db)
	rep, err = unkeyed.Verify(t.Context(), "contoso")
	require.NoError(t, err)
	assert.False(t, rep.Intact, "an unkeyed hash (what a database writer can compute) is not the keyed one")
	assert.Equal(t, "hash", rep.FirstBroken.Reason)
}

// TestCustomerIDLimit: every customer ID the tokenstore accepts (512
// bytes) can be audited; longer is refused.
func TestCustomerIDLimit(t *testing.T) {
	t.Parallel()
	l := newLog(t, testdb.All(t)[0])
	require.NoError(t, l.Append(t.Context(), audit.Entry{Actor: "a", Action: "x", Customer: strings.Repeat("c", 512), Outcome: audit.Succeeded}))
	assert.Error(t, l.Append(t.Context(), audit.Entry{Actor: "a", Action: "x", Customer: strings.Repeat("c", 513), Outcome: audit.Succeeded}))
}

// TestOffboardErasesUsage: offboarding erases the customer's credential
// use counts (flushed or not) and keeps its audit entries.
func TestOffboardErasesUsage(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			l := newLog(t, db)
			require.NoError(t, l.Append(t.Context(), audit.Entry{Actor: "a", Action: "x", Customer: "contoso", Outcome: audit.Succeeded}))
			l.CountUse("contoso")
			l.CountUse("fabrikam")
			require.NoError(t, l.Flush(t.Context()))
			l.CountUse("contoso") // not flushed yet
			require.NoError(t, l.Offboard(t.Context(), "contoso"))
			require.NoError(t, l.Flush(t.Context()))
			since := time.Now().Add(-2 * time.Hour)
			use, err := l.CredentialUse(t.Context(), "contoso", since, time.Now().Add(time.Hour))
			require.NoError(t, err)
			assert.Empty(t, use)
			other, err := l.CredentialUse(t.Context(), "fabrikam", since, time.Now().Add(time.Hour))
			require.NoError(t, err)
			assert.NotEmpty(t, other)
			p, err := l.List(t.Context(), audit.Query{Customer: "contoso"})
			require.NoError(t, err)
			assert.Len(t, p.Entries, 1, "the audit trail is kept")

			// A use that raced the offboarding (counted after the erase)
			// is refused by the fence and dropped, not retried forever.
			l.CountUse("contoso")
			require.NoError(t, l.Flush(t.Context()))
			require.NoError(t, l.Flush(t.Context()))
			use, err = l.CredentialUse(t.Context(), "contoso", since, time.Now().Add(time.Hour))
			require.NoError(t, err)
			assert.Empty(t, use, "a late use leaves nothing behind")
			require.NoError(t, l.Append(t.Context(), audit.Entry{Actor: "a", Action: "customer.offboard", Customer: "contoso", Outcome: audit.Succeeded}),
				"the trail itself is not fenced")
			// Created again: counted again.
			require.NoError(t, l.Unfence(t.Context(), "contoso"))
			l.CountUse("contoso")
			require.NoError(t, l.Flush(t.Context()))
			use, err = l.CredentialUse(t.Context(), "contoso", since, time.Now().Add(time.Hour))
			require.NoError(t, err)
			assert.NotEmpty(t, use)
		})
	}
}

// TestChainKeyAddedLater: a trail started without a ChainKey verifies
// once the key is set (the earlier entries with plain SHA-256, the later
// with the key); an entry appended without the key after keyed ones is
// a broken link.
func TestChainKeyAddedLater(t *testing.T) {
	t.Parallel()
	db := testdb.All(t)[0]
	plain := newLog(t, db)
	require.NoError(t, plain.Append(t.Context(), audit.Entry{Actor: "a", Action: "before.key", Customer: "contoso", Outcome: audit.Succeeded}))
	keyed, err := audit.New(t.Context(), audit.Options{DB: db.DB, Dialect: db.Dialect, ChainKey: []byte("kept-outside-the-database")})
	require.NoError(t, err)
	require.NoError(t, keyed.Append(t.Context(), audit.Entry{Actor: "a", Action: "after.key", Customer: "contoso", Outcome: audit.Succeeded}))
	rep, err := keyed.Verify(t.Context(), "contoso")
	require.NoError(t, err)
	assert.True(t, rep.Intact, "%+v", rep.FirstBroken)
	assert.Equal(t, 2, rep.Entries)

	require.NoError(t, plain.Append(t.Context(), audit.Entry{Actor: "a", Action: "without.key", Customer: "contoso", Outcome: audit.Succeeded}))
	rep, err = keyed.Verify(t.Context(), "contoso")
	require.NoError(t, err)
	require.NotNil(t, rep.FirstBroken)
	assert.Equal(t, "unkeyed", rep.FirstBroken.Reason)
	assert.Equal(t, 3, rep.FirstBroken.Position)
}
