package m365access

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
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
		if _, ok := m.cachedToken(long); !ok {
			t.Error("an hour-long token must serve until 5 minutes before expiry")
		}
		if _, ok := m.cachedToken(short); ok {
			t.Error("a 4-minute token must be renewed at half its life")
		}
		time.Sleep(time.Minute)
		if _, ok := m.cachedToken(long); ok {
			t.Error("the token must be renewed 5 minutes before expiry")
		}
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
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		fresh, stale := newState(), newState()
		time.Sleep(ttl - time.Second)
		if _, err := m.takePending(ctx, flowSignIn, fresh, binding); err != nil {
			t.Errorf("just inside the lifetime: %v", err)
		}
		time.Sleep(2 * time.Second)
		if _, err := m.takePending(ctx, flowSignIn, stale, binding); !errors.Is(err, ErrStateExpired) {
			t.Errorf("after the lifetime: %v", err)
		}
		// The expired transaction is gone: it cannot be retried.
		if _, err := m.takePending(ctx, flowSignIn, stale, binding); !errors.Is(err, ErrStateUnknown) {
			t.Errorf("an expired transaction was kept: %v", err)
		}
		// A consent state does not complete a sign-in.
		c, _ := m.newPending(ctx, pending{Flow: flowConsent, Customer: "c1", BindingHash: hashBinding(binding), ExpiresAt: time.Now().Add(ttl)})
		if _, err := m.takePending(ctx, flowSignIn, c, binding); !errors.Is(err, ErrStateUnknown) {
			t.Errorf("a consent state completed a sign-in: %v", err)
		}
	})
}
