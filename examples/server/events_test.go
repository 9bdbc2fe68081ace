package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/whverify"
)

// hookReceiver is the host's webhook endpoint: it checks each delivery
// with a Standard Webhooks verifier written independently of the sender.
type hookReceiver struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []hookDelivery
}

type hookDelivery struct {
	header http.Header
	body   []byte
	err    error
}

func newHookReceiver(t *testing.T, secret string) *hookReceiver {
	t.Helper()
	v, err := whverify.New(secret)
	require.NoError(t, err)
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := v.Verify(r.Header, body)
		h.mu.Lock()
		h.got = append(h.got, hookDelivery{header: r.Header.Clone(), body: body, err: err})
		h.mu.Unlock()
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

// waitFor returns the first delivery of type typ for customer.
func (h *hookReceiver) waitFor(t *testing.T, typ events.Type, customer string) hookDelivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, d := range h.got {
			var p struct {
				Type events.Type
				Data struct{ Customer string }
			}
			if json.Unmarshal(d.body, &p) == nil && p.Type == typ && p.Data.Customer == customer {
				h.mu.Unlock()
				return d
			}
		}
		h.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	require.FailNow(t, "no webhook within 30 s", "no %s webhook for %s", typ, customer)
	return hookDelivery{}
}

// TestWebhooksAuditAndMetrics: the portal started with a webhook URL
// delivers a signed connection.connected when the wizard completes;
// saving settings and sending an invitation are in the customer's audit
// trail with the admin as actor; /metrics has tenantgate_ series for
// token acquisitions and Graph requests; and no payload, audit entry,
// event or metric holds a secret.
func TestWebhooksAuditAndMetrics(t *testing.T) {
	secret := events.GenerateSecret()
	rcv := newHookReceiver(t, secret)
	d := startDemo(t, t.TempDir(), "-demo-users", "10", "-webhook-url", rcv.srv.URL+"/hooks", "-webhook-secret", secret)

	d.api(t, "PUT", "/api/customers/contoso/m365", `{"userFilter":"UsageLocation -eq 'IT'"}`, http.StatusOK, nil)
	link := connectWithoutBrowser(t, d) // sends an invitation, then the wizard
	d.api(t, "POST", "/api/customers/contoso/m365/validate", "", http.StatusOK, nil)

	// The signed connection.connected.
	got := rcv.waitFor(t, events.ConnectionConnected, "contoso")
	require.NoError(t, got.err, "the verifier refused the delivery")
	var payload struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	require.NoError(t, json.Unmarshal(got.body, &payload))
	assert.Equal(t, "contoso", payload.Data["customer"], "payload %s", got.body)
	assert.Equal(t, "connected", payload.Data["to"], "payload %s", got.body)
	assert.False(t, payload.Timestamp.IsZero(), "payload's timestamp is zero: %s", got.body)

	// The audit trail names the admin.
	var trail struct {
		Entries []struct {
			OccurredAt                       time.Time
			Actor, Action, Customer, Outcome string
		} `json:"entries"`
		Next *string `json:"next"`
	}
	d.api(t, "GET", "/api/customers/contoso/audit", "", http.StatusOK, &trail)
	want := map[string]bool{"settings.write": false, "invitations.write": false}
	for _, e := range trail.Entries {
		if _, ok := want[e.Action]; ok && e.Actor == "Provider admin (break-glass admin token)" && e.Outcome == "succeeded" && e.Customer == "contoso" && !e.OccurredAt.IsZero() {
			want[e.Action] = true
		}
	}
	for action, seen := range want {
		assert.True(t, seen, "no %s by the admin in the audit trail: %+v", action, trail.Entries)
	}
	assert.NotNil(t, trail.Next, `the audit page has no "next"`)

	// Prometheus text behind the admin token.
	c := &http.Client{}
	resp, _ := do(t, c, "GET", d.base+"/metrics", "", nil)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "GET /metrics without the token")
	resp, metrics := do(t, c, "GET", d.base+"/metrics", "", map[string]string{"Authorization": "Bearer " + d.token})
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET /metrics")
	require.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain"), "GET /metrics: Content-Type %q", resp.Header.Get("Content-Type"))
	for _, series := range []string{"tenantgate_token_acquisitions_total{", "tenantgate_graph_requests_total{", `customer="contoso"`,
		"tenantgate_events_total{", "tenantgate_webhook_deliveries_total{", `tenantgate_jobs_queued{state="available"}`,
		"tenantgate_jobs_oldest_available_age_seconds"} {
		assert.Contains(t, metrics, series, "/metrics")
	}

	// The events, the delivery log and the portal's own records.
	var evs struct {
		Events []events.Event `json:"events"`
	}
	d.api(t, "GET", "/api/customers/contoso/events", "", http.StatusOK, &evs)
	if assert.NotEmpty(t, evs.Events, "events") {
		assert.Equal(t, events.ConnectionConnected, evs.Events[len(evs.Events)-1].Type, "the last event: %+v", evs.Events)
	}
	var dl struct {
		Deliveries []events.Delivery `json:"deliveries"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		d.api(t, "GET", "/api/webhooks/deliveries?customer=contoso", "", http.StatusOK, &dl)
		if len(dl.Deliveries) > 0 && dl.Deliveries[len(dl.Deliveries)-1].State == events.DeliveryDelivered || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if assert.NotEmpty(t, dl.Deliveries, "delivery log") {
		assert.Equal(t, events.DeliveryDelivered, dl.Deliveries[len(dl.Deliveries)-1].State, "the last delivery: %+v", dl.Deliveries)
	}

	// No secret anywhere a host or its dashboards see.
	inviteToken := link[strings.LastIndex(link, "/")+1:]
	rawKey := strings.TrimPrefix(secret, events.SecretPrefix)
	key, _ := base64.StdEncoding.DecodeString(rawKey)
	secrets := map[string]string{
		"the webhook secret": rawKey, "the webhook key": string(key), "the admin token": d.token,
		"the provider app's secret": d.a.fakeProvider.ClientSecret, "the invitation token": inviteToken,
	}
	var hooks []string
	rcv.mu.Lock()
	for _, h := range rcv.got {
		h.header.Del("webhook-signature")
		hdr, _ := json.Marshal(h.header)
		hooks = append(hooks, string(h.body), string(hdr))
	}
	rcv.mu.Unlock()
	var all, evAll, dlAll string
	{
		var raw json.RawMessage
		d.api(t, "GET", "/api/audit", "", http.StatusOK, &raw)
		all = string(raw)
		d.api(t, "GET", "/api/customers/contoso/events", "", http.StatusOK, &raw)
		evAll = string(raw)
		d.api(t, "GET", "/api/webhooks/deliveries", "", http.StatusOK, &raw)
		dlAll = string(raw)
	}
	places := map[string]string{"webhooks": strings.Join(hooks, "\n"), "the audit trail": all, "the events": evAll,
		"the delivery log": dlAll, "the metrics": metrics}
	for where, text := range places {
		for name, s := range secrets {
			if s != "" {
				assert.NotContains(t, text, s, "%s holds %s", where, name)
			}
		}
		for _, shape := range []string{"eyJ", "whsec_", "/invite/", "code_verifier", "refresh_token"} {
			assert.NotContains(t, text, shape, "%s holds %q", where, shape)
		}
		if where != "the metrics" {
			assert.NotContains(t, text, "://", "%s holds a link", where)
		}
	}
}
