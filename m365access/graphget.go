package m365access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/internal/telemetry"
)

// graphGet reads one Graph v1.0 resource (path relative to /v1.0, query
// included) with tok into out, through Graph's middleware pipeline over the
// Manager's transport. Graph errors come back as *Error.
func (m *Manager) graphGet(ctx context.Context, op, customer string, tok azcore.AccessToken, ep CloudEndpoints, path string, out any) error {
	client, err := m.graphHTTP()
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(telemetry.WithCustomer(ctx, customer), http.MethodGet, ep.GraphEndpoint+"/v1.0"+path, nil)
	if err != nil {
		return fmt.Errorf("m365access: %s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if err := graphhttp.Authorize(ctx, req, graphhttp.StaticCredential(tok), []string{ep.GraphScope()}, []string{ep.GraphHost()}); err != nil {
		return fmt.Errorf("m365access: %s: %w", op, err)
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL says nothing new
		}
		e := &Error{Op: op, Customer: customer, Err: err}
		e.classify()
		return e
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, graphhttp.MaxErrorBody))
		return ParseGraphError(op, customer, resp.StatusCode, resp.Header, body)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(out); err != nil {
		e := &Error{Op: op, Customer: customer, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("decode Graph response: %w", err)}
		e.classify()
		return e
	}
	return nil
}

// graphHTTP returns the Manager's Graph pipeline client, built once.
func (m *Manager) graphHTTP() (*http.Client, error) {
	m.graphOnce.Do(func() {
		m.graphClient, m.graphErr = graphhttp.NewClient(graphhttp.Options{Transport: m.http.Transport, Timeout: m.http.Timeout})
	})
	return m.graphClient, m.graphErr
}
