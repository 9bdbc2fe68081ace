package m365access

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
)

// tokenRetries is how often a transient failure of Entra ID's token
// endpoint is retried, waiting tokenBackoff, doubled each time (0.5 s,
// 1 s, 2 s), or the answer's Retry-After when it is at most
// maxTokenRetryAfter.
const (
	tokenRetries       = 3
	tokenBackoff       = 500 * time.Millisecond
	maxTokenRetryAfter = 10 * time.Second
)

// retryingDoer is the HTTP client MSAL sends through: a token request
// (POST .../oauth2/v2.0/token) that meets a transient fault — 429, 500,
// 502, 503, 504, or a connection refused, reset or closed — is sent
// again after a backoff, within the request's deadline. One 503 used to
// fail a sync at once. Other requests pass unchanged.
type retryingDoer struct{ c *http.Client }

func (d retryingDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.c.Do(req)
	if req.Method != http.MethodPost || !strings.HasSuffix(req.URL.Path, "/token") || req.GetBody == nil {
		return resp, err
	}
	delay := tokenBackoff
	for n := 0; n < tokenRetries; n++ {
		wait, retry := transientToken(resp, err, delay)
		if !retry || !graphhttp.Sleep(req.Context(), wait) {
			break
		}
		if resp != nil {
			resp.Body.Close()
		}
		body, berr := req.GetBody()
		if berr != nil {
			break
		}
		again := req.Clone(req.Context())
		again.Body = body
		resp, err = d.c.Do(again)
		delay *= 2
	}
	return resp, err
}

// CloseIdleConnections closes the client's idle connections.
func (d retryingDoer) CloseIdleConnections() { d.c.CloseIdleConnections() }

// transientToken reports whether a token answer is a transient fault and
// how long to wait before the next attempt.
func transientToken(resp *http.Response, err error, backoff time.Duration) (time.Duration, bool) {
	if err != nil {
		return backoff, graphhttp.IsConnectionFault(err)
	}
	switch resp.StatusCode {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
	default:
		return 0, false
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		ra := time.Duration(s) * time.Second
		if ra > maxTokenRetryAfter {
			return 0, false // throttled for longer than a request should wait
		}
		return max(ra, backoff), true
	}
	return backoff, true
}
