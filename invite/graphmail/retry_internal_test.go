package graphmail

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/invite"
)

type staticCred struct{}

func (staticCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

// TestRetryBackoff: throttling is retried, honouring Retry-After and
// doubling RetryDelay without it, up to MaxRetries; other refusals are
// not retried. The waits are recorded, not slept.
func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	type answer struct {
		status     int
		code       string
		retryAfter string
	}
	throttled := func(ra string) answer { return answer{429, "ApplicationThrottled", ra} }
	for _, tc := range []struct {
		name     string
		answers  []answer // then 202
		retries  int
		wantErr  Reason // "" when sent
		wantWait []time.Duration
		calls    int
	}{
		{"no Retry-After: doubling", []answer{throttled(""), throttled(""), throttled("")}, 3, "", []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second}, 4},
		{"Retry-After honoured", []answer{throttled("7"), throttled("")}, 3, "", []time.Duration{7 * time.Second, 2 * time.Second}, 3},
		{"503 and 504 retried", []answer{{503, "ServiceUnavailable", ""}, {504, "", ""}}, 3, "", []time.Duration{2 * time.Second, 4 * time.Second}, 3},
		{"gives up after MaxRetries", []answer{throttled(""), throttled(""), throttled("")}, 2, ReasonThrottled, []time.Duration{2 * time.Second, 4 * time.Second}, 3},
		{"Retry-After too long", []answer{throttled("3600")}, 3, ReasonThrottled, nil, 1},
		{"access denied not retried", []answer{{403, "ErrorAccessDenied", ""}}, 3, ReasonPermission, nil, 1},
		{"mailbox not retried", []answer{{404, "MailboxNotEnabledForRESTAPI", ""}}, 3, ReasonMailbox, nil, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				if n >= len(tc.answers) {
					w.WriteHeader(http.StatusAccepted)
					return
				}
				a := tc.answers[n]
				if a.retryAfter != "" {
					w.Header().Set("Retry-After", a.retryAfter)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(a.status)
				_, _ = w.Write([]byte(`{"error":{"code":"` + a.code + `","message":"m ` + strconv.Itoa(n) + `"}}`))
			}))
			defer srv.Close()
			m, err := New(Config{Credential: staticCred{}, Sender: "s@x.example", GraphURL: srv.URL + "/v1.0",
				Transport: srv.Client().Transport, MaxRetries: tc.retries})
			require.NoError(t, err)
			var waits []time.Duration
			m.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
			err = m.Send(t.Context(), &invite.Message{To: "a@contoso.example", Subject: "s", HTML: "h"})
			var se *SendError
			if tc.wantErr == "" {
				require.NoError(t, err, "Send")
			} else {
				require.ErrorAs(t, err, &se, "Send")
				require.Equal(t, tc.wantErr, se.Reason, "Send: %v", err)
				require.Equal(t, tc.calls, se.Attempts, "Send: %v", err)
			}
			assert.True(t, slices.Equal(waits, tc.wantWait), "waits %v, want %v", waits, tc.wantWait)
			assert.Equal(t, tc.calls, int(calls.Load()), "calls")
		})
	}
}

func TestRetryAfterHeader(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": 0, "0": 0, "-3": 0, "12": 12 * time.Second, "soon": 0,
		now.Add(90 * time.Second).Format(http.TimeFormat): 90 * time.Second,
		now.Add(-time.Minute).Format(http.TimeFormat):     0,
	} {
		assert.Equal(t, want, retryAfter(v, now), "retryAfter(%q)", v)
	}
}
