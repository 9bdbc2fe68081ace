package m365access

import (
	"context"
	"errors"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// indexCustomer holds one record per token-connected customer, so the
// refresher can find them; host customer IDs must not use it.
const indexCustomer = "_tenantgate.index"

const kindIndex = "m365.tokenConnections"

func (m *Manager) index(ctx context.Context, customer string) error {
	key := tokenstore.Key{Customer: indexCustomer, Kind: kindIndex, Name: customer}
	_, err := m.store.Put(ctx, tokenstore.Record{Key: key, Data: []byte("{}")}, 0)
	if err != nil && !errors.Is(err, tokenstore.ErrConflict) {
		return err
	}
	return nil
}

// RefresherOptions tune Run.
type RefresherOptions struct {
	// Interval between passes; default one hour.
	Interval time.Duration
	// RefreshAfter is how old the last refresh of a token connection may
	// get before a pass renews it; default 7 days, far inside the 90-day
	// inactivity limit. Access tokens live about an hour, so a silent
	// request then always uses (and renews) the refresh token.
	RefreshAfter time.Duration
}

// Run keeps token connections alive until ctx ends: every Interval it
// renews each token connection not refreshed for RefreshAfter and records
// the result in its status, and deletes used and expired sign-in and
// consent transactions (SweepTransactions). Replicas may all run it: the refresh lease
// and the re-read of the last refresh under it keep the work single.
func (m *Manager) Run(ctx context.Context, opts RefresherOptions) error {
	if opts.Interval <= 0 {
		opts.Interval = time.Hour
	}
	if opts.RefreshAfter <= 0 {
		opts.RefreshAfter = 7 * 24 * time.Hour
	}
	t := time.NewTicker(opts.Interval)
	defer t.Stop()
	for {
		if _, err := m.RefreshDue(ctx, opts.RefreshAfter); err != nil && ctx.Err() == nil {
			m.log.WarnContext(ctx, "m365access: keep-alive pass failed", "err", err)
		}
		if _, err := m.SweepTransactions(ctx); err != nil && ctx.Err() == nil {
			m.log.WarnContext(ctx, "m365access: sweeping transactions failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RefreshDue renews every token connection whose last refresh is older
// than after, and returns how many it renewed. Failures are recorded in
// each customer's status (and reported by events), not returned.
func (m *Manager) RefreshDue(ctx context.Context, after time.Duration) (int, error) {
	renewed := 0
	opts := tokenstore.ListOptions{}
	for {
		page, err := m.store.List(ctx, indexCustomer, kindIndex, opts)
		if err != nil {
			return renewed, err
		}
		for _, rec := range page.Records {
			ok, err := m.keepAlive(ctx, rec.Name, after)
			if err != nil {
				if ctx.Err() != nil {
					return renewed, ctx.Err()
				}
				m.log.WarnContext(ctx, "m365access: keep-alive refresh failed", "customer", rec.Name, "err", err, "action", string(ActionOf(err)))
			}
			if ok {
				renewed++
			}
		}
		if page.Next == "" {
			return renewed, nil
		}
		opts.After = page.Next
	}
}

func (m *Manager) keepAlive(ctx context.Context, customer string, after time.Duration) (bool, error) {
	due := func() (bool, error) {
		st, _, err := m.loadStatus(ctx, customer)
		if err != nil {
			return false, err
		}
		return st.LastRefresh == nil || time.Since(*st.LastRefresh) >= after, nil
	}
	if ok, err := due(); err != nil || !ok {
		return false, err
	}
	s, _, err := m.loadSettings(ctx, customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if _, err := m.loadConnection(ctx, customer); errors.Is(err, tokenstore.ErrNotFound) {
		return false, nil
	}
	release, err := m.lock(ctx, "m365access.refresh."+customer)
	if err != nil {
		return false, err
	}
	defer release()
	if ok, err := due(); err != nil || !ok { // another replica did it
		return false, err
	}
	res, err := m.acquire(ctx, customer, s, ModeToken, nil)
	if err != nil {
		m.recordFailure(ctx, customer, "keep the token connection alive", err)
		return false, err
	}
	// A token still served from MSAL's cache means the refresh token was
	// used recently by someone else; only a redemption counts as renewal.
	fromIdP := res.Metadata.TokenSource == confidential.TokenSourceIdentityProvider
	m.recordSuccess(ctx, customer, fromIdP)
	return fromIdP, nil
}
