package usersync

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/tenantgate/tenantgate/m365access"
)

var _ DeltaSource = (*GraphSource)(nil)

// codeSyncStateNotFound is Graph's error code for an expired delta link.
const codeSyncStateNotFound = "syncStateNotFound"

// deltaURL is the first URL of a delta round for q, with q's properties.
func (s *GraphSource) deltaURL(q Query, latest bool) string {
	sel := s.selected
	for _, p := range q.Select {
		sel += "," + p
	}
	v := url.Values{"$select": {sel}}
	if latest {
		v.Set("$deltatoken", "latest")
	}
	return s.base + "/users/delta?" + v.Encode()
}

// LatestDelta asks Graph for a delta link for the current state of the
// customer's users ($deltatoken=latest on /users/delta): one request, no
// users read.
func (s *GraphSource) LatestDelta(ctx context.Context, customer string, q Query) (string, error) {
	var link string
	err := s.readDelta(ctx, customer, s.deltaURL(q, true), func(p *wirePage) error {
		if len(p.users) > 0 || len(p.removed) > 0 || p.next != "" {
			return &m365access.Error{Op: "read users", Customer: customer,
				Err: errors.New("$deltatoken=latest answered users instead of a delta link"), Action: m365access.ActionWaitAndRetry}
		}
		link = p.delta
		return nil
	})
	return link, err
}

// ReadDelta reads the changes since link from Graph's /users/delta, page
// by page, and returns the next round's delta link. Graph cannot filter a
// delta round (only by object ID): the pages hold every changed user with
// q's properties. An expired link (400 syncStateNotFound, or 410 Gone)
// gives an *m365access.Error matching ErrDeltaExpired.
//
// Unless GraphOptions.NoTeams is set, the changed users are joined with
// their Teams Phone System configurations, fetched by ID (JSON $batch,
// TeamsBatchSize a request): Teams configurations have no delta, so only
// the users that changed get theirs refreshed.
func (s *GraphSource) ReadDelta(ctx context.Context, customer, link string, q Query, fn func(DeltaPage) error) (string, error) {
	if s.noTeams && q.Teams {
		return "", &FilterError{Customer: customer, Err: errors.New("the filter reads Teams Phone System attributes, which this source does not read (GraphOptions.NoTeams)")}
	}
	var next string
	var teams TeamsRead
	err := s.readDelta(ctx, customer, link, func(p *wirePage) error {
		next = p.delta
		if !s.noTeams && len(p.users) > 0 {
			n, err := s.batchTeams(ctx, s.creds.Credential(customer), customer, p.users)
			teams.Mode, teams.Requests = TeamsBatch, teams.Requests+n
			if err != nil {
				return err
			}
		}
		return fn(DeltaPage{Users: p.users, Removed: p.removed, Teams: teams})
	})
	return next, err
}

// readDelta follows a delta round from link to its deltaLink, calling fn
// for each page.
func (s *GraphSource) readDelta(ctx context.Context, customer, link string, fn func(*wirePage) error) error {
	cred := s.creds.Credential(customer)
	if cred == nil {
		return fmt.Errorf("usersync: the CredentialSource gave no credential for customer %q", customer)
	}
	dec := s.decoder()
	defer s.decoders.Put(dec)
	p := wirePage{users: make([]User, 0, s.pageSize)}
	for link != "" {
		req, err := s.newRequest(ctx, cred, customer, link, false)
		if err != nil {
			return err
		}
		// Graph documents no page size for user delta rounds; ask for the
		// source's page size.
		req.Header.Set("Prefer", "odata.maxpagesize="+strconv.Itoa(s.pageSize))
		if err := s.fetch(req, customer, dec, &p); err != nil {
			var me *m365access.Error
			if errors.As(err, &me) && (me.GraphCode == codeSyncStateNotFound || me.HTTPStatus == http.StatusGone) {
				return &deltaExpiredError{err: err}
			}
			return err
		}
		if p.next == "" && p.delta == "" {
			return &m365access.Error{Op: "read users", Customer: customer,
				Err: errors.New("a delta page without @odata.nextLink or @odata.deltaLink"), Action: m365access.ActionWaitAndRetry, Retryable: true}
		}
		if err := fn(&p); err != nil {
			return err
		}
		link = p.next
	}
	return nil
}

// deltaExpiredError is Graph's refusal of an expired delta link: it
// matches ErrDeltaExpired and unwraps to the *m365access.Error.
type deltaExpiredError struct{ err error }

func (e *deltaExpiredError) Error() string { return e.err.Error() }
func (e *deltaExpiredError) Unwrap() []error {
	return []error{ErrDeltaExpired, e.err}
}
