package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365test"
)

type qoeSummary struct {
	Calls        int     `json:"calls"`
	PoorCalls    int     `json:"poorCalls"`
	PoorRate     float64 `json:"poorRate"`
	PoorByReason struct {
		Jitter     int `json:"jitter"`
		PacketLoss int `json:"packetLoss"`
		RoundTrip  int `json:"roundTrip"`
	} `json:"poorByReason"`
	Days []struct {
		Date      string `json:"date"`
		Calls     int    `json:"calls"`
		PoorCalls int    `json:"poorCalls"`
	} `json:"days"`
	Subscription struct {
		State    string `json:"state"`
		Rejected int    `json:"rejected"`
	} `json:"subscription"`
}

// waitSummary polls the summary until cond holds.
func (d *demo) waitSummary(t *testing.T, what string, cond func(qoeSummary) bool) qoeSummary {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var s qoeSummary
		d.api(t, "GET", "/api/customers/contoso/qoe/summary", "", http.StatusOK, &s)
		if cond(s) {
			return s
		}
		if time.Now().After(deadline) {
			require.FailNow(t, what+": the summary never got there", "summary still %+v", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDemoHundredCalls: after POST /dev/calls {"count": 100} the summary
// reads 100 calls, 24 poor (10 jitter, 10 packet loss, 4 round trip), and
// a notification with a wrong clientState is refused and stored nowhere.
func TestDemoHundredCalls(t *testing.T) {
	t.Parallel()
	d := startDemo(t, t.TempDir(), "-demo-users", "1000")
	c := &http.Client{}
	resp, _ := do(t, c, "POST", d.base+"/dev/calls", `{"count": 100}`, map[string]string{"Content-Type": "application/json"})
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "POST /dev/calls without the admin token")
	var placed struct {
		Placed int      `json:"placed"`
		IDs    []string `json:"ids"`
	}
	d.api(t, "POST", "/dev/calls", `{"count": 100, "pstn": 20}`, http.StatusAccepted, &placed)
	require.Equal(t, 100, placed.Placed, "placed %+v", placed)
	s := d.waitSummary(t, "100 calls", func(s qoeSummary) bool { return s.Calls == 100 })
	assert.Equal(t, 24, s.PoorCalls, "summary's poor calls")
	assert.Equal(t, 10, s.PoorByReason.Jitter, "summary's poor by jitter")
	assert.Equal(t, 10, s.PoorByReason.PacketLoss, "summary's poor by packet loss")
	assert.Equal(t, 4, s.PoorByReason.RoundTrip, "summary's poor by round trip")
	assert.Equal(t, 0.24, s.PoorRate, "summary's poor rate")
	assert.Equal(t, "active", s.Subscription.State, "summary's subscription")
	if assert.Len(t, s.Days, 30, "summary's days") {
		assert.Equal(t, 100, s.Days[29].Calls, "today's calls")
		assert.Equal(t, 24, s.Days[29].PoorCalls, "today's poor calls")
	}
	var page struct {
		Calls []struct {
			ID          string   `json:"id"`
			Quality     string   `json:"quality"`
			PoorReasons []string `json:"poorReasons"`
			Caller      string   `json:"caller"`
		} `json:"calls"`
	}
	d.api(t, "GET", "/api/customers/contoso/qoe/calls?poor=true&limit=100", "", http.StatusOK, &page)
	if assert.Len(t, page.Calls, 24, "poor calls") {
		assert.Equal(t, "poor", page.Calls[0].Quality, "the first poor call's quality")
		assert.Len(t, page.Calls[0].PoorReasons, 1, "the first poor call's reasons")
		assert.True(t, strings.HasPrefix(page.Calls[0].Caller, "User "), "the first poor call's caller %q", page.Calls[0].Caller)
	}
	var report struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	d.api(t, "POST", "/api/customers/contoso/m365/qoe/validate", "", http.StatusOK, &report)
	assert.True(t, report.OK, "validate: %+v", report)
	// PSTN: 20 Direct Routing calls over two SBCs.
	var pstn struct {
		Trunks []struct {
			FQDN     string `json:"fqdn"`
			Attempts int    `json:"attempts"`
		} `json:"trunks"`
	}
	// POST /dev/calls reads today's report at once (a failed read is
	// left to a queued pull, which the loop would wait for).
	waited := time.Now()
	deadline := waited.Add(30 * time.Second)
	for len(pstn.Trunks) < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		d.api(t, "GET", "/api/customers/contoso/qoe/pstn", "", http.StatusOK, &pstn)
	}
	t.Logf("the PSTN pull was stored %v after the summary", time.Since(waited).Round(100*time.Millisecond))
	if assert.Len(t, pstn.Trunks, 2, "PSTN trunks") {
		assert.Equal(t, 20, pstn.Trunks[0].Attempts+pstn.Trunks[1].Attempts, "PSTN attempts: %+v", pstn)
	}

	// A forged notification: the real subscription's ID, a guessed
	// clientState, a call that does not exist. Refused, counted, stored
	// nowhere.
	subs := d.a.fake.Subscriptions()
	require.Len(t, subs, 1, "subscriptions")
	forged := "33333333-4444-5555-6666-777777777777"
	body := fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":"guessed","changeType":"created","resource":"communications/callRecords/%s","resourceData":{"id":%q}}]}`,
		subs[0].ID, forged, forged)
	resp, _ = do(t, c, "POST", d.base+"/qoe/notifications", body, map[string]string{"Content-Type": "application/json"})
	assert.Equal(t, http.StatusForbidden, resp.StatusCode, "wrong clientState")
	// The receiver counts the refusal before it answers 403.
	s = d.waitSummary(t, "rejection counted", func(s qoeSummary) bool { return s.Subscription.Rejected == 1 })
	assert.Equal(t, 100, s.Calls, "calls after the forged notification")
	var all struct {
		Calls []struct {
			ID string `json:"id"`
		} `json:"calls"`
	}
	d.api(t, "GET", "/api/customers/contoso/qoe/calls?limit=1000", "", http.StatusOK, &all)
	for _, c := range all.Calls {
		assert.NotEqual(t, forged, c.ID, "the forged call was stored")
	}
	b, _ := json.Marshal(all)
	assert.NotContains(t, string(b), "guessed", "the forged clientState shows up")
}

// TestDemoCrashBetweenAckAndProcessing: the portal acknowledges call
// notifications whose processing cannot happen yet (Graph throttles),
// goes down, and the portal started again on the same data directory
// processes those calls from its durable queue.
func TestDemoCrashBetweenAckAndProcessing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-data", dir, "-admin-token", testAdminToken, "-demo-users", "100"},
		func(string) string { return "" }, io.Discard)
	require.NoError(t, err)
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := start(t.Context(), cfg, hooks{logger: log})
	require.NoError(t, err)
	d := &demo{a: a, base: a.publicURL, token: testAdminToken}
	// Make the subscription; then Graph throttles every call-record read
	// of this first run (429, Retry-After 3 s), so the acknowledged calls
	// wait in the queue, snoozed, when the portal goes down.
	require.NoError(t, a.qoe.EnsureSubscription(t.Context(), "contoso"))
	a.fake.InjectFault(m365test.Fault{Endpoint: m365test.EndpointCallRecords, Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var placed struct {
		Placed         int `json:"placed"`
		Unacknowledged int `json:"unacknowledged"`
	}
	d.api(t, "POST", "/dev/calls", `{"count": 10}`, http.StatusAccepted, &placed)
	require.Equal(t, 10, placed.Placed, "placed")
	require.Zero(t, placed.Unacknowledged, "unacknowledged")
	var s qoeSummary
	d.api(t, "GET", "/api/customers/contoso/qoe/summary", "", http.StatusOK, &s)
	require.Zero(t, s.Calls, "processed before the crash: %+v", s)
	require.NoError(t, a.shutdown(ctx))

	d2 := startDemo(t, dir, "-demo-users", "100")
	s = d2.waitSummary(t, "calls processed after the restart", func(s qoeSummary) bool { return s.Calls == 10 })
	assert.Equal(t, 2, s.PoorCalls, "poor calls after the restart")
	assert.Equal(t, 1, s.PoorByReason.Jitter, "poor by jitter after the restart")
	assert.Equal(t, 1, s.PoorByReason.PacketLoss, "poor by packet loss after the restart")
	// The restarted portal subscribes again (the fake's earlier
	// subscription went with it) and keeps receiving calls.
	d2.api(t, "POST", "/dev/calls", `{"count": 15}`, http.StatusAccepted, nil)
	d2.waitSummary(t, "new calls after the restart", func(s qoeSummary) bool { return s.Calls == 25 && s.PoorCalls == 6 })
}
