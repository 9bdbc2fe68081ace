package qoe_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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
			if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
				t.Fatal(err)
			}
			st, err := e.svc.Status(ctx, customer)
			if err != nil || st.State != qoe.StateActive || st.ExpiresAt == nil || time.Until(*st.ExpiresAt) < 4100*time.Minute {
				t.Fatalf("status %+v %v", st, err)
			}
			subs := e.srv.Subscriptions()
			if len(subs) != 1 || subs[0].ChangeType != "created,updated" || subs[0].ApplicationID != e.qoeApp.ClientID {
				t.Fatalf("fake subscriptions %+v", subs)
			}
			if _, err := e.srv.PlaceCalls(ctx, e.tenant.ID, 100); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "100 calls stored", func() bool { return e.svc.Stats().Stored == 100 })
			sum, err := e.svc.Summary(ctx, customer, today(), today())
			if err != nil {
				t.Fatal(err)
			}
			want := qoe.PoorByReason{Jitter: 10, PacketLoss: 10, RoundTrip: 4}
			if sum.Calls != 100 || sum.PoorCalls != 24 || sum.PoorByReason != want || sum.PoorRate != 0.24 ||
				len(sum.Days) != 1 || sum.Days[0].Calls != 100 || sum.Days[0].PoorCalls != 24 {
				t.Errorf("summary %+v", sum)
			}
			page, err := e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Poor: true, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			n, reasons := 0, map[qoe.Reason]int{}
			for {
				for _, c := range page.Calls {
					n++
					if c.Quality != qoe.Poor || len(c.PoorReasons) != 1 || !strings.HasPrefix(c.Caller, "User ") {
						t.Errorf("poor call %+v", c)
					}
					reasons[c.PoorReasons[0]]++
				}
				if page.Next == "" {
					break
				}
				if page, err = e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour), Poor: true, Limit: 10, After: page.Next}); err != nil {
					t.Fatal(err)
				}
			}
			if n != 24 || reasons[qoe.ReasonJitter] != 10 || reasons[qoe.ReasonPacketLoss] != 10 || reasons[qoe.ReasonRoundTrip] != 4 {
				t.Errorf("poor calls %d by reason %v", n, reasons)
			}
			// Each call stored its two audio streams' key metrics.
			ids := e.srv.CallRecordsOf(e.tenant.ID)
			streams, err := e.store.StreamsOf(ctx, customer, ids[0].ID)
			if err != nil || len(streams) != 2 || *streams[0].Packets != 3000 {
				t.Errorf("streams %+v %v", streams, err)
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
			if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
				t.Fatal(err)
			}
			sub := e.srv.Subscriptions()[0]
			rec, err := e.srv.AddCallRecord(ctx, e.tenant.ID, m365test.DemoCall(e.tenant, 3, time.Now()))
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "genuine call stored", func() bool { return e.svc.Stats().Stored == 1 })
			forged := m365test.DemoCall(e.tenant, 7, time.Now())
			forged.ID = "11111111-2222-3333-4444-000000000007"
			if _, err := e.srv.AddCallRecord(ctx, e.tenant.ID, forged); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "second genuine call stored", func() bool { return e.svc.Stats().Stored == 2 })
			before := e.jobs(t, qoe.KindFetchCall)
			body := fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":"guessed-state","changeType":"created",
				"resource":"communications/callRecords/%s","resourceData":{"id":"%s"},"tenantId":%q}]}`,
				sub.ID, "99999999-9999-9999-9999-999999999999", "99999999-9999-9999-9999-999999999999", e.tenant.ID)
			status, _ := e.post(t, "/qoe/notifications", body)
			if status != http.StatusForbidden {
				t.Errorf("wrong clientState answered %d, want 403", status)
			}
			// The right state with a wrong subscription ID is refused too.
			status, _ = e.post(t, "/qoe/notifications", strings.Replace(body, sub.ID, "00000000-0000-0000-0000-000000000000", 1))
			if status != http.StatusForbidden {
				t.Errorf("unknown subscription answered %d", status)
			}
			if got := e.jobs(t, qoe.KindFetchCall); got != before {
				t.Errorf("fetch jobs %d -> %d: the refused notification was queued", before, got)
			}
			if e.svc.Stats().Rejected != 2 {
				t.Errorf("rejected = %d", e.svc.Stats().Rejected)
			}
			st, _ := e.svc.Status(ctx, customer)
			if st.Rejected != 1 {
				t.Errorf("status rejected = %d", st.Rejected)
			}
			page, err := e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-24 * time.Hour), To: time.Now().Add(time.Hour)})
			if err != nil || len(page.Calls) != 2 {
				t.Fatalf("calls %v %v", page, err)
			}
			for _, c := range page.Calls {
				if c.ID != rec && c.ID != forged.ID {
					t.Errorf("unexpected call %s stored", c.ID)
				}
			}
		})
	}
}

func TestValidationHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{})
	tok := "Validation: Testing client application reachability <script>"
	resp, err := http.Post(e.recv.URL+"/qoe/notifications?validationToken="+strings.ReplaceAll(strings.ReplaceAll(tok, " ", "%20"), "<", "%3C"), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var buf strings.Builder
	_, _ = fmt.Fprint(&buf, readBody(resp))
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || buf.String() != tok ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("validation answer %d %q %q", resp.StatusCode, resp.Header.Get("Content-Type"), buf.String())
	}
	for _, body := range []string{"", "{", `{"value":[]}`, `[]`} {
		if status, _ := e.post(t, "/qoe/notifications", body); status != http.StatusBadRequest {
			t.Errorf("body %q answered %d", body, status)
		}
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
			if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
				t.Fatal(err)
			}
			ids, err := e.srv.PlaceCalls(ctx, e.tenant.ID, 3)
			if err != nil {
				t.Fatalf("the receiver did not acknowledge: %v", err)
			}
			if n := e.jobs(t, qoe.KindFetchCall); n != 3 {
				t.Fatalf("queued %d jobs", n)
			}
			if st := e.svc.Stats(); st.Accepted != 3 || st.Stored != 0 {
				t.Fatalf("before the crash: %+v", st)
			}
			// "Crash": drop the Service and its River client; start anew on
			// the same database.
			e.start(t, true)
			waitFor(t, "calls processed after restart", func() bool { return e.svc.Stats().Stored == 3 })
			page, err := e.svc.Calls(ctx, customer, qoe.CallQuery{From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Hour)})
			if err != nil || len(page.Calls) != 3 {
				t.Fatalf("calls after restart: %+v %v", page, err)
			}
			for _, c := range page.Calls {
				if c.ID != ids[0] && c.ID != ids[1] && c.ID != ids[2] {
					t.Errorf("stored %s", c.ID)
				}
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
			if err := e.svc.EnsureSubscription(ctx, customer); err != nil {
				t.Fatal(err)
			}
			good := m365test.DemoCall(e.tenant, 0, time.Now())
			id, err := e.srv.AddCallRecord(ctx, e.tenant.ID, good)
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, "stored", func() bool { return e.svc.Stats().Stored == 1 })
			sub := e.srv.Subscriptions()[0]
			note, _ := json.Marshal(map[string]any{"value": []any{
				map[string]any{"subscriptionId": sub.ID, "clientState": sub.ClientState, "changeType": "created", "resource": "communications/callRecords/" + id, "resourceData": map[string]any{"id": id}},
				map[string]any{"subscriptionId": sub.ID, "clientState": sub.ClientState, "changeType": "created", "resource": "communications/callRecords/" + id, "resourceData": map[string]any{"id": id}},
			}})
			for range 2 {
				if status, _ := e.post(t, "/qoe/notifications", string(note)); status != http.StatusAccepted {
					t.Fatalf("duplicate answered %d", status)
				}
			}
			// The receiver answered after queuing: once no fetch is in
			// flight, the duplicates were fetched (or merged at insert).
			e.waitIdle(t, qoe.KindFetchCall)
			if st := e.svc.Stats(); st.Stored != 1 {
				t.Errorf("stored %d times", st.Stored)
			}
			// Version 2 makes the caller's stream lose packets.
			bad := m365test.DemoCall(e.tenant, 7, good.End)
			bad.ID = id
			if err := e.srv.UpdateCallRecord(ctx, e.tenant.ID, bad); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "version 2 stored", func() bool { return e.svc.Stats().Stored == 2 })
			sum, _ := e.svc.Summary(ctx, customer, today(), today())
			if sum.Calls != 1 || sum.PoorCalls != 1 || sum.PoorByReason.PacketLoss != 1 {
				t.Errorf("after version 2: %+v", sum)
			}
		})
	}
}

func TestThrottlingSlowsOnlyThatCustomer(t *testing.T) {
	t.Parallel()
	e := newEnv(t, backends(t)[0], envOptions{})
	ctx := t.Context()
	fab, err := e.srv.AddTenant(m365test.TenantOptions{Domains: []string{"fabrikam.onmicrosoft.com"}, DisplayName: "Fabrikam", Users: 10})
	if err != nil {
		t.Fatal(err)
	}
	app := e.addQoEApp(t, fab, qoe.RoleCallRecords)
	e.saveQoE(t, "fabrikam", fab, app.ClientID)
	for _, c := range []string{customer, "fabrikam"} {
		if err := e.svc.EnsureSubscription(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	// Contoso's first call-record fetch is throttled for retryAfter:
	// fabrikam's calls must all be processed while contoso still waits,
	// and contoso's only after the wait. The assertions compare the two
	// customers, not wall-clock budgets, so a loaded machine only
	// stretches the test.
	const retryAfter = 5 * time.Second
	e.srv.InjectFault(m365test.Fault{Tenant: e.tenant.ID, Endpoint: m365test.EndpointCallRecords, Status: 429, RetryAfter: retryAfter, Times: 1})
	start := time.Now()
	if _, err := e.srv.PlaceCalls(ctx, e.tenant.ID, 5); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.PlaceCalls(ctx, fab.ID, 5); err != nil {
		t.Fatal(err)
	}
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
	if n := e.svc.Stats().Throttled; n < 1 {
		t.Errorf("throttled %d times, want at least 1", n)
	}
	if contosoWhenFabDone == 5 {
		t.Errorf("contoso's calls were all processed before fabrikam's: the throttle did not hold contoso back")
	}
	if contosoDone < retryAfter*9/10 {
		t.Errorf("contoso done after %v, before its Retry-After of %v", contosoDone, retryAfter)
	}
}
