package qoe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/internal/telemetry"
	"github.com/tenantgate/tenantgate/m365access"
)

// maxGraphBody bounds a Graph answer read into memory.
const maxGraphBody = 16 << 20

// maxPages bounds how many pages one listing follows.
const maxPages = 1000

// graph calls Microsoft Graph v1.0 as one customer's QoE app.
type graph struct {
	s        *Service
	customer string
	ep       m365access.CloudEndpoints
}

func (s *Service) graphFor(ctx context.Context, customer string) (*graph, error) {
	ep, err := s.cfg.Access.Endpoints(ctx, customer)
	if err != nil {
		return nil, err
	}
	return &graph{s: s, customer: customer, ep: ep}, nil
}

// url returns the absolute URL of a /v1.0 path.
func (g *graph) url(path string) string { return g.ep.GraphEndpoint + "/v1.0" + path }

// do sends one request (body marshalled as JSON when not nil) and decodes
// a 2xx answer into out (when not nil). A 429 is a *m365access.Error with
// Retryable and RetryAfter set; Throttled recognises it.
func (g *graph) do(ctx context.Context, op, method, rawURL string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(telemetry.WithCustomer(ctx, g.customer), method, rawURL, rd)
	if err != nil {
		return fmt.Errorf("qoe: %s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	cred := g.s.cfg.Access.QoECredential(g.customer)
	if err := graphhttp.Authorize(ctx, req, cred, []string{g.ep.GraphScope()}, []string{g.ep.GraphHost()}); err != nil {
		return fmt.Errorf("qoe: %s for customer %q: %w", op, g.customer, err)
	}
	resp, err := g.s.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a query; the cause is enough
		}
		return &m365access.Error{Op: op, Customer: g.customer, Retryable: true, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, graphhttp.MaxErrorBody))
		return m365access.ParseGraphError(op, g.customer, resp.StatusCode, resp.Header, b)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, graphhttp.MaxErrorBody))
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphBody+1))
	if err != nil {
		return &m365access.Error{Op: op, Customer: g.customer, HTTPStatus: resp.StatusCode, Retryable: true, Err: err}
	}
	if len(b) > maxGraphBody {
		return &m365access.Error{Op: op, Customer: g.customer, HTTPStatus: resp.StatusCode, Err: errors.New("the answer is larger than 16 MiB")}
	}
	if raw, ok := out.(*[]byte); ok {
		*raw = b
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return &m365access.Error{Op: op, Customer: g.customer, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("decode the answer: %w", err)}
	}
	return nil
}

// Throttled reports whether err is Graph's 429 (or a 503 with
// Retry-After), and how long to wait: Retry-After, or fallback without
// one.
func Throttled(err error, fallback time.Duration) (time.Duration, bool) {
	var e *m365access.Error
	if !errors.As(err, &e) {
		return 0, false
	}
	if e.HTTPStatus != http.StatusTooManyRequests && !(e.HTTPStatus == http.StatusServiceUnavailable && e.RetryAfter > 0) {
		return 0, false
	}
	if e.RetryAfter > 0 {
		return e.RetryAfter, true
	}
	return fallback, true
}

// notFound reports a Graph 404.
func notFound(err error) bool {
	var e *m365access.Error
	return errors.As(err, &e) && e.HTTPStatus == http.StatusNotFound
}

// checkNext accepts a nextLink only on the customer's Graph host.
func (g *graph) checkNext(link string) error {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Hostname(), g.ep.GraphHost()) {
		return fmt.Errorf("qoe: a nextLink left the Graph host %s", g.ep.GraphHost())
	}
	return nil
}

// fetchRecord gets a call record with its sessions and segments,
// following sessions@odata.nextLink.
func (g *graph) fetchRecord(ctx context.Context, id string) (*graphRecord, error) {
	var raw []byte
	u := g.url("/communications/callRecords/" + url.PathEscape(id) + "?$expand=" + url.QueryEscape("sessions($expand=segments)"))
	if err := g.do(ctx, "get a call record", http.MethodGet, u, nil, &raw); err != nil {
		return nil, err
	}
	rec, err := decodeRecord(raw)
	if err != nil {
		return nil, err
	}
	next := rec.SessionsNextLink
	for pages := 0; next != ""; pages++ {
		if pages >= maxPages {
			return nil, fmt.Errorf("qoe: call record %s: more than %d session pages", id, maxPages)
		}
		if err := g.checkNext(next); err != nil {
			return nil, err
		}
		var page struct {
			Value    []graphSession `json:"value"`
			NextLink string         `json:"@odata.nextLink"`
		}
		if err := g.do(ctx, "get call record sessions", http.MethodGet, next, nil, &page); err != nil {
			return nil, err
		}
		rec.Sessions = append(rec.Sessions, page.Value...)
		next = page.NextLink
	}
	return rec, nil
}

// listedRecord is a call record in a listing (no sessions).
type listedRecord struct {
	ID            string    `json:"id"`
	Version       int64     `json:"version"`
	StartDateTime time.Time `json:"startDateTime"`
}

// listSince lists the call records that started at or after since.
func (g *graph) listSince(ctx context.Context, since time.Time) ([]listedRecord, error) {
	filter := "startDateTime ge " + since.UTC().Format(time.RFC3339)
	next := g.url("/communications/callRecords?$filter=" + url.QueryEscape(filter))
	var out []listedRecord
	for pages := 0; next != ""; pages++ {
		if pages >= maxPages {
			return nil, fmt.Errorf("qoe: more than %d pages of call records", maxPages)
		}
		if pages > 0 {
			if err := g.checkNext(next); err != nil {
				return nil, err
			}
		}
		var page struct {
			Value    []listedRecord `json:"value"`
			NextLink string         `json:"@odata.nextLink"`
		}
		if err := g.do(ctx, "list call records", http.MethodGet, next, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		next = page.NextLink
	}
	return out, nil
}

// graphSubscription is a subscription's JSON.
type graphSubscription struct {
	ID                       string    `json:"id,omitempty"`
	Resource                 string    `json:"resource,omitempty"`
	ChangeType               string    `json:"changeType,omitempty"`
	NotificationURL          string    `json:"notificationUrl,omitempty"`
	LifecycleNotificationURL string    `json:"lifecycleNotificationUrl,omitempty"`
	ClientState              string    `json:"clientState,omitempty"`
	ExpirationDateTime       time.Time `json:"expirationDateTime"`
}

func (g *graph) createSubscription(ctx context.Context, sub graphSubscription) (graphSubscription, error) {
	var out graphSubscription
	err := g.do(ctx, "create the call records subscription", http.MethodPost, g.url("/subscriptions"), sub, &out)
	return out, err
}

func (g *graph) getSubscription(ctx context.Context, id string) (graphSubscription, error) {
	var out graphSubscription
	err := g.do(ctx, "read the call records subscription", http.MethodGet, g.url("/subscriptions/"+url.PathEscape(id)), nil, &out)
	return out, err
}

func (g *graph) deleteSubscription(ctx context.Context, id string) error {
	err := g.do(ctx, "delete the call records subscription", http.MethodDelete, g.url("/subscriptions/"+url.PathEscape(id)), nil, nil)
	if notFound(err) {
		return nil
	}
	return err
}

// directRoutingRow is a row of getDirectRoutingCalls.
type directRoutingRow struct {
	StartDateTime time.Time `json:"startDateTime"`
	Duration      *int64    `json:"duration"` // seconds
	Successful    *bool     `json:"successfulCall"`
	FinalSIPCode  *int      `json:"finalSipCode"`
	TrunkFQDN     string    `json:"trunkFullyQualifiedDomainName"`
}

// pstnRow is a row of getPstnCalls.
type pstnRow struct {
	StartDateTime time.Time `json:"startDateTime"`
	Duration      *int64    `json:"duration"` // seconds
}

// report reads all pages of a PSTN report function over [from, to).
func report[T any](ctx context.Context, g *graph, fn string, from, to time.Time) ([]T, error) {
	next := g.url("/communications/callRecords/" + fn + "(fromDateTime=" + from.UTC().Format(time.RFC3339) + ",toDateTime=" + to.UTC().Format(time.RFC3339) + ")")
	var out []T
	for pages := 0; next != ""; pages++ {
		if pages >= maxPages {
			return nil, fmt.Errorf("qoe: more than %d pages of %s", maxPages, fn)
		}
		if pages > 0 {
			if err := g.checkNext(next); err != nil {
				return nil, err
			}
		}
		var page struct {
			Value    []T    `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := g.do(ctx, fn, http.MethodGet, next, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Value...)
		next = page.NextLink
	}
	return out, nil
}
