package usersync_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/synctest"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

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
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				err = src.Read(t.Context(), "c1", usersync.Query{}, func(p usersync.Page) error {
					n += len(p.Users)
					return nil
				})
				if tt.wantErr {
					var me *m365access.Error
					if !errors.As(err, &me) || me.HTTPStatus != tt.status || me.Action != m365access.ActionWaitAndRetry || !me.Retryable {
						t.Fatalf("err = %v, want a retryable *m365access.Error %d", err, tt.status)
					}
				} else if err != nil || n != 2 {
					t.Fatalf("read %d users, err %v", n, err)
				}
				if len(at) != len(tt.min)+1 {
					t.Fatalf("%d requests, want %d", len(at), len(tt.min)+1)
				}
				for i := range tt.min {
					gap := at[i+1].Sub(at[i])
					if gap < tt.min[i] || gap >= tt.max[i] {
						t.Errorf("gap %d = %v, want in [%v, %v)", i, gap, tt.min[i], tt.max[i])
					}
				}
			})
		})
	}
}
