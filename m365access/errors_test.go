package m365access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// factsCodes is every Entra code on the facts page with what it must mean.
var factsCodes = []struct {
	code      int
	action    Action
	retryable bool
	state     State
}{
	{70008, ActionReInvite, false, StateReauthorizationRequired},
	{700082, ActionReInvite, false, StateReauthorizationRequired},
	{50173, ActionReInvite, false, StateReauthorizationRequired},
	{70043, ActionReInvite, false, StateReauthorizationRequired},
	{54005, ActionReInvite, false, StateReauthorizationRequired},
	{50076, ActionCompleteMFAOrSwitchToToken, false, StateReauthorizationRequired},
	{50078, ActionCompleteMFAOrSwitchToToken, false, StateReauthorizationRequired},
	{50079, ActionCompleteMFAOrSwitchToToken, false, StateReauthorizationRequired},
	{53003, ActionCompleteMFAOrSwitchToToken, false, StateReauthorizationRequired},
	{65001, ActionGrantConsent, false, StateConsentRequired},
	{65004, ActionGrantConsent, false, StateConsentRequired},
	{90094, ActionGrantConsent, false, StateConsentRequired},
	{500011, ActionGrantConsent, false, StateConsentRequired},
	{700016, ActionGrantConsent, false, StateConsentRequired},
	{7000215, ActionRotateSecret, false, StateCredentialExpired},
	{7000222, ActionRotateSecret, false, StateCredentialExpired},
	{700027, ActionRotateCertificate, false, StateCredentialExpired},
	{50196, ActionWaitAndRetry, true, StateDegraded},
	{90055, ActionWaitAndRetry, true, StateDegraded},
	{90002, ActionFixTenant, false, StateNotConnected},
}

// callErr builds the error MSAL returns for an HTTP error answer.
func callErr(status int, body string, header http.Header) error {
	req, _ := http.NewRequest(http.MethodPost, "https://login.example/tenant/oauth2/v2.0/token", nil)
	if header == nil {
		header = http.Header{}
	}
	return msalerrors.CallErr{
		Req:  req,
		Resp: &http.Response{StatusCode: status, Header: header, Body: io.NopCloser(strings.NewReader(body))},
		Err:  fmt.Errorf("http call(%s)(POST) error: reply status code was %d:\n%s", req.URL, status, body),
	}
}

func TestFromMSALEveryFactsCode(t *testing.T) {
	t.Parallel()
	for _, tc := range factsCodes {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			body := fmt.Sprintf(`{"error":"invalid_grant","error_description":"AADSTS%d: text that must not matter. Trace ID: x","error_codes":[%d],"trace_id":"t"}`, tc.code, tc.code)
			err := fromMSAL("refresh token", "cust-1", fmt.Errorf("wrapped: %w", callErr(400, body, nil)))
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.True(t, e.HasCode(tc.code))
			assert.Equal(t, tc.action, e.Action)
			assert.Equal(t, tc.retryable, e.Retryable)
			assert.Equal(t, tc.state, e.State())
			assert.Equal(t, tc.action, ActionOf(err), "ActionOf disagrees with the error")
			assert.Equal(t, tc.retryable, IsRetryable(err), "IsRetryable disagrees with the error")
			assert.Equal(t, "invalid_grant", e.OAuthError)
			assert.Equal(t, 400, e.HTTPStatus)
			assert.Contains(t, e.Error(), fmt.Sprintf("AADSTS%d", tc.code), "the message has the code")
			assert.NotContains(t, e.Error(), "must not matter", "the message has no server text")
		})
	}
}

func TestActionDecidedByCodesNotText(t *testing.T) {
	t.Parallel()
	// The description claims a consent problem; the code says re-invite.
	body := `{"error":"invalid_grant","error_description":"AADSTS65001: consent required","error_codes":[70008]}`
	assert.Equal(t, ActionReInvite, ActionOf(fromMSAL("op", "", callErr(400, body, nil))))
}

func TestFromMSALFallbacks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		action    Action
		retryable bool
	}{
		{"503 without body", callErr(503, "", nil), ActionWaitAndRetry, true},
		{"429", callErr(429, `{"error":"temporarily_unavailable"}`, http.Header{"Retry-After": {"7"}}), ActionWaitAndRetry, true},
		{"invalid_client without codes", callErr(401, `{"error":"invalid_client"}`, nil), ActionRotateSecret, false},
		{"unknown code", callErr(400, `{"error":"invalid_request","error_codes":[12345]}`, nil), ActionNone, false},
		{"network", fmt.Errorf(`Post "https://login.example/t/token?x=1": dial tcp: refused`), ActionWaitAndRetry, true},
		{"cancelled", context.Canceled, ActionNone, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := fromMSAL("op", "c", tc.err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.action, e.Action)
			assert.Equal(t, tc.retryable, e.Retryable)
			assert.NotContains(t, e.Error(), "x=1", "message leaks the URL query")
		})
	}
	e := fromMSAL("op", "c", callErr(429, `{}`, http.Header{"Retry-After": {"7"}})).(*Error)
	assert.Equal(t, 7*time.Second, e.RetryAfter)
	assert.ErrorIs(t, fromMSAL("op", "c", context.Canceled), context.Canceled, "cancellation must stay matchable")
	assert.NoError(t, fromMSAL("op", "c", nil), "nil must stay nil")
}

func TestParseGraphError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		code      string
		status    int
		action    Action
		retryable bool
	}{
		{"Request_UnsupportedQuery", 400, ActionFixFilter, false}, // the facts page's Graph code
		{"Authorization_RequestDenied", 403, ActionGrantConsent, false},
		{"TooManyRequests", 429, ActionWaitAndRetry, true},
		{"somethingNew", 503, ActionWaitAndRetry, true},
		{"somethingNew", 400, ActionNone, false},
	}
	for _, tc := range tests {
		body := fmt.Sprintf(`{"error":{"code":%q,"message":"m","innerError":{"date":"2026-01-01T00:00:00","request-id":"r","client-request-id":"c"}}}`, tc.code)
		e := ParseGraphError("list users", "c", tc.status, nil, []byte(body))
		assert.Equal(t, tc.code, e.GraphCode, "%s/%d", tc.code, tc.status)
		assert.Equal(t, tc.action, e.Action, "%s/%d", tc.code, tc.status)
		assert.Equal(t, tc.retryable, e.Retryable, "%s/%d", tc.code, tc.status)
	}
	e := ParseGraphError("op", "", 429, http.Header{"Retry-After": {"3"}}, []byte(`{}`))
	assert.Equal(t, 3*time.Second, e.RetryAfter)
}

// TestFromRealMSAL drives real MSAL against a TLS server answering with an
// Entra error, so the parse works on what MSAL really returns.
func TestFromRealMSAL(t *testing.T) {
	t.Parallel()
	const tenant = "11111111-2222-3333-4444-555555555555"
	var srv *httptest.Server
	srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		switch {
		case strings.HasSuffix(r.URL.Path, "/openid-configuration"):
			json.NewEncoder(w).Encode(map[string]string{
				"authorization_endpoint": srv.URL + "/" + tenant + "/oauth2/v2.0/authorize",
				"token_endpoint":         srv.URL + "/" + tenant + "/oauth2/v2.0/token",
				"issuer":                 srv.URL + "/" + tenant + "/v2.0",
			})
		case strings.HasSuffix(r.URL.Path, "/token"):
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"error":"invalid_client","error_description":"AADSTS7000222: The provided client secret keys are expired.","error_codes":[7000222]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cred, _ := confidential.NewCredFromSecret("a-secret-that-must-not-leak-123")
	cl, err := confidential.New(srv.URL+"/organizations", "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", cred,
		confidential.WithHTTPClient(srv.Client()), confidential.WithInstanceDiscovery(false))
	require.NoError(t, err)
	_, err = cl.AcquireTokenByCredential(context.Background(), []string{"https://graph.microsoft.com/.default"}, confidential.WithTenantID(tenant))
	require.Error(t, err)
	e, ok := fromMSAL("get an app-only token", "c", err).(*Error)
	require.True(t, ok, "got %#v", e)
	require.True(t, e.HasCode(7000222), "got %#v", e)
	require.Equal(t, ActionRotateSecret, e.Action)
	require.Equal(t, 401, e.HTTPStatus)
	assert.NotContains(t, e.Error(), "must-not-leak", "message leaks")
	assert.NotContains(t, e.Error(), srv.URL, "message leaks")
	// The body stays readable for a second parse.
	var ce msalerrors.CallErr
	if errors.As(err, &ce) {
		b, _ := io.ReadAll(ce.Resp.Body)
		assert.Contains(t, string(b), "7000222", "the response body was consumed")
	}
}
