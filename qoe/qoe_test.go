package qoe_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/qoe"
)

// TestHundredDemoCalls: after 100 demo calls the summary reads 100
// calls, 24 poor (10 jitter, 10 packet loss, 4 round trip).
func TestHundredDemoCalls(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{})
			ctx := t.Context()
			require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
			st, err := e.svc.Status(ctx, customer)
			require.NoError(t, err)
			require.Equal(t, qoe.StateActive, st.State, "status %+v", st)
			require.NotNil(t, st.ExpiresAt, "status %+v", st)
			require.GreaterOrEqual(t, time.Until(*st.ExpiresAt), 4100*time.Minute, "status %+v", st)
			subs := e.srv.Subscriptions()
			require.Len(t, subs, 1, "fake subscriptions %+v", subs)
			require.Equal(t, "created,updated", subs[0].ChangeType)
			require.Equal(t, e.qoeApp.ClientID, subs[0].ApplicationID)
			_, err = e.srv.PlaceCalls(ctx, e.tenant.ID, 100)
			require.NoError(t, err)
			waitFor(t, "100 calls stored", func() bool { return e.svc.Stats().Stored == 100 })
			sum, err := e.svc.Summary(ctx, customer, today(), today())
			require.NoError(t, err)
			want := qoe.PoorByReason{Jitter: 10, PacketLoss: 10, RoundTrip: 4}
			assert.Equal(t, 100, sum.Calls, "summary %+v", sum)
			assert.Equal(t, 24, sum.PoorCalls, "summary %+v", sum)
			assert.Equal(t, want, sum.PoorByReason)
			assert.Equal(t, 0.24, sum.PoorRate)
			if assert.Len(t, sum.Days, 1, "summary %+v", sum) {
				assert.Equal(t, 100, sum.Days[0].Calls)
				assert.Equal(t, 24, sum.Days[0].PoorCalls)
			}
			page, err := e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Poor: true, Limit: 10})
			require.NoError(t, err)
			n, reasons := 0, map[qoe.Reason]int{}
			for {
				for _, c := range page.Calls {
					n++
					assert.Equal(t, qoe.Poor, c.Quality, "poor call %+v", c)
					assert.Len(t, c.PoorReasons, 1, "poor call %+v", c)
					assert.True(t, strings.HasPrefix(c.Caller, "User "), "poor call %+v", c)
					reasons[c.PoorReasons[0]]++
				}
				if page.Next == "" {
					break
				}
				page, err = e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Poor: true, Limit: 10, After: page.Next})
				require.NoError(t, err)
			}
			assert.Equal(t, 24, n, "poor calls by reason %v", reasons)
			assert.Equal(t, 10, reasons[qoe.ReasonJitter], "poor calls by reason %v", reasons)
			assert.Equal(t, 10, reasons[qoe.ReasonPacketLoss], "poor calls by reason %v", reasons)
			assert.Equal(t, 4, reasons[qoe.ReasonRoundTrip], "poor calls by reason %v", reasons)
			// Each call stored its two audio streams' key metrics.
			ids := e.srv.CallRecordsOf(e.tenant.ID)
			streams, err := e.store.StreamsOf(ctx, customer, ids[0].ID)
			require.NoError(t, err)
			if assert.Len(t, streams, 2) {
				assert.Equal(t, int64(3000), *streams[0].Packets)
			}
		})
	}
}

// TestWrongClientStateRefused: a notification with a wrong clientState
// is refused, counted, and stored nowhere (no job, no call).
func TestWrongClientStateRefused(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{})
			ctx := t.Context()
			require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
			sub := e.srv.Subscriptions()[0]
			rec, err := e.srv.AddCallRecord(ctx, e.tenant.ID, m365test.DemoCall(e.tenant, 3, time.Now()))
			require.NoError(t, err)
			waitFor(t, "genuine call stored", func() bool { return e.svc.Stats().Stored == 1 })
			forged := m365test.DemoCall(e.tenant, 7, time.Now())
			forged.ID = "11111111-2222-3333-4444-000000000007"
			_, err = e.srv.AddCallRecord(ctx, e.tenant.ID, forged)
			require.NoError(t, err)
			waitFor(t, "second genuine call stored", func() bool { return e.svc.Stats().Stored == 2 })
			before := e.jobs(t, qoe.KindFetchCall)
			body := fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":"guessed-state","changeType":"created",
				"resource":"communications/callRecords/%s","resourceData":{"id":"%s"},"tenantId":%q}]}`,
				sub.ID, "99999999-9999-9999-9999-999999999999", "99999999-9999-9999-9999-999999999999", e.tenant.ID)
			status, _ := e.post(t, "/qoe/notifications", body)
			assert.Equal(t, http.StatusForbidden, status, "wrong clientState")
			// The right state with a wrong subscription ID is refused too.
			status, _ = e.post(t, "/qoe/notifications", strings.Replace(body, sub.ID, "00000000-0000-0000-0000-000000000000", 1))
			assert.Equal(t, http.StatusForbidden, status, "unknown subscription")
			assert.Equal(t, before, e.jobs(t, qoe.KindFetchCall), "fetch jobs: the refused notification was queued")
			assert.Equal(t, int64(2), e.svc.Stats().Rejected, "rejected")
			st, _ := e.svc.Status(ctx, customer)
			assert.Equal(t, int64(1), st.Rejected, "status rejected")
			page, err := e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-24 * time.Hour), To: time.Now().Add(time.Hour)})
			require.NoError(t, err)
			require.Len(t, page.Calls, 2, "calls %v", page)
			for _, c := range page.Calls {
				assert.Contains(t, []string{rec, forged.ID}, c.ID, "unexpected call stored")
			}
		})
	}
}

func TestValidationHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{})
	tok := "Validation: Testing client application reachability <script>"
	resp, err := http.Post(e.recv.URL+"/qoe/notifications?validationToken="+strings.ReplaceAll(strings.ReplaceAll(tok, " ", "%20"), "<", "%3C"), "text/plain", nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf strings.Builder
	_, _ = fmt.Fprint(&buf, readBody(resp))
	assert.Equal(t, 200, resp.StatusCode, "validation answer")
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), "validation answer Content-Type %q", resp.Header.Get("Content-Type"))
	assert.Equal(t, tok, buf.String(), "validation answer")
	assert.Equal(t, "nosniff", resp.Header.Get("X-Content-Type-Options"))
	for _, body := range []string{"", "{", `{"value":[]}`, `[]`} {
		status, _ := e.post(t, "/qoe/notifications", body)
		assert.Equal(t, http.StatusBadRequest, status, "body %q", body)
	}
}

func readBody(resp *http.Response) string {
	var sb strings.Builder
	b := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(b)
		sb.Write(b[:n])
		if err != nil {
			return sb.String()
		}
	}
}

// TestCrashBetweenAckAndProcessing: the receiver acknowledges with
// nothing working the jobs, the process goes away, and a new process on
// the same database processes the call.
func TestCrashBetweenAckAndProcessing(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{noStart: true})
			ctx := t.Context()
			require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
			ids, err := e.srv.PlaceCalls(ctx, e.tenant.ID, 3)
			require.NoError(t, err, "the receiver did not acknowledge")
			require.Equal(t, 3, e.jobs(t, qoe.KindFetchCall), "queued jobs")
			st := e.svc.Stats()
			require.Equal(t, int64(3), st.Accepted, "before the crash: %+v", st)
			require.Zero(t, st.Stored, "before the crash: %+v", st)
			// "Crash": drop the Service and its River client; start anew on
			// the same database.
			e.start(t, true)
			waitFor(t, "calls processed after restart", func() bool { return e.svc.Stats().Stored == 3 })
			page, err := e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
			require.NoError(t, err)
			require.Len(t, page.Calls, 3, "calls after restart: %+v", page)
			for _, c := range page.Calls {
				assert.Contains(t, ids[:3], c.ID, "stored an unknown call")
			}
		})
	}
}

// TestSameRecordTwiceAndNewerVersion: a record notified twice is stored
// once; a higher version replaces it.
func TestSameRecordTwiceAndNewerVersion(t *testing.T) {
	t.Parallel()
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b, envOptions{})
			ctx := t.Context()
			require.NoError(t, e.svc.EnsureSubscription(ctx, customer))
			good := m365test.DemoCall(e.tenant, 0, time.Now())
			id, err := e.srv.AddCallRecord(ctx, e.tenant.ID, good)
			require.NoError(t, err)
			waitFor(t, "stored", func() bool { return e.svc.Stats().Stored == 1 })
			sub := e.srv.Subscriptions()[0]
			note, _ := json.Marshal(map[string]any{"value": []any{
				map[string]any{"subscriptionId": sub.ID, "clientState": sub.ClientState, "changeType": "created", "resource": "communications/callRecords/" + id, "resourceData": map[string]any{"id": id}},
				map[string]any{"subscriptionId": sub.ID, "clientState": sub.ClientState, "changeType": "created", "resource": "communications/callRecords/" + id, "resourceData": map[string]any{"id": id}},
			}})
			for range 2 {
				status, _ := e.post(t, "/qoe/notifications", string(note))
				require.Equal(t, http.StatusAccepted, status, "duplicate")
			}
			// The receiver answered after queuing: once no fetch is in
			// flight, the duplicates were fetched (or merged at insert).
			e.waitIdle(t, qoe.KindFetchCall)
			assert.Equal(t, int64(1), e.svc.Stats().Stored, "stored times")
			// Version 2 makes the caller's stream lose packets.
			bad := m365test.DemoCall(e.tenant, 7, good.End)
			bad.ID = id
			require.NoError(t, e.srv.UpdateCallRecord(ctx, e.tenant.ID, bad))
			waitFor(t, "version 2 stored", func() bool { return e.svc.Stats().Stored == 2 })
			sum, _ := e.svc.Summary(ctx, customer, today(), today())
			assert.Equal(t, 1, sum.Calls, "after version 2: %+v", sum)
			assert.Equal(t, 1, sum.PoorCalls, "after version 2: %+v", sum)
			assert.Equal(t, 1, sum.PoorByReason.PacketLoss, "after version 2: %+v", sum)
		})
	}
}

func TestThrottlingSlowsOnlyThatCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{})
	ctx := t.Context()
	fab, err := e.srv.AddTenant(m365test.TenantOptions{Domains: []string{"fabrikam.onmicrosoft.com"}, DisplayName: "Fabrikam", Users: 10})
	require.NoError(t, err)
	app := e.addQoEApp(t, fab, qoe.RoleCallRecords)
	e.saveQoE(t, "fabrikam", fab, app.ClientID)
	for _, c := range []string{customer, "fabrikam"} {
		require.NoError(t, e.svc.EnsureSubscription(ctx, c))
	}
	// Contoso's first call-record fetch is throttled for retryAfter:
	// fabrikam's calls must all be processed while contoso still waits,
	// and contoso's only after the wait. The assertions compare the two
	// customers, not wall-clock budgets, so a loaded machine only
	// stretches the test.
	const retryAfter = 5 * time.Second
	e.srv.InjectFault(m365test.Fault{Tenant: e.tenant.ID, Endpoint: m365test.EndpointCallRecords, Status: 429, RetryAfter: retryAfter, Times: 1})
	start := time.Now()
	_, err = e.srv.PlaceCalls(ctx, e.tenant.ID, 5)
	require.NoError(t, err)
	_, err = e.srv.PlaceCalls(ctx, fab.ID, 5)
	require.NoError(t, err)
	var contosoWhenFabDone int
	waitFor(t, "fabrikam processed", func() bool {
		s, _ := e.svc.Summary(ctx, "fabrikam", today(), today())
		if s.Calls != 5 {
			return false
		}
		c, _ := e.svc.Summary(ctx, customer, today(), today())
		contosoWhenFabDone = c.Calls
		return true
	})
	waitFor(t, "contoso processed", func() bool {
		s, _ := e.svc.Summary(ctx, customer, today(), today())
		return s.Calls == 5
	})
	contosoDone := time.Since(start)
	assert.GreaterOrEqual(t, e.svc.Stats().Throttled, int64(1), "throttled times")
	assert.NotEqual(t, 5, contosoWhenFabDone, "contoso's calls were all processed before fabrikam's: the throttle did not hold contoso back")
	assert.GreaterOrEqual(t, contosoDone, retryAfter*9/10, "contoso done before its Retry-After of %v", retryAfter)
}
