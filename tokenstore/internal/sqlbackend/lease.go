package sqlbackend

import (
	"context"
	"crypto/rand"
	mrand "math/rand/v2"
	"time"
)

// NewHolder returns a fresh random lease holder token (128 bits, text).
// Each Lock call gets its own token, so a process cannot release another
// call's lease by accident.
func NewHolder() string {
	return rand.Text()
}

// Poll intervals of WaitFor: the first retry comes after MinPoll, each
// further one doubles the wait up to MaxPoll, with jitter so that waiting
// replicas do not retry in lockstep.
const (
	MinPoll = 5 * time.Millisecond
	MaxPoll = 200 * time.Millisecond
)

// WaitFor calls try until it reports true, returns an error or ctx ends,
// sleeping between attempts (see MinPoll and MaxPoll). It returns ctx's
// error when ctx ends first.
func WaitFor(ctx context.Context, try func(context.Context) (bool, error)) error {
	wait := MinPoll
	var timer *time.Timer
	for {
		ok, err := try(ctx)
		if err != nil {
			if ctxErr := ctx.Err(); ctxErr != nil {
				return ctxErr
			}
			return err
		}
		if ok {
			return nil
		}
		// Sleep between wait/2 and wait.
		d := wait/2 + mrand.N(wait/2+1)
		if timer == nil {
			timer = time.NewTimer(d)
			defer timer.Stop()
		} else {
			timer.Reset(d)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-timer.C:
		}
		wait = min(2*wait, MaxPoll)
	}
}
