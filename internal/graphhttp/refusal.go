package graphhttp

import (
	"bytes"
	"context"
	"io"
	"net/http"

	khttp "github.com/microsoft/kiota-http-go"
)

// Refusal is a Graph answer that refused a request for want of
// permission (403) or of a token Graph accepts (a 401 that a renewed token
// did not cure: RenewedHeader is set).
type Refusal struct {
	// Method and Path are the request's (Path without the query).
	Method, Path string
	Status       int
	Header       http.Header
	// Body is the start of the error body (at most MaxErrorBody bytes).
	Body []byte
}

// RefusalRecorder is a credential told about the refusals Graph answered
// to requests authorized with its tokens, so that the connection state of
// the customer it belongs to follows what Graph last said. The credentials
// of an *m365access.Manager implement it.
type RefusalRecorder interface {
	RecordRefusal(ctx context.Context, r Refusal)
}

// refusals tells the request's credential (see Authorize) about a 403, or
// a 401 reauth could not cure, when it is a RefusalRecorder. It sits
// outside reauth, so a 401 that a fresh token cured is never reported.
// The body is read (bounded) and given back to the caller unchanged.
type refusals struct{}

func (refusals) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if err != nil || resp == nil {
		return resp, err
	}
	refused := resp.StatusCode == http.StatusForbidden ||
		(resp.StatusCode == http.StatusUnauthorized && resp.Header.Get(RenewedHeader) != "")
	if !refused {
		return resp, nil
	}
	ai, _ := req.Context().Value(authKey{}).(*authInfo)
	if ai == nil {
		return resp, nil
	}
	rec, ok := ai.cred.(RefusalRecorder)
	if !ok {
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBody))
	_ = resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	rec.RecordRefusal(req.Context(), Refusal{Method: req.Method, Path: req.URL.Path, Status: resp.StatusCode,
		Header: resp.Header.Clone(), Body: body})
	return resp, nil
}
