package m365access

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCachedTokenRenewalTimes(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		m, _, _ := newTestManager(t, nil)
		long := tokenKey{customer: "c1", mode: ModeToken, scopes: "a"}
		short := tokenKey{customer: "c1", mode: ModeToken, scopes: "b"}
		m.cacheToken(long, "tok-long", time.Now().Add(time.Hour))
		m.cacheToken(short, "tok-short", time.Now().Add(4*time.Minute))

		time.Sleep(54 * time.Minute)
		_, ok := m.cachedToken(long)
		assert.True(t, ok, "an hour-long token must serve until 5 minutes before expiry")
		_, ok = m.cachedToken(short)
		assert.False(t, ok, "a 4-minute token must be renewed at half its life")
		time.Sleep(time.Minute)
		_, ok = m.cachedToken(long)
		assert.False(t, ok, "the token must be renewed 5 minutes before expiry")
	})
}

func TestPendingTransactionExpires(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		m, _, _ := newTestManager(t, nil)
		ctx := context.Background()
		ttl := m.provider.ttl()
		newState := func() string {
			s, err := m.newPending(ctx, pending{Flow: flowSignIn, Customer: "c1", BindingHash: hashBinding(binding), ExpiresAt: time.Now().Add(ttl)})
			require.NoError(t, err)
			return s
		}
		fresh, stale := newState(), newState()
		time.Sleep(ttl - time.Second)
		_, err := m.takePending(ctx, flowSignIn, fresh, binding)
		assert.NoError(t, err, "just inside the lifetime")
		time.Sleep(2 * time.Second)
		_, err = m.takePending(ctx, flowSignIn, stale, binding)
		assert.ErrorIs(t, err, ErrStateExpired, "after the lifetime")
		// The expired transaction is gone: it cannot be retried.
		_, err = m.takePending(ctx, flowSignIn, stale, binding)
		assert.ErrorIs(t, err, ErrStateUnknown, "an expired transaction was kept")
		// A consent state does not complete a sign-in.
		c, _ := m.newPending(ctx, pending{Flow: flowConsent, Customer: "c1", BindingHash: hashBinding(binding), ExpiresAt: time.Now().Add(ttl)})
		_, err = m.takePending(ctx, flowSignIn, c, binding)
		assert.ErrorIs(t, err, ErrStateUnknown, "a consent state completed a sign-in")
	})
}
