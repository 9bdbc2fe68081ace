package m365access

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/msalcache"
)

// KeepAlive renews the customer's token connection when its last refresh
// is older than after, recording the result in its status, and reports
// whether a refresh token was redeemed. Customers without a token
// connection have nothing to renew (false, nil). Replicas may call it at
// once: the refresh lease keeps the work single.
func (m *Manager) KeepAlive(ctx context.Context, customer string, after time.Duration) (bool, error) {
	return m.keepAlive(ctx, customer, after)
}

// Forget erases everything the Manager holds for the customer: its
// settings (with every sealed secret), its token connection, its MSAL token
// caches (refresh tokens included), its status, and the in-memory clients
// and access tokens. Entra ID offers no call that revokes one app's refresh
// token without ending every session of the user, so the refresh token is
// not revoked at Microsoft; erased here, it is unusable to anyone without
// the sealing keys and dies after 90 days unused. Forget is idempotent.
func (m *Manager) Forget(ctx context.Context, customer string) error {
	del := func(k tokenstore.Key) error {
		err := m.store.Delete(ctx, k, tokenstore.AnyVersion)
		if err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
			return fmt.Errorf("m365access: forget %q: %w", customer, err)
		}
		return nil
	}
	for _, kind := range []string{msalcache.DefaultKind} {
		opts := tokenstore.ListOptions{}
		for {
			page, err := m.store.List(ctx, customer, kind, opts)
			if err != nil {
				return fmt.Errorf("m365access: forget %q: %w", customer, err)
			}
			for _, rec := range page.Records {
				if err := del(rec.Key); err != nil {
					return err
				}
			}
			if page.Next == "" {
				break
			}
			opts.After = page.Next
		}
	}
	for _, k := range []tokenstore.Key{
		connectionKey(customer), settingsKey(customer), statusKey(customer),
		{Customer: indexCustomer, Kind: kindIndex, Name: customer},
	} {
		if err := del(k); err != nil {
			return err
		}
	}
	m.forget(customer)
	return nil
}
