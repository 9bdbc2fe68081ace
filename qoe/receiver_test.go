package qoe_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzReceiver: any body gets 400, 403 or 413, never a panic, and nothing
// is queued without the subscription's clientState.
func FuzzReceiver(f *testing.F) {
	for _, s := range []string{`{"value":[{"subscriptionId":"x","clientState":"y","resource":"communications/callRecords/1"}]}`,
		`{"value":[{"lifecycleEvent":"missed"}]}`, `{"value":null}`, `{`, ``, `{"value":[{}]}`} {
		f.Add(s)
	}
	e := newEnv(f, backends(f)[0], envOptions{noStart: true})
	if err := e.svc.EnsureSubscription(f.Context(), customer); err != nil {
		f.Fatal(err)
	}
	sub := e.srv.Subscriptions()[0]
	h := e.svc.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		body = strings.ReplaceAll(body, sub.ClientState, "") // a fuzzer cannot know it
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/qoe/notifications", strings.NewReader(body)))
		switch rec.Code {
		case http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge:
		default:
			t.Fatalf("body %q answered %d", body, rec.Code)
		}
		if st := e.svc.Stats(); st.Accepted != 0 || st.Lifecycle != 0 {
			t.Fatalf("body %q queued a job: %+v", body, st)
		}
	})
}
