package qoe_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzReceiver: any body gets 400, 403 or 413, never a panic, and nothing
// is queued without the subscription's clientState.
func FuzzReceiver(f *testing.F) {
	for _, s := range []string{`{"value":[{"subscriptionId":"x","clientState":"y","resource":"communications/callRecords/1"}]}`,
		`{"value":[{"lifecycleEvent":"missed"}]}`, `{"value":null}`, `{`, ``, `{"value":[{}]}`} {
		f.Add(s)
	}
	e := newEnv(f, backends(f)[0], envOptions{noStart: true})
	require.NoError(f, e.svc.EnsureSubscription(f.Context(), customer))
	sub := e.srv.Subscriptions()[0]
	h := e.svc.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		body = strings.ReplaceAll(body, sub.ClientState, "") // a fuzzer cannot know it
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/qoe/notifications", strings.NewReader(body)))
		require.Contains(t, []int{http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge}, rec.Code, "body %q", body)
		st := e.svc.Stats()
		require.Zero(t, st.Accepted, "body %q queued a job: %+v", body, st)
		require.Zero(t, st.Lifecycle, "body %q queued a job: %+v", body, st)
	})
}
