package graphhttp

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"syscall"
	"time"

	khttp "github.com/microsoft/kiota-http-go"
)

// resetRetries is how often a connection reset is retried, with
// resetBackoff doubling between attempts (0.5 s, 1 s, 2 s).
const (
	resetRetries = 3
	resetBackoff = 500 * time.Millisecond
)

// IsConnectionFault reports whether err is a connection refused, reset or
// closed before the answer: the server (or a proxy) dropped the
// connection, and the same request may succeed on a new one.
func IsConnectionFault(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// resetRetry sends an idempotent request (GET, HEAD) again after a
// connection fault, up to resetRetries times with exponential backoff,
// never past the request's deadline.
type resetRetry struct{}

func (resetRetry) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if req.Method != http.MethodGet && req.Method != http.MethodHead {
		return resp, err
	}
	delay := resetBackoff
	for n := 0; n < resetRetries && err != nil && IsConnectionFault(err); n++ {
		if !Sleep(req.Context(), delay) {
			return resp, err
		}
		delay *= 2
		resp, err = p.Next(req, i)
	}
	return resp, err
}

// Sleep waits d unless ctx ends first or its deadline comes before d
// passes; it reports whether it waited.
func Sleep(ctx context.Context, d time.Duration) bool {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// attemptTimeout bounds each attempt (each retry its own) by timeout,
// reading the body included, instead of one http.Client.Timeout over
// every attempt: a Retry-After longer than the timeout is waited between
// attempts, bounded only by the request's context (the job's deadline),
// and the answer says throttled rather than "Client.Timeout exceeded".
type attemptTimeout struct{ timeout time.Duration }

func (a attemptTimeout) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithTimeout(req.Context(), a.timeout)
	resp, err := p.Next(req.WithContext(ctx), i)
	if err != nil || resp == nil || resp.Body == nil {
		cancel()
		return resp, err
	}
	resp.Body = &cancelOnClose{ReadCloser: resp.Body, cancel: cancel}
	return resp, nil
}

type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelOnClose) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// retryFits reports whether the wait before retrying resp (its
// Retry-After, else the backoff of the attempt) ends before the
// request's deadline: a wait that cannot end in time is not started, and
// the caller gets the throttled answer at once.
func retryFits(req *http.Request, resp *http.Response, backoff time.Duration) bool {
	dl, ok := req.Context().Deadline()
	if !ok {
		return true
	}
	wait := backoff
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		wait = time.Duration(s) * time.Second
	}
	return time.Until(dl) > wait
}
