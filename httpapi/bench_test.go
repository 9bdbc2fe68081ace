package httpapi

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

// BenchmarkGetSettings measures an authorized settings read through the
// whole handler (cross-origin check, mux, authorizer, sealed store read).
func BenchmarkGetSettings(b *testing.B) {
	e := newEnv(b, nil)
	e.saveToken(b, "a", e.contoso)
	r := httptest.NewRequest("GET", testPublic+"/customers/a/m365", nil)
	r.Header.Set("Authorization", "Bearer "+tokenA)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		require.Equal(b, http.StatusOK, w.Code)
	}
}

// BenchmarkLandingPage measures the invitation landing page: redeem (a
// store read and write) plus rendering the template.
func BenchmarkLandingPage(b *testing.B) {
	e := newEnv(b, nil)
	e.saveToken(b, "a", e.contoso)
	wl := decode[wizardLinkJSON](b, e.do(b, "POST", "/customers/a/m365/refresh-token", tokenA, nil), http.StatusCreated)
	r := httptest.NewRequest("GET", wl.Link, nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		require.Equal(b, http.StatusOK, w.Code)
		require.Contains(b, w.Body.String(), "Sign in with Microsoft")
	}
}

// BenchmarkListUsers measures one page of 100 synced users from SQLite.
func BenchmarkListUsers(b *testing.B) {
	e := newEnv(b, nil)
	e.connect(b, "a", e.contoso)
	decode[syncRunJSON](b, e.do(b, "POST", "/customers/a/users/sync", tokenA, nil), http.StatusAccepted)
	require.Equal(b, 121, e.waitSync(b, "a").Total, "synced users")
	r := httptest.NewRequest("GET", testPublic+"/customers/a/users?limit=100", nil)
	r.Header.Set("Authorization", "Bearer "+tokenA)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		require.Equal(b, http.StatusOK, w.Code)
	}
}
