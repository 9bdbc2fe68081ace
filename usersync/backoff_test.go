package usersync_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync"
)

// handlerTransport serves requests in-process, so that the whole exchange
// runs inside a synctest bubble.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func TestRetryBackoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		retryAfter string
		failures   int
		// gaps between consecutive requests: at least min, less than max
		min, max []time.Duration
		wantErr  bool
	}{
		{"429 with Retry-After seconds", 429, "7", 2,
			[]time.Duration{7 * time.Second, 7 * time.Second}, []time.Duration{7*time.Second + 1, 7*time.Second + 1}, false},
		{"429 without Retry-After backs off exponentially", 429, "", 2,
			[]time.Duration{3 * time.Second, 6 * time.Second}, []time.Duration{4 * time.Second, 7 * time.Second}, false},
		{"504 without Retry-After", 504, "", 1,
			[]time.Duration{3 * time.Second}, []time.Duration{4 * time.Second}, false},
		{"503 beyond the retries", 503, "1", 100,
			[]time.Duration{time.Second, time.Second, time.Second}, []time.Duration{time.Second + 1, time.Second + 1, time.Second + 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var at []time.Time
				h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					at = append(at, time.Now())
					if len(at) <= tt.failures {
						if tt.retryAfter != "" {
							w.Header().Set("Retry-After", tt.retryAfter)
						}
						graphErr(w, tt.status, "TooManyRequests", "slow down")
						return
					}
					fmt.Fprint(w, `{"value":[{"id":"1"},{"id":"2"}]}`)
				})
				src, err := usersync.NewGraphSource(usersync.CredentialFunc(func(string) azcore.TokenCredential {
					return staticCred{token: "t"}
				}), usersync.GraphOptions{BaseURL: "https://graph.test/v1.0", Transport: handlerTransport{h}, NoTeams: true})
				require.NoError(t, err)
				n := 0
				err = src.Read(t.Context(), "c1", usersync.Query{}, func(p usersync.Page) error {
					n += len(p.Users)
					return nil
				})
				if tt.wantErr {
					var me *m365access.Error
					require.ErrorAs(t, err, &me, "want a retryable *m365access.Error")
					require.Equal(t, tt.status, me.HTTPStatus, "HTTP status")
					require.Equal(t, m365access.ActionWaitAndRetry, me.Action, "action")
					require.True(t, me.Retryable, "retryable")
				} else {
					require.NoError(t, err)
					require.Equal(t, 2, n, "users read")
				}
				require.Len(t, at, len(tt.min)+1, "requests")
				for i := range tt.min {
					gap := at[i+1].Sub(at[i])
					assert.GreaterOrEqual(t, gap, tt.min[i], "gap %d", i)
					assert.Less(t, gap, tt.max[i], "gap %d", i)
				}
			})
		})
	}
}
