package audit_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

func newLog(t *testing.T, db testdb.DB) *audit.Log {
	t.Helper()
	l, err := audit.New(t.Context(), audit.Options{DB: db.DB, Dialect: db.Dialect})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestAppendListNewestFirstPaged(t *testing.T) {
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			l := newLog(t, db)
			base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			for i := range 7 {
				customer := "contoso"
				if i%2 == 1 {
					customer = "fabrikam"
				}
				if err := l.Append(t.Context(), audit.Entry{At: base.Add(time.Duration(i) * time.Minute), Actor: "admin@provider.example",
					Action: fmt.Sprintf("action.%d", i), Customer: customer, Outcome: audit.Succeeded, RequestID: fmt.Sprintf("req-%d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			// contoso has actions 0, 2, 4, 6: newest first, two per page.
			var got []string
			q := audit.Query{Customer: "contoso", Limit: 2}
			for pages := 0; ; pages++ {
				p, err := l.List(t.Context(), q)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range p.Entries {
					got = append(got, e.Action)
					if e.Customer != "contoso" || e.Actor != "admin@provider.example" || e.Outcome != audit.Succeeded || e.At.Location() != time.UTC {
						t.Errorf("entry %+v", e)
					}
				}
				if p.Next == "" {
					if pages != 1 {
						t.Errorf("%d pages, want 2", pages+1)
					}
					break
				}
				q.After = p.Next
			}
			if strings.Join(got, ",") != "action.6,action.4,action.2,action.0" {
				t.Errorf("contoso's trail = %v", got)
			}
			all, err := l.List(t.Context(), audit.Query{})
			if err != nil || len(all.Entries) != 7 || all.Next != "" || all.Entries[0].Action != "action.6" || all.Entries[0].RequestID != "req-6" {
				t.Errorf("all = %+v, %v", all, err)
			}
			if _, err := l.List(t.Context(), audit.Query{After: "bm9wZQ"}); !errors.Is(err, audit.ErrBadCursor) {
				t.Errorf("a forged cursor: %v", err)
			}
			empty, err := l.List(t.Context(), audit.Query{Customer: "nobody"})
			if err != nil || empty.Entries == nil || len(empty.Entries) != 0 {
				t.Errorf("no entries: %+v, %v (want an empty, non-nil list)", empty, err)
			}
		})
	}
}

func TestTrailIsAppendOnly(t *testing.T) {
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			l := newLog(t, db)
			if err := l.Append(t.Context(), audit.Entry{Actor: "a", Action: "settings.write", Customer: "contoso", Outcome: audit.Succeeded}); err != nil {
				t.Fatal(err)
			}
			for _, stmt := range []string{
				`UPDATE tenantgate_audit SET actor = 'someone else'`,
				`DELETE FROM tenantgate_audit`,
			} {
				if _, err := db.DB.ExecContext(t.Context(), stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: err = %v, want the trail to refuse", stmt, err)
				}
			}
			if db.Dialect == audit.Postgres {
				if _, err := db.DB.ExecContext(t.Context(), `TRUNCATE tenantgate_audit`); err == nil {
					t.Error("TRUNCATE succeeded")
				}
			}
			p, err := l.List(t.Context(), audit.Query{})
			if err != nil || len(p.Entries) != 1 || p.Entries[0].Actor != "a" {
				t.Errorf("after the refused changes: %+v, %v", p, err)
			}
		})
	}
}

func TestAppendChecksAndScrubs(t *testing.T) {
	l := newLog(t, testdb.SQLite(t))
	bad := map[string]audit.Entry{
		"no actor":        {Action: "x", Outcome: audit.Succeeded},
		"no action":       {Actor: "a", Outcome: audit.Succeeded},
		"unknown outcome": {Actor: "a", Action: "x", Outcome: "maybe"},
		"control chars":   {Actor: "a\nforged: entry", Action: "x", Outcome: audit.Succeeded},
		"long customer":   {Actor: "a", Action: "x", Customer: strings.Repeat("c", audit.MaxCustomerLen+1), Outcome: audit.Succeeded},
	}
	for name, e := range bad {
		if err := l.Append(t.Context(), e); err == nil {
			t.Errorf("%s: Append accepted %+v", name, e)
		}
	}
	secret := "0aB1cD2eF3gH4iJ5kL6mN7oP8qR9sT0uV1w~x"
	if err := l.Append(t.Context(), audit.Entry{Actor: "admin", Action: "settings.write", Customer: "contoso", Outcome: audit.Failed,
		Detail: "invalid_settings: appSecret " + secret + " see https://portal.example/x?token=abc"}); err != nil {
		t.Fatal(err)
	}
	p, _ := l.List(t.Context(), audit.Query{})
	if d := p.Entries[0].Detail; strings.Contains(d, secret) || strings.Contains(d, "://") || !strings.HasPrefix(d, "invalid_settings") {
		t.Errorf("detail = %q", d)
	}
}

type fakeCred struct{ n int }

func (f *fakeCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.n++
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestCredentialUseCountedPerHour(t *testing.T) {
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			a, b := newLog(t, db), newLog(t, db) // two replicas
			inner := &fakeCred{}
			ca, cb := a.Credential("contoso", inner), b.Credential("contoso", inner)
			for range 5 {
				if _, err := ca.GetToken(t.Context(), policy.TokenRequestOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			for range 3 {
				_, _ = cb.GetToken(t.Context(), policy.TokenRequestOptions{})
			}
			b.CountUse("fabrikam")
			if inner.n != 8 {
				t.Errorf("the wrapped credential was called %d times, want 8", inner.n)
			}
			for _, l := range []*audit.Log{a, b, a} { // a second Flush adds nothing
				if err := l.Flush(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			now := time.Now()
			use, err := a.CredentialUse(t.Context(), "contoso", now.Add(-time.Hour), now.Add(time.Hour))
			if err != nil {
				t.Fatal(err)
			}
			if len(use) != 1 || use[0].Uses != 8 || !use[0].Hour.Equal(now.Truncate(time.Hour)) {
				t.Errorf("contoso's use = %+v, want 8 in this hour", use)
			}
			if use, _ := b.CredentialUse(t.Context(), "fabrikam", now.Add(-time.Hour), now.Add(time.Hour)); len(use) != 1 || use[0].Uses != 1 {
				t.Errorf("fabrikam's use = %+v", use)
			}
		})
	}
}

// TestAppendKeepsRequestIDs: the portal's request IDs (24 hex digits)
// and Graph's (GUIDs) stay in the trail, so an entry can be tied to its
// logs; a token sent as a request ID is still scrubbed.
func TestAppendKeepsRequestIDs(t *testing.T) {
	l := newLog(t, testdb.SQLite(t))
	for _, id := range []string{"0123456789abcdef01234567", "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0In0"} {
		if err := l.Append(t.Context(), audit.Entry{Actor: "admin", Action: "sync.start", Outcome: audit.Succeeded, RequestID: id}); err != nil {
			t.Fatal(err)
		}
	}
	p, err := l.List(t.Context(), audit.Query{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, e := range p.Entries {
		got[e.RequestID] = true
	}
	for _, want := range []string{"0123456789abcdef01234567", "6f9619ff-8b86-d011-b42d-00cf4fc964ff", "[redacted]"} {
		if !got[want] {
			t.Errorf("request IDs stored %v; want %q among them", got, want)
		}
	}
}
