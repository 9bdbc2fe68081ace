package m365test

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Fault is an injected failure. Zero fields of the selector (Tenant,
// Endpoint, GrantType) match any request; the effect fields combine in
// this order: Latency, then Drop, then Status / ErrorCode.
type Fault struct {
	// Tenant restricts the fault to one tenant (GUID or verified domain).
	Tenant string
	// Endpoint restricts the fault to one endpoint.
	Endpoint Endpoint
	// GrantType restricts a token endpoint fault to one grant type.
	GrantType string

	// Latency delays the answer (or the drop, or the normal answer).
	Latency time.Duration
	// Drop closes the connection without an answer.
	Drop bool
	// Status answers with this HTTP status: Graph endpoints in Graph's
	// error shape (429 TooManyRequests, 503 serviceNotAvailable, ...),
	// identity endpoints in Entra's shape.
	Status int
	// RetryAfter sets the Retry-After header (whole seconds, rounded up);
	// zero omits it, as Graph sometimes does.
	RetryAfter time.Duration
	// ErrorCode makes an identity endpoint answer with this AADSTS code
	// (e.g. 53003, 50196, 90055); Status defaults to 400 then.
	ErrorCode int
	// Times is how many matching requests the fault affects; zero means
	// every matching request until it is removed.
	Times int
}

type faultEntry struct {
	id   int
	f    Fault
	left int
}

// InjectFault adds a fault and returns a function that removes it.
// Latency-only faults let the request continue normally.
func (s *Server) InjectFault(f Fault) (remove func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f.Tenant != "" {
		if t := s.tenantLocked(f.Tenant); t != nil {
			f.Tenant = t.ID
		}
	}
	s.nextFaultID++
	e := &faultEntry{id: s.nextFaultID, f: f, left: f.Times}
	s.faults = append(s.faults, e)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for i, x := range s.faults {
			if x.id == e.id {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
				return
			}
		}
	}
}

// ClearFaults removes every injected fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the first fault matching c, consuming one of its
// times.
func (s *Server) takeFault(c *call) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, e := range s.faults {
		f := e.f
		if f.Tenant != "" && !strings.EqualFold(f.Tenant, c.tenant) {
			continue
		}
		if f.Endpoint != "" && f.Endpoint != c.endpoint {
			continue
		}
		if f.GrantType != "" && f.GrantType != c.grantType {
			continue
		}
		if e.f.Times > 0 {
			e.left--
			if e.left <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// applyFault runs a matching fault. It reports whether the fault answered
// (the handler must stop).
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, c *call, graph bool) bool {
	f, ok := s.takeFault(c)
	if !ok {
		return false
	}
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if f.Drop {
		c.fault = true
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			_ = conn.Close()
			return true
		}
		panic(http.ErrAbortHandler)
	}
	if f.Status == 0 && f.ErrorCode == 0 {
		return false
	}
	c.fault = true
	status := f.Status
	if graph {
		if status == 0 {
			status = http.StatusServiceUnavailable
		}
		code, msg := "generalException", "An injected fault."
		switch status {
		case http.StatusTooManyRequests:
			code, msg = "TooManyRequests", "Too many requests."
		case http.StatusServiceUnavailable:
			code, msg = "serviceNotAvailable", "The service is temporarily unavailable."
		case http.StatusGatewayTimeout:
			code, msg = "gatewayTimeout", "The gateway timed out."
		}
		s.writeGraphError(w, r, &graphError{status: status, code: code, msg: msg, retryAfter: f.RetryAfter})
		return true
	}
	if status == 0 {
		status = http.StatusBadRequest
	}
	code := f.ErrorCode
	oauthErr := "invalid_request"
	msg := "An injected fault."
	switch {
	case code == 0 && status == http.StatusTooManyRequests:
		code = CodeThrottled
	case code == 0:
		code = 90033 // "A transient error has occurred. Please try again."
		msg = "A transient error has occurred. Please try again."
	}
	if m, ok := faultMessages[code]; ok {
		oauthErr, msg = m[0], m[1]
	}
	if f.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((f.RetryAfter+time.Second-1)/time.Second)))
	}
	s.writeEntraError(w, r, &entraError{status: status, err: oauthErr, code: code, msg: msg})
	return true
}

// faultMessages are the OAuth error and text of codes a fault may inject.
var faultMessages = map[int][2]string{
	CodeThrottled:            {"temporarily_unavailable", "Too many requests. Please wait and try again."},
	CodeLoopDetected:         {"invalid_grant", "The server terminated an operation because it encountered a client request loop. Please contact your app vendor."},
	CodeBlockedByCA:          {"invalid_grant", "Access has been blocked by Conditional Access policies. The access policy does not allow token issuance."},
	CodeMFARequired:          {"invalid_grant", "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '00000003-0000-0000-c000-000000000000'."},
	CodeStrongAuthRequired:   {"invalid_grant", "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '00000003-0000-0000-c000-000000000000'."},
	CodeMFAEnrollment:        {"invalid_grant", "Due to a configuration change made by your administrator, or because you moved to a new location, you must enroll in multi-factor authentication to access '00000003-0000-0000-c000-000000000000'."},
	CodeSignInFrequency:      {"invalid_grant", "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on a date before the sign-in frequency policy's limit."},
	CodeCodeExpired:          {"invalid_grant", "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource."},
	CodeRefreshInactive:      {"invalid_grant", "The refresh token has expired due to inactivity."},
	CodeGrantRevoked:         {"invalid_grant", "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password."},
	CodeCodeRedeemed:         {"invalid_grant", "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token."},
	CodeConsentRequired:      {"invalid_grant", "The user or administrator has not consented to use the application. Send an interactive authorization request for this user and resource."},
	CodeAdminConsentRequired: {"invalid_grant", "The grant requires admin permission."},
	CodeResourceNotFound:     {"invalid_resource", "The resource principal named https://graph.microsoft.com was not found in the tenant."},
	CodeAppNotFound:          {"unauthorized_client", "Application was not found in the directory."},
	CodeInvalidSecret:        {"invalid_client", "Invalid client secret provided."},
	CodeExpiredSecret:        {"invalid_client", "The provided client secret keys are expired."},
	CodeInvalidAssertion:     {"invalid_client", "Client assertion failed signature validation."},
	CodeTenantNotFound:       {"invalid_request", "Tenant not found."},
}
