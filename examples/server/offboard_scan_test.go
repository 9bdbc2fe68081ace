package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/sqldb"
)

// kept says whether a row that still names an offboarded customer is one
// docs/security.md names as kept ("A customer that left"): the audit
// trail, the tombstone for its retention, customer.offboarded and its
// deliveries (its event, delivery rows and delivery job), the fence
// tables (the customer ID and when it was erased), and the offboarding
// job's own River row for the jobs' retention.
func kept(table string, row map[string]string) bool {
	switch {
	case table == "tenantgate_audit":
		return true
	case strings.HasSuffix(table, "_erased"):
		return true
	case table == "tokenstore_records":
		return row["customer"] == "_tenantgate.fleet" && row["kind"] == "fleet.offboarded"
	case table == "tenantgate_events", table == "tenantgate_webhook_deliveries":
		return row["type"] == string(events.CustomerOffboarded)
	case table == "river_job":
		return row["kind"] == "fleet.offboard" ||
			(row["kind"] == events.DeliverKind && strings.Contains(row["args"], string(events.CustomerOffboarded)))
	}
	return false
}

// leftBehind scans every row of every table of db (listed from the
// catalog, so a table added later is covered without changing this test)
// for any of needles, and returns the rows that kept does not allow, as
// "table: column=value ..." lines, and the tables of the rows it allows.
func leftBehind(t *testing.T, db *sql.DB, d sqldb.Dialect, needles []string) (out []string, keptIn map[string]int) {
	t.Helper()
	ctx := t.Context()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`
	if d == sqldb.Postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
	}
	rows, err := db.QueryContext(ctx, q)
	require.NoError(t, err)
	var tables []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		tables = append(tables, n)
	}
	require.NoError(t, rows.Err())
	rows.Close()
	require.NotEmpty(t, tables)
	keptIn = map[string]int{}
	for _, table := range tables {
		rs, err := db.QueryContext(ctx, `SELECT * FROM `+table)
		require.NoError(t, err, table)
		cols, err := rs.Columns()
		require.NoError(t, err)
		for rs.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rs.Scan(ptrs...))
			row := map[string]string{}
			var all strings.Builder
			for i, c := range cols {
				var s string
				switch v := vals[i].(type) {
				case nil:
				case []byte:
					s = string(v)
				default:
					s = fmt.Sprint(v)
				}
				row[c] = s
				fmt.Fprintf(&all, " %s=%.80q", c, s)
			}
			text := strings.ToLower(all.String())
			for _, n := range needles {
				if !strings.Contains(text, strings.ToLower(n)) {
					continue
				}
				if kept(table, row) {
					keptIn[table]++
				} else {
					out = append(out, table+":"+all.String())
				}
				break
			}
		}
		require.NoError(t, rs.Err())
		rs.Close()
	}
	return out, keptIn
}

// TestOffboardingLeavesNothing: a customer with everything (a token
// connection, invitations, synced users, a QoE subscription and calls,
// voice ranges, numbers, operations, profiles and plans, events and
// webhook deliveries, credential-use counts, River jobs, its audit trail)
// is offboarded; then every row of every table of every database of the
// portal is scanned for its customer ID, tenant ID and the invitation's
// recipient: only what docs/security.md names as kept may remain. A
// table added later that keeps customer data fails this test.
func TestOffboardingLeavesNothing(t *testing.T) {
	t.Parallel()
	secret := events.GenerateSecret()
	rcv := newHookReceiver(t, secret)
	dir := t.TempDir()
	d := startDemo(t, dir, "-demo-users", "100", "-webhook-url", rcv.srv.URL+"/hooks", "-webhook-secret", secret)
	tenantID := d.a.tenant.ID
	recipient := "admin@" + demoDomain

	connectWithoutBrowser(t, d) // tokens, an invitation, connection.connected
	rcv.waitFor(t, events.ConnectionConnected, "contoso")
	d.api(t, "POST", "/api/customers/contoso/m365/invitations", `{}`, http.StatusCreated, nil) // a pending one too
	var run struct {
		State string `json:"state"`
	}
	d.api(t, "POST", "/api/customers/contoso/users/sync", "", http.StatusAccepted, &run)
	for deadline := time.Now().Add(60 * time.Second); run.State != "succeeded" && time.Now().Before(deadline); {
		time.Sleep(20 * time.Millisecond)
		d.api(t, "GET", "/api/customers/contoso/users/sync", "", http.StatusOK, &run)
	}
	require.Equal(t, "succeeded", run.State)
	d.api(t, "POST", "/dev/calls", `{"count": 5, "pstn": 2}`, http.StatusAccepted, nil)
	d.waitSummary(t, "5 calls", func(s qoeSummary) bool { return s.Calls == 5 })

	ictx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	require.NoError(t, inventoryRead(ictx, d, 100))
	d.api(t, "PUT", "/api/customers/contoso/voice/ranges",
		`{"ranges":[{"name":"Milan","from":"+39020000000","to":"+39029999999","type":"directRouting","quarantineDays":30}]}`, http.StatusOK, nil)
	var op voiceOp
	d.api(t, "PUT", "/api/customers/contoso/users/user00004@"+demoDomain+"/voice",
		`{"number":"+39020000004","licenses":"auto","policies":{"OnlineVoiceRoutingPolicy":"VRP-IT","TenantDialPlan":"DP-IT"}}`, http.StatusAccepted, &op)
	d.waitVoiceOp(t, op.ID)
	d.api(t, "PUT", "/api/customers/contoso/voice/profiles/italy",
		`{"range":"Milan","licenses":"auto","policies":{"OnlineVoiceRoutingPolicy":"VRP-IT","TenantDialPlan":"DP-IT"},"filter":"UsageLocation -eq 'IT'"}`, http.StatusOK, nil)
	d.api(t, "POST", "/api/customers/contoso/voice/plans", `{"profile":"italy"}`, http.StatusCreated, nil)

	// Everything is there before: the scan finds the customer.
	lite := openSQLiteFiles(t, dir)
	var before int
	for _, db := range lite {
		rows, _ := leftBehind(t, db, sqldb.SQLite, []string{"contoso", tenantID, recipient})
		before += len(rows)
	}
	require.Greater(t, before, 100, "the customer's data before offboarding")

	d.api(t, "DELETE", "/api/customers/contoso", "", http.StatusAccepted, nil)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		done, err := d.a.fleet.Offboarded(t.Context(), "contoso")
		require.NoError(t, err)
		if done {
			break
		}
		require.True(t, time.Now().Before(deadline), "offboarding did not finish within 60 s")
	}
	rcv.waitFor(t, events.CustomerOffboarded, "contoso")

	keptIn := map[string]int{}
	for name, db := range lite {
		rows, k := leftBehind(t, db, sqldb.SQLite, []string{"contoso", tenantID, recipient})
		assert.Empty(t, rows, "%s: left behind", name)
		for table, n := range k {
			keptIn[table] += n
		}
	}
	// What is kept on purpose is there (the scan sees the rows it allows).
	for _, table := range []string{"tenantgate_audit", "tokenstore_records", "tenantgate_events"} {
		require.NotZero(t, keptIn[table], "kept rows in %s: %v", table, keptIn)
	}
	t.Logf("kept on purpose: %v", keptIn)
}

// openSQLiteFiles opens every SQLite database of the data directory.
func openSQLiteFiles(t *testing.T, dir string) map[string]*sql.DB {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.db"))
	require.NoError(t, err)
	require.NotEmpty(t, names)
	out := map[string]*sql.DB{}
	for _, n := range names {
		if fi, err := os.Stat(n); err != nil || fi.Size() == 0 {
			continue
		}
		db, err := sql.Open("sqlite", "file:"+n+"?_pragma=busy_timeout(10000)")
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		out[filepath.Base(n)] = db
	}
	return out
}

// TestOffboardingLeavesNothingOnPostgres: the same scan of every table
// of the production portal's PostgreSQL schema, for a customer with what
// production mode can make without Microsoft (sealed settings and
// secrets, an invitation, QoE settings, voice ranges and a profile,
// events, River jobs, its audit trail).
func TestOffboardingLeavesNothingOnPostgres(t *testing.T) {
	t.Parallel()
	a, _, _ := startOnPostgres(t)
	base := "http://" + a.ln.Addr().String()
	c := noRedirect()
	auth := map[string]string{"Authorization": "Bearer " + a.cfg.AdminToken, "Content-Type": "application/json"}
	const tenantID, recipient = "7a1d2c3e-4b5f-4a6b-8c7d-9e0f1a2b3c4d", "it-admin@fabrikam-scan.example"
	steps := []struct{ method, path, body string }{
		{"POST", "/api/customers", `{"customer":"fabrikam-scan","name":"Fabrikam Scan","tenant":"` + tenantID + `","authMode":"appRegistration",` +
			`"serviceAccount":"admin@fabrikam-scan.example","clientId":"22222222-3333-4444-5555-666666666666","clientSecret":"customer-secret-0123456789"}`},
		{"POST", "/api/customers/fabrikam-scan/m365/invitations", `{"to":"` + recipient + `"}`},
		{"PUT", "/api/customers/fabrikam-scan/m365/qoe", `{"appId":"33333333-4444-5555-6666-777777777777","clientSecret":"qoe-secret-0123456789"}`},
		{"PUT", "/api/customers/fabrikam-scan/voice/ranges", `{"ranges":[{"name":"Milan","from":"+39020000000","to":"+39029999999","type":"directRouting"}]}`},
		{"PUT", "/api/customers/fabrikam-scan/voice/profiles/italy", `{"range":"Milan","licenses":"auto"}`},
		{"POST", "/api/customers/fabrikam-scan/m365/validate", ""},
	}
	for _, st := range steps {
		resp, body := do(t, c, st.method, base+st.path, st.body, auth)
		// Microsoft is unreachable here: invitations fail to send (502)
		// and validation fails, but what they store is stored.
		require.NotEqual(t, http.StatusInternalServerError, resp.StatusCode, "%s %s: %s", st.method, st.path, body)
	}
	db, err := sql.Open("pgx", a.cfg.PostgresDSN)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	needles := []string{"fabrikam-scan", tenantID, recipient}
	before, _ := leftBehind(t, db, sqldb.Postgres, needles)
	require.NotEmpty(t, before, "the customer's data before offboarding")

	resp, body := do(t, c, "DELETE", base+"/api/customers/fabrikam-scan", "", auth)
	require.Equal(t, http.StatusAccepted, resp.StatusCode, body)
	for deadline := time.Now().Add(60 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		done, err := a.fleet.Offboarded(t.Context(), "fabrikam-scan")
		require.NoError(t, err)
		if done {
			break
		}
		require.True(t, time.Now().Before(deadline), "offboarding did not finish within 60 s")
	}
	rows, keptIn := leftBehind(t, db, sqldb.Postgres, needles)
	assert.Empty(t, rows, "left behind")
	require.NotZero(t, keptIn["tenantgate_audit"], "kept: %v", keptIn)
	require.NotZero(t, keptIn["tokenstore_erased"], "kept: %v", keptIn)
	t.Logf("before: %d rows; kept on purpose: %v", len(before), keptIn)
}
