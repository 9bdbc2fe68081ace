package sqlbackend

import (
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

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
		if err != nil {
			t.Fatal(err)
		}
		if len(at) != 12 || at[0] != 0 {
			t.Fatalf("attempts at %v, want 12 starting at once", at)
		}
		wait := MinPoll
		for i := 1; i < len(at); i++ {
			gap := at[i] - at[i-1]
			if gap < wait/2 || gap > wait {
				t.Errorf("gap %d = %v, want within [%v, %v]", i, gap, wait/2, wait)
			}
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
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v, want DeadlineExceeded", err)
		}
		if d := time.Since(start); d != time.Second {
			t.Errorf("returned after %v, want exactly the 1s deadline", d)
		}
		// 5..200 ms backoff: a handful of fast tries, then about 5 a second.
		if tries < 6 || tries > 20 {
			t.Errorf("%d attempts in 1s", tries)
		}
	})
}

func TestWaitForErrors(t *testing.T) {
	t.Parallel()
	boom := errors.New("boom")
	err := WaitFor(t.Context(), func(context.Context) (bool, error) { return false, boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want the try's error", err)
	}
	// An error caused by the ended context reports the context's error.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = WaitFor(ctx, func(context.Context) (bool, error) { return false, boom })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
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
		if tc.ok && tc.err != nil {
			t.Errorf("%s: %v", tc.name, tc.err)
		}
		if !tc.ok && !errors.Is(tc.err, tokenstore.ErrInvalid) {
			t.Errorf("%s: got %v, want ErrInvalid", tc.name, tc.err)
		}
	}
	if PageLimit(0) != tokenstore.DefaultPageSize || PageLimit(-1) != tokenstore.DefaultPageSize || PageLimit(7) != 7 {
		t.Error("PageLimit")
	}
	if a, b := NewHolder(), NewHolder(); a == b || len(a) < 20 {
		t.Errorf("NewHolder gave %q and %q", a, b)
	}
}
