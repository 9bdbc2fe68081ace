package httpapi

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAuditKeepsTheRequestIDTheClientGot: whatever X-Request-Id a client
// sends, the ID the response echoes is the one the audit entry holds (a
// token-shaped ID, which the audit would redact, is replaced by a
// generated one; an ID-shaped one is kept).
func TestAuditKeepsTheRequestIDTheClientGot(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		sent string
		kept bool
	}{
		{"curl-1", true},
		{"0123456789abcdef0123456789abcdef", true},
		{"5d6c2f1e-8a7b-4c3d-9e0f-1a2b3c4d5e6f", true},
		{"my-client-request-000000000001", false}, // 30 characters shaped like a token
		{"has space", false},
		{"", false},
	}
	for _, c := range cases {
		r := httptest.NewRequest("PUT", testPublic+"/customers/a/m365", strings.NewReader(`{"authMode":"sideways"}`))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Authorization", "Bearer "+tokenAll)
		if c.sent != "" {
			r.Header.Set(RequestIDHeader, c.sent)
		}
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, r)
		require.Equal(t, http.StatusUnprocessableEntity, w.Code, w.Body.String())
		got := w.Header().Get(RequestIDHeader)
		if c.kept {
			assert.Equal(t, c.sent, got)
		} else {
			assert.Regexp(t, regexp.MustCompile(`^[0-9a-f]{24}$`), got, "generated for %q", c.sent)
		}
		page := e.auditOf(t, "/customers/a/audit?limit=1")
		require.NotEmpty(t, page.Entries)
		assert.Equal(t, got, page.Entries[0].RequestID, "the audit holds the ID the client got (sent %q)", c.sent)
	}
}
