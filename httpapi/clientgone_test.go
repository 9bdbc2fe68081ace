package httpapi

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/tenantgate/tenantgate/m365access"
)

// TestFailLogging: a request whose client went away (its context
// canceled, the library's call to Microsoft canceled with it) is not
// logged as an ERROR 503 microsoft_unavailable; a failure Entra ID
// answered is logged with its AADSTS codes.
func TestFailLogging(t *testing.T) {
	t.Parallel()
	logs := &logBuffer{}
	c := &checked{Config: Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/customers/a/m365/validate", nil)
	w := httptest.NewRecorder()
	c.fail(w, r, "validate", &m365access.Error{Op: "refresh token", Customer: "a", Err: context.Canceled})
	got := logs.String()
	for _, unwanted := range []string{"level=ERROR", "503", "microsoft_unavailable"} {
		assert.NotContains(t, got, unwanted, "client went away: status %d", w.Code)
	}

	r = httptest.NewRequest("POST", "/customers/a/m365/validate", nil)
	w = httptest.NewRecorder()
	e := &m365access.Error{Op: "refresh token", Customer: "a", HTTPStatus: 400, OAuthError: "invalid_grant", Codes: []int{50057},
		Action: m365access.ActionFixAccount}
	c.fail(w, r, "validate", e)
	assert.Contains(t, logs.String(), "aadsts=[50057]", "the log line lacks the AADSTS code")
}
