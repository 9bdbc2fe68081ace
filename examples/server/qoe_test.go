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
			t.Fatalf("%s: summary still %+v", what, s)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestDemoHundredCalls: after POST /dev/calls {"count": 100} the summary
// reads 100 calls, 24 poor (10 jitter, 10 packet loss, 4 round trip), and
// a notification with a wrong clientState is refused and stored nowhere.
func TestDemoHundredCalls(t *testing.T) {
	d := startDemo(t, t.TempDir(), "-demo-users", "1000")
	c := &http.Client{}
	if resp, _ := do(t, c, "POST", d.base+"/dev/calls", `{"count": 100}`, map[string]string{"Content-Type": "application/json"}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("POST /dev/calls without the admin token: %d", resp.StatusCode)
	}
	var placed struct {
		Placed int      `json:"placed"`
		IDs    []string `json:"ids"`
	}
	d.api(t, "POST", "/dev/calls", `{"count": 100, "pstn": 20}`, http.StatusAccepted, &placed)
	if placed.Placed != 100 {
		t.Fatalf("placed %+v", placed)
	}
	s := d.waitSummary(t, "100 calls", func(s qoeSummary) bool { return s.Calls == 100 })
	if s.PoorCalls != 24 || s.PoorByReason.Jitter != 10 || s.PoorByReason.PacketLoss != 10 || s.PoorByReason.RoundTrip != 4 ||
		s.PoorRate != 0.24 || s.Subscription.State != "active" || len(s.Days) != 30 || s.Days[29].Calls != 100 || s.Days[29].PoorCalls != 24 {
		t.Errorf("summary %+v", s)
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
	if len(page.Calls) != 24 || page.Calls[0].Quality != "poor" || len(page.Calls[0].PoorReasons) != 1 || !strings.HasPrefix(page.Calls[0].Caller, "User ") {
		t.Errorf("poor calls: %d %+v", len(page.Calls), page.Calls)
	}
	var report struct {
		OK     bool `json:"ok"`
		Checks []struct {
			Name string `json:"name"`
			OK   bool   `json:"ok"`
		} `json:"checks"`
	}
	d.api(t, "POST", "/api/customers/contoso/m365/qoe/validate", "", http.StatusOK, &report)
	if !report.OK {
		t.Errorf("validate: %+v", report)
	}
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
	if len(pstn.Trunks) != 2 || pstn.Trunks[0].Attempts+pstn.Trunks[1].Attempts != 20 {
		t.Errorf("pstn %+v", pstn)
	}

	// A forged notification: the real subscription's ID, a guessed
	// clientState, a call that does not exist. Refused, counted, stored
	// nowhere.
	subs := d.a.fake.Subscriptions()
	if len(subs) != 1 {
		t.Fatalf("subscriptions %+v", subs)
	}
	forged := "33333333-4444-5555-6666-777777777777"
	body := fmt.Sprintf(`{"value":[{"subscriptionId":%q,"clientState":"guessed","changeType":"created","resource":"communications/callRecords/%s","resourceData":{"id":%q}}]}`,
		subs[0].ID, forged, forged)
	if resp, _ := do(t, c, "POST", d.base+"/qoe/notifications", body, map[string]string{"Content-Type": "application/json"}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong clientState answered %d", resp.StatusCode)
	}
	// The receiver counts the refusal before it answers 403.
	s = d.waitSummary(t, "rejection counted", func(s qoeSummary) bool { return s.Subscription.Rejected == 1 })
	if s.Calls != 100 {
		t.Errorf("after the forged notification: %d calls", s.Calls)
	}
	var all struct {
		Calls []struct {
			ID string `json:"id"`
		} `json:"calls"`
	}
	d.api(t, "GET", "/api/customers/contoso/qoe/calls?limit=1000", "", http.StatusOK, &all)
	for _, c := range all.Calls {
		if c.ID == forged {
			t.Error("the forged call was stored")
		}
	}
	b, _ := json.Marshal(all)
	if strings.Contains(string(b), "guessed") {
		t.Error("the forged clientState shows up")
	}
}

// TestDemoCrashBetweenAckAndProcessing: the portal acknowledges call
// notifications whose processing cannot happen yet (Graph throttles),
// goes down, and the portal started again on the same data directory
// processes those calls from its durable queue.
func TestDemoCrashBetweenAckAndProcessing(t *testing.T) {
	dir := t.TempDir()
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-data", dir, "-admin-token", testAdminToken, "-demo-users", "100"},
		func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := start(t.Context(), cfg, hooks{logger: log})
	if err != nil {
		t.Fatal(err)
	}
	d := &demo{a: a, base: a.publicURL, token: testAdminToken}
	// Make the subscription; then Graph throttles every call-record read
	// of this first run (429, Retry-After 3 s), so the acknowledged calls
	// wait in the queue, snoozed, when the portal goes down.
	if err := a.qoe.EnsureSubscription(t.Context(), "contoso"); err != nil {
		t.Fatal(err)
	}
	a.fake.InjectFault(m365test.Fault{Endpoint: m365test.EndpointCallRecords, Status: http.StatusTooManyRequests, RetryAfter: 3 * time.Second})
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	var placed struct {
		Placed         int `json:"placed"`
		Unacknowledged int `json:"unacknowledged"`
	}
	d.api(t, "POST", "/dev/calls", `{"count": 10}`, http.StatusAccepted, &placed)
	if placed.Placed != 10 || placed.Unacknowledged != 0 {
		t.Fatalf("placed %+v", placed)
	}
	var s qoeSummary
	d.api(t, "GET", "/api/customers/contoso/qoe/summary", "", http.StatusOK, &s)
	if s.Calls != 0 {
		t.Fatalf("processed before the crash: %+v", s)
	}
	if err := a.shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	d2 := startDemo(t, dir, "-demo-users", "100")
	s = d2.waitSummary(t, "calls processed after the restart", func(s qoeSummary) bool { return s.Calls == 10 })
	if s.PoorCalls != 2 || s.PoorByReason.Jitter != 1 || s.PoorByReason.PacketLoss != 1 {
		t.Errorf("after the restart: %+v", s)
	}
	// The restarted portal subscribes again (the fake's earlier
	// subscription went with it) and keeps receiving calls.
	d2.api(t, "POST", "/dev/calls", `{"count": 15}`, http.StatusAccepted, nil)
	d2.waitSummary(t, "new calls after the restart", func(s qoeSummary) bool { return s.Calls == 25 && s.PoorCalls == 6 })
}
