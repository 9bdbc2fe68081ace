package voice_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/voice"
)

// rangeEvents drains e.events and returns the voice.range.* ones.
func (e *planEnv) rangeEvents() []events.Event {
	var out []events.Event
	for {
		select {
		case ev := <-e.events:
			if ev.Type == events.VoiceRangeLow || ev.Type == events.VoiceRangeExhausted {
				out = append(out, ev)
			}
		default:
			return out
		}
	}
}

// setNext gives user a number of range "Tiny", waits for its
// operation's event and returns the range events before it.
func (e *planEnv) setNext(t *testing.T, user string) []events.Event {
	t.Helper()
	op, err := e.svc.SetVoice(context.Background(), "contoso", user, voice.SetRequest{Number: "next", Range: "Tiny", Licenses: "auto"}, "alice")
	require.NoError(t, err)
	evs, last := e.rangeEventsUntil(t, op.ID)
	require.Equal(t, events.VoiceAssigned, last.Type, "%+v", last.Data)
	return evs
}

// rangeEventsUntil waits for operation op's event and returns it with
// the range events emitted before it.
func (e *planEnv) rangeEventsUntil(t *testing.T, op string) ([]events.Event, events.Event) {
	t.Helper()
	var out []events.Event
	deadline := time.After(time.Minute)
	for {
		select {
		case ev := <-e.events:
			switch {
			case ev.Data.Operation == op:
				return out, ev
			case ev.Type == events.VoiceRangeLow || ev.Type == events.VoiceRangeExhausted:
				out = append(out, ev)
			}
		case <-deadline:
			require.FailNowf(t, "timed out", "no event of operation %s within a minute", op)
		}
	}
}

// TestRangeRunningLow takes the numbers of a small range one by one:
// voice.range.low when its free numbers reach the threshold,
// voice.range.exhausted at none, each once per crossing (refreshes in
// between report nothing), and again after the range recovered and fell
// again.
func TestRangeRunningLow(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newPlanEnv(t, db, 200, func(c *voice.Config) { c.RangeLowFree, c.RangeLowPercent = 3, -1 })
			// The tenant's Italian numbers k%10 == 4 up to 94: ten, of
			// which 24, 54 and 84 are assigned: seven free.
			_, err := e.svc.PutRanges(ctx, "contoso", []voice.Range{
				{Name: "Milan", From: "+39020000100", To: "+39029999999", Type: voice.DirectRouting},
				{Name: "Tiny", From: "+39020000000", To: "+39020000099", Type: voice.DirectRouting}})
			require.NoError(t, err)
			_, err = e.svc.Refresh(ctx, "contoso")
			require.NoError(t, err)
			stats, err := e.svc.RangeStats(ctx, "contoso")
			require.NoError(t, err)
			tiny := stats[0]
			require.Equal(t, "Tiny", tiny.Name)
			require.Equal(t, 10, tiny.Numbers)
			require.Equal(t, 7, tiny.Free)
			assert.Equal(t, voice.RangeOK, e.svc.Level(tiny))
			assert.Equal(t, 3, e.svc.LowThreshold(tiny))
			assert.Empty(t, e.rangeEvents(), "a range with room reports nothing")

			// Italian users without a number: 4, 14, 34, 44, 64, 74, 94.
			users := []string{}
			for i := 4; i < 200 && len(users) < 7; i += 10 {
				if i%3 != 0 {
					users = append(users, fmt.Sprintf("user%05d@contoso.onmicrosoft.com", i))
				}
			}
			for _, u := range users[:3] {
				assert.Empty(t, e.setNext(t, u), "four free is above the threshold of three")
			}
			evs := e.setNext(t, users[3])
			require.Len(t, evs, 1)
			assert.Equal(t, events.VoiceRangeLow, evs[0].Type)
			assert.Equal(t, "contoso", evs[0].Data.Customer)
			assert.Equal(t, "Tiny", evs[0].Data.Range)
			assert.Equal(t, 3, *evs[0].Data.Free)
			assert.Equal(t, 10, *evs[0].Data.Numbers)

			_, err = e.svc.Refresh(ctx, "contoso")
			require.NoError(t, err)
			assert.Empty(t, e.setNext(t, users[4]), "still low: no second event")
			assert.Empty(t, e.setNext(t, users[5]))
			evs = e.setNext(t, users[6])
			require.Len(t, evs, 1)
			assert.Equal(t, events.VoiceRangeExhausted, evs[0].Type)
			assert.Equal(t, 0, *evs[0].Data.Free)
			_, err = e.svc.Refresh(ctx, "contoso")
			require.NoError(t, err)
			assert.Empty(t, e.rangeEvents(), "a refresh of an exhausted range reports nothing")

			// Recover (a released number, no quarantine) and fall again.
			op, err := e.svc.Release(ctx, "contoso", users[6], voice.ReleaseRequest{}, "alice")
			require.NoError(t, err)
			evs, last := e.rangeEventsUntil(t, op.ID)
			require.Equal(t, events.VoiceReleased, last.Type, "%+v", last.Data)
			assert.Empty(t, evs, "a range recovering reports nothing")
			evs = e.setNext(t, users[6])
			require.Len(t, evs, 1, "a new crossing")
			assert.Equal(t, events.VoiceRangeExhausted, evs[0].Type)

			// A range removed and added again starts afresh: its fall is
			// reported again.
			tinyRange := voice.Range{Name: "Tiny", From: "+39020000000", To: "+39020000099", Type: voice.DirectRouting}
			_, err = e.svc.PutRanges(ctx, "contoso", []voice.Range{{Name: "Milan", From: "+39020000100", To: "+39029999999", Type: voice.DirectRouting}})
			require.NoError(t, err)
			_, err = e.svc.Refresh(ctx, "contoso")
			require.NoError(t, err)
			_, err = e.svc.PutRanges(ctx, "contoso", []voice.Range{tinyRange})
			require.NoError(t, err)
			_, err = e.svc.Refresh(ctx, "contoso")
			require.NoError(t, err)
			evs = e.rangeEvents()
			require.Len(t, evs, 1, "%+v", evs)
			assert.Equal(t, events.VoiceRangeExhausted, evs[0].Type)
		})
	}
}

// TestRangeLowOncePerCrossingAcrossReplicas: replicas refreshing the
// same inventory at once report the crossing once.
func TestRangeLowOncePerCrossingAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			e := newPlanEnv(t, db, 200, nil) // the default threshold: 5 free
			// The tenant's numbers k = 4, 14, 24, 34, 44 lie in the range;
			// 24 is assigned: four free, so it is low.
			_, err := e.svc.PutRanges(ctx, "contoso", []voice.Range{{Name: "Tiny", From: "+39020000000", To: "+39020000049", Type: voice.DirectRouting}})
			require.NoError(t, err)
			store2, err := voice.NewStore(ctx, db.Open(t), db.Dialect) // a second replica's pool
			require.NoError(t, err)
			emitted := make(chanEvents, 100)
			svcs := []*voice.Service{e.svc}
			for range 3 {
				s, err := voice.New(voice.Config{Access: e.access, Store: store2, HTTPClient: e.provider.HTTPClient, Events: emitted, Logger: discard})
				require.NoError(t, err)
				svcs = append(svcs, s)
			}
			var wg sync.WaitGroup
			for _, s := range svcs {
				wg.Go(func() {
					_, err := s.Refresh(ctx, "contoso")
					assert.NoError(t, err)
				})
			}
			wg.Wait()
			// A check that lost to a busy database is made by the next
			// one: one more refresh, and still one event.
			_, err = svcs[1].Refresh(ctx, "contoso")
			require.NoError(t, err)
			evs := append(e.rangeEvents(), drain(emitted)...)
			require.Len(t, evs, 1, "%+v", evs)
			assert.Equal(t, events.VoiceRangeLow, evs[0].Type)
			assert.Equal(t, 4, *evs[0].Data.Free)
			assert.Equal(t, 5, *evs[0].Data.Numbers)
		})
	}
}

func drain(c chanEvents) []events.Event {
	var out []events.Event
	for {
		select {
		case ev := <-c:
			out = append(out, ev)
		default:
			return out
		}
	}
}
