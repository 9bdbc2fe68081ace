package m365test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// AADSTS codes the fake returns. They are the numbers Entra ID sends in
// error_codes; callers branch on them, never on the text.
const (
	CodeCodeExpired            = 70008   // authorization code or refresh token expired
	CodeRefreshInactive        = 700082  // refresh token expired after 90 days of inactivity
	CodeGrantRevoked           = 50173   // grant revoked (password reset, revoke sessions)
	CodeSignInFrequency        = 70043   // refresh token expired by a sign-in frequency policy
	CodeCodeRedeemed           = 54005   // authorization code already redeemed
	CodeMFARequired            = 50076   // multi-factor authentication required
	CodeMFAEnrollment          = 50079   // user must enrol for multi-factor authentication
	CodeStrongAuthRequired     = 50078   // presented MFA expired, strong auth required
	CodeBlockedByCA            = 53003   // blocked by conditional access
	CodeConsentRequired        = 65001   // user or admin has not consented
	CodeConsentDeclined        = 65004   // user declined to consent
	CodeAdminConsentRequired   = 90094   // the grant requires admin permission
	CodeResourceNotFound       = 500011  // resource principal not found in the tenant
	CodeAppNotFound            = 700016  // application not found in the directory
	CodeInvalidSecret          = 7000215 // invalid client secret
	CodeExpiredSecret          = 7000222 // client secret expired
	CodeInvalidAssertion       = 700027  // client assertion failed signature validation
	CodeLoopDetected           = 50196   // the server terminated an operation: loop detected
	CodeThrottled              = 90055   // too many requests
	CodeTenantNotFound         = 90002   // tenant not found
	CodeInvalidCredentials     = 50126   // invalid username or password
	CodeUserNotInTenant        = 50020   // user account does not exist in the tenant
	CodeUserNotFound           = 50034   // user account does not exist in the directory
	CodeRedirectMismatch       = 50011   // redirect URI mismatch
	CodePKCEMismatch           = 50148   // code_verifier does not match code_challenge
	CodePKCERequired           = 9002325 // PKCE required
	CodeMalformedGrant         = 9002313 // invalid request, malformed grant
	CodeMissingParameter       = 900144  // request body must contain a parameter
	CodeCredentialsMissing     = 7000218 // client_assertion or client_secret required
	CodeUnsupportedGrant       = 70003   // unsupported grant type
	CodeInvalidScope           = 70011   // invalid scope
	CodeLoginRequired          = 50058   // silent sign-in requested but no session
	CodeTenantIndependentCreds = 900023  // tenant-independent endpoint used for an app-only token
	CodeClientMismatch         = 70000   // grant issued to another client
	CodeAssertionExpired       = 700024  // client assertion outside its validity window
)

// entraError is an OAuth error in the shape Entra ID answers.
type entraError struct {
	status int
	err    string // OAuth error: invalid_grant, invalid_client, ...
	code   int
	msg    string
	sub    string // suberror, e.g. consent_required, basic_action
}

func (e *entraError) Error() string { return fmt.Sprintf("AADSTS%d: %s", e.code, e.msg) }

func newEntraError(status int, oauthErr string, code int, format string, args ...any) *entraError {
	return &entraError{status: status, err: oauthErr, code: code, msg: fmt.Sprintf(format, args...)}
}

// withSub sets the suberror.
func (e *entraError) withSub(sub string) *entraError { e.sub = sub; return e }

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// body returns the JSON error body Entra sends and the timestamp used.
func (e *entraError) body(now time.Time, correlationID string) map[string]any {
	trace := newID()
	if correlationID == "" {
		correlationID = newID()
	}
	ts := now.UTC().Format("2006-01-02 15:04:05Z")
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", e.code, e.msg, trace, correlationID, ts)
	b := map[string]any{
		"error":             e.err,
		"error_description": desc,
		"error_codes":       []int{e.code},
		"timestamp":         ts,
		"trace_id":          trace,
		"correlation_id":    correlationID,
		"error_uri":         "https://" + LoginHost + "/error?code=" + strconv.Itoa(e.code),
	}
	if e.sub != "" {
		b["suberror"] = e.sub
	}
	return b
}

// writeEntraError writes e as a JSON response.
func (s *Server) writeEntraError(w http.ResponseWriter, r *http.Request, e *entraError) {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, e.status, e.body(s.Now(), r.Header.Get("client-request-id")))
}

// errorParams are the response parameters of an error sent to the app
// once the client and redirect URI are trusted.
func (s *Server) errorParams(e *entraError, state string) url.Values {
	b := e.body(s.Now(), "")
	q := url.Values{}
	q.Set("error", e.err)
	q.Set("error_description", b["error_description"].(string))
	q.Set("error_uri", b["error_uri"].(string))
	if state != "" {
		q.Set("state", state)
	}
	return q
}

func appendQuery(u string, q url.Values) string {
	pu, err := url.Parse(u)
	if err != nil {
		return u
	}
	existing := pu.Query()
	for k, vs := range q {
		for _, v := range vs {
			existing.Add(k, v)
		}
	}
	pu.RawQuery = existing.Encode()
	return pu.String()
}

// graphError is an error answer of Microsoft Graph.
type graphError struct {
	status     int
	code       string
	msg        string
	retryAfter time.Duration
	claims     string         // a CAE claims challenge of a 401 (base64)
	inner      map[string]any // extra innerError members (the 429's code, status, message)
}

func (e *graphError) Error() string { return e.code + ": " + e.msg }

// writeGraphError writes e in Graph's error JSON shape with innerError.
func (s *Server) writeGraphError(w http.ResponseWriter, r *http.Request, e *graphError) {
	if w.Header().Get("request-id") == "" {
		setGraphHeaders(w.Header(), r)
	}
	reqID, crid := w.Header().Get("request-id"), w.Header().Get("client-request-id")
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", challengeHeader(e.claims))
	}
	if e.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((e.retryAfter+time.Second-1)/time.Second)))
	}
	inner := map[string]any{
		"date":              s.Now().UTC().Format("2006-01-02T15:04:05"),
		"request-id":        reqID,
		"client-request-id": crid,
	}
	for k, v := range e.inner {
		inner[k] = v
	}
	writeJSON(w, e.status, map[string]any{"error": map[string]any{
		"code":       e.code,
		"message":    e.msg,
		"innerError": inner,
	}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
