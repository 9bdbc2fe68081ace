package sqlbackend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

func TestWaitForBacksOff(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		var at []time.Duration
		start := time.Now()
		err := WaitFor(t.Context(), func(context.Context) (bool, error) {
			at = append(at, time.Since(start))
			return len(at) == 12, nil
		})
		require.NoError(t, err)
		require.Len(t, at, 12, "attempts at %v, want 12 starting at once", at)
		require.Zero(t, at[0], "attempts at %v, want 12 starting at once", at)
		wait := MinPoll
		for i := 1; i < len(at); i++ {
			gap := at[i] - at[i-1]
			assert.GreaterOrEqual(t, gap, wait/2, "gap %d = %v, want within [%v, %v]", i, gap, wait/2, wait)
			assert.LessOrEqual(t, gap, wait, "gap %d = %v, want within [%v, %v]", i, gap, wait/2, wait)
			wait = min(2*wait, MaxPoll)
		}
	})
}

func TestWaitForStopsWithContext(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		start := time.Now()
		tries := 0
		err := WaitFor(ctx, func(context.Context) (bool, error) { tries++; return false, nil })
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, time.Second, time.Since(start), "returned after, want exactly the 1s deadline")
		// 5..200 ms backoff: a handful of fast tries, then about 5 a second.
		assert.GreaterOrEqual(t, tries, 6, "attempts in 1s")
		assert.LessOrEqual(t, tries, 20, "attempts in 1s")
	})
}

func TestWaitForErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	err := WaitFor(t.Context(), func(context.Context) (bool, error) { return false, boom })
	require.ErrorIs(t, err, boom, "want the try's error")
	// An error caused by the ended context reports the context's error.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = WaitFor(ctx, func(context.Context) (bool, error) { return false, boom })
	require.ErrorIs(t, err, context.Canceled)
}

func TestChecks(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		err  error
		ok   bool
	}{
		{"key", CheckKey(tokenstore.Key{Customer: "c", Kind: "k", Name: "n"}), true},
		{"key empty name", CheckKey(tokenstore.Key{Customer: "c", Kind: "k"}), false},
		{"scope", CheckScope("c", "k"), true},
		{"scope empty customer", CheckScope("", "k"), false},
		{"scope NUL kind", CheckScope("c", "k\x00"), false},
		{"scope bad UTF-8", CheckScope("\xc3", "k"), false},
		{"scope too long", CheckScope(strings.Repeat("c", tokenstore.MaxKeyPartLen+1), "k"), false},
		{"put create", CheckPutVersion(0), true},
		{"put replace", CheckPutVersion(3), true},
		{"put AnyVersion", CheckPutVersion(tokenstore.AnyVersion), false},
		{"delete AnyVersion", CheckDeleteVersion(tokenstore.AnyVersion), true},
		{"delete 2", CheckDeleteVersion(2), true},
		{"delete -2", CheckDeleteVersion(-2), false},
		{"ttl", CheckTTL(time.Second), true},
		{"ttl zero", CheckTTL(0), false},
		{"lease name", CheckLeaseName("refresh/c1"), true},
		{"lease name empty", CheckLeaseName(""), false},
	} {
		if tc.ok {
			assert.NoError(t, tc.err, tc.name)
		} else {
			assert.ErrorIs(t, tc.err, tokenstore.ErrInvalid, tc.name)
		}
	}
	assert.Equal(t, tokenstore.DefaultPageSize, PageLimit(0), "PageLimit(0)")
	assert.Equal(t, tokenstore.DefaultPageSize, PageLimit(-1), "PageLimit(-1)")
	assert.Equal(t, 7, PageLimit(7), "PageLimit(7)")
	a, b := NewHolder(), NewHolder()
	assert.NotEqual(t, a, b, "NewHolder gave the same holder twice")
	assert.GreaterOrEqual(t, len(a), 20, "NewHolder gave %q", a)
}
