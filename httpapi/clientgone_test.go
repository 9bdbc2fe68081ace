package httpapi

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/m365access"
)

// TestFailLogging: a request whose client went away (its context
// canceled, the library's call to Microsoft canceled with it) is not
// logged as an ERROR 503 microsoft_unavailable; a failure Entra ID
// answered is logged with its AADSTS codes.
func TestFailLogging(t *testing.T) {
	logs := &logBuffer{}
	c := &checked{Config: Config{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequestWithContext(ctx, "POST", "/customers/a/m365/validate", nil)
	w := httptest.NewRecorder()
	c.fail(w, r, "validate", &m365access.Error{Op: "refresh token", Customer: "a", Err: context.Canceled})
	if got := logs.String(); strings.Contains(got, "level=ERROR") || strings.Contains(got, "503") || strings.Contains(got, "microsoft_unavailable") {
		t.Errorf("client went away: status %d, logs:\n%s", w.Code, got)
	}

	r = httptest.NewRequest("POST", "/customers/a/m365/validate", nil)
	w = httptest.NewRecorder()
	e := &m365access.Error{Op: "refresh token", Customer: "a", HTTPStatus: 400, OAuthError: "invalid_grant", Codes: []int{50057},
		Action: m365access.ActionFixAccount}
	c.fail(w, r, "validate", e)
	if got := logs.String(); !strings.Contains(got, "aadsts=[50057]") {
		t.Errorf("the log line lacks the AADSTS code:\n%s", got)
	}
}
