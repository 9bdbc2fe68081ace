package m365access

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
)

// entraErrorBody is the JSON body of an Entra ID token endpoint error.
type entraErrorBody struct {
	Error       string `json:"error"`
	Description string `json:"error_description"`
	Codes       []int  `json:"error_codes"`
	SubError    string `json:"suberror"`
}

// graphErrorBody is the JSON body of a Microsoft Graph error.
type graphErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// maxDescription bounds the description kept from a server answer.
const maxDescription = 300

// fromMSAL turns an error returned by MSAL Go into an *Error for op and
// customer. The server's answer is read from MSAL's CallErr (its Resp
// body); errors without one keep their cause. The returned error never
// holds MSAL's own message, which embeds the request URL and the body.
func fromMSAL(op, customer string, err error) error {
	if err == nil {
		return nil
	}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		e := &Error{Op: op, Customer: customer, HTTPStatus: ce.Resp.StatusCode}
		e.RetryAfter = retryAfter(ce.Resp.Header)
		if ce.Resp.Body != nil {
			data, _ := io.ReadAll(io.LimitReader(ce.Resp.Body, 1<<20))
			ce.Resp.Body = io.NopCloser(bytes.NewReader(data))
			var b entraErrorBody
			if json.Unmarshal(data, &b) == nil {
				e.OAuthError, e.Codes = b.Error, b.Codes
				e.Description = clip(b.Description)
			}
		}
		e.classify()
		return e
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Op: op, Customer: customer, Err: err}
	}
	e := &Error{Op: op, Customer: customer, Err: sanitized{err}}
	e.classify()
	return e
}

// parseEntraError turns an Entra ID error response (status and JSON body)
// into an *Error.
func parseEntraError(op, customer string, status int, header http.Header, body []byte) *Error {
	e := &Error{Op: op, Customer: customer, HTTPStatus: status, RetryAfter: retryAfter(header)}
	var b entraErrorBody
	if json.Unmarshal(body, &b) == nil {
		e.OAuthError, e.Codes, e.Description = b.Error, b.Codes, clip(b.Description)
	}
	e.classify()
	return e
}

// ParseGraphError turns a Microsoft Graph error response (status and the
// JSON body {"error":{"code":...,"message":...}}) into an *Error.
func ParseGraphError(op, customer string, status int, header http.Header, body []byte) *Error {
	e := &Error{Op: op, Customer: customer, HTTPStatus: status, RetryAfter: retryAfter(header)}
	var b graphErrorBody
	if json.Unmarshal(body, &b) == nil {
		e.GraphCode, e.Description = b.Error.Code, clip(b.Error.Message)
	}
	e.classify()
	if status == http.StatusUnauthorized && header.Get(graphhttp.RenewedHeader) != "" {
		// The pipeline already evicted the rejected token and tried a
		// fresh one (or could get none): waiting does not help.
		e.Action, e.Retryable = ActionReInvite, false
		e.Hint = "Microsoft Graph refused a token just renewed from Entra ID (revoked sessions or a Continuous Access Evaluation policy): the customer's administrator must connect again; if every customer shows this, check this host's clock"
	}
	return e
}

// sanitized hides an MSAL error's text, which may embed request URLs with
// query strings, behind a fixed message while keeping errors.Is working.
type sanitized struct{ err error }

func (s sanitized) Error() string {
	msg := s.err.Error()
	// Transport errors look like `Post "https://host/path?query": dial...`;
	// drop anything between quotes, which is where URLs appear.
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		if j := strings.IndexByte(msg[i+1:], '"'); j >= 0 {
			msg = msg[:i] + "<url>" + msg[i+1+j+1:]
		}
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return clip(msg)
}

func (s sanitized) Unwrap() error { return s.err }

func clip(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > maxDescription {
		s = s[:maxDescription]
	}
	return s
}

// retryAfter parses a Retry-After header: seconds or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := h.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// WrapError returns err as an *Error for op and customer, classified by
// what it wraps (a transport failure, a cancelled context, ...), with its
// text cleaned of URLs. errors.As and errors.Is still reach err.
func WrapError(op, customer string, err error) *Error {
	e := &Error{Op: op, Customer: customer, Err: sanitized{err}}
	e.classify()
	return e
}
