package events_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// TestListEventsAndDeliveriesPaged: events and deliveries page by cursor
// through every item once, filtered by customer, type, state and time;
// a cursor of another query or listing, or an edited one, is
// ErrBadCursor.
func TestListEventsAndDeliveriesPaged(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			rcv := newReceiver(t, events.GenerateSecret())
			b := newBus(t, db, events.Options{Endpoints: []events.Endpoint{
				{Name: "a", URL: rcv.srv.URL, Secrets: []string{events.GenerateSecret()}},
				{Name: "b", URL: rcv.srv.URL, Secrets: []string{events.GenerateSecret()}}}})
			base := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
			for i := range 25 {
				typ := events.SyncSucceeded
				if i%5 == 0 {
					typ = events.SyncFailed
				}
				// Pairs share a time: the cursor orders by time, then ID.
				require.NoError(t, b.Emit(t.Context(), events.Event{ID: fmt.Sprintf("msg_%02d", i), Type: typ,
					Time: base.Add(time.Duration(i/2) * time.Minute), Data: events.Data{Customer: []string{"contoso", "fabrikam"}[i%2]}}))
			}
			evIDs := func(q events.Query) []string {
				t.Helper()
				var out []string
				for {
					p, err := b.ListEvents(t.Context(), q)
					require.NoError(t, err)
					for _, e := range p.Events {
						out = append(out, e.ID)
					}
					if p.Next == "" {
						return out
					}
					q.After = p.Next
				}
			}
			all := evIDs(events.Query{Limit: 4})
			require.Len(t, all, 25)
			assert.Equal(t, "msg_24", all[0])
			assert.Equal(t, []string{"msg_23", "msg_22"}, all[1:3], "same time: ID descending")
			assert.Equal(t, []string{"msg_20", "msg_10", "msg_00"}, evIDs(events.Query{Customer: "contoso", Type: events.SyncFailed, Limit: 1}))
			assert.Equal(t, []string{"msg_05", "msg_04"}, evIDs(events.Query{From: base.Add(2 * time.Minute), To: base.Add(3 * time.Minute)}))

			var ds []string
			q := events.Query{Customer: "fabrikam", Limit: 3}
			for {
				p, err := b.ListDeliveries(t.Context(), q)
				require.NoError(t, err)
				for _, d := range p.Deliveries {
					ds = append(ds, d.EventID+"/"+d.Endpoint)
					assert.Equal(t, "fabrikam", d.Customer)
					assert.False(t, d.CreatedAt.IsZero())
				}
				if p.Next == "" {
					break
				}
				q.After = p.Next
			}
			assert.Len(t, ds, 24, "12 events to 2 endpoints")
			assert.Len(t, uniq(ds), 24)
			pending, err := b.ListDeliveries(t.Context(), events.Query{State: events.DeliveryPending, Type: events.SyncFailed, Limit: 500})
			require.NoError(t, err)
			assert.Len(t, pending.Deliveries, 10, "5 failed syncs to 2 endpoints, none sent (no job runner)")

			first, err := b.ListEvents(t.Context(), events.Query{Customer: "contoso", Limit: 2})
			require.NoError(t, err)
			firstD, err := b.ListDeliveries(t.Context(), events.Query{Customer: "contoso", Limit: 2})
			require.NoError(t, err)
			for name, tc := range map[string]struct {
				q          events.Query
				deliveries bool
			}{
				"other customer":              {events.Query{Customer: "fabrikam", After: first.Next}, false},
				"other type":                  {events.Query{Customer: "contoso", Type: events.SyncFailed, After: first.Next}, false},
				"events cursor on deliveries": {events.Query{Customer: "contoso", After: first.Next}, true},
				"deliveries cursor on events": {events.Query{Customer: "contoso", After: firstD.Next}, false},
				"edited":                      {events.Query{Customer: "contoso", After: "x" + first.Next[1:]}, false},
				"garbage":                     {events.Query{Customer: "contoso", After: "not a cursor"}, false},
			} {
				var err error
				if tc.deliveries {
					_, err = b.ListDeliveries(t.Context(), tc.q)
				} else {
					_, err = b.ListEvents(t.Context(), tc.q)
				}
				assert.ErrorIs(t, err, events.ErrBadCursor, name)
			}
		})
	}
}

func uniq(s []string) map[string]bool {
	m := map[string]bool{}
	for _, v := range s {
		m[v] = true
	}
	return m
}

// TestReplayFailedDelivery: a delivery that failed every attempt is sent
// again on Replay (same webhook-id and body, a fresh set of attempts) and
// ends delivered; a delivered one, another customer's and an unknown
// one are refused.
func TestReplayFailedDelivery(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			secret := events.GenerateSecret()
			rcv := newReceiver(t, secret)
			rcv.fail = 2
			b := newBus(t, db, events.Options{MaxAttempts: 2, Endpoints: []events.Endpoint{{URL: rcv.srv.URL, Secrets: []string{secret}}}})
			_, err := b.Replay(t.Context(), "contoso", "msg_none", "default")
			assert.ErrorIs(t, err, events.ErrNoDelivery)
			withRiver(t, db, b)
			require.NoError(t, b.Emit(t.Context(), events.Event{Type: events.SyncFailed, Data: events.Data{Customer: "contoso", Error: "boom"}}))
			failed := waitDelivery(t, b, "contoso", events.DeliveryFailed)
			assert.Equal(t, 2, failed.Attempts)
			assert.Equal(t, 500, failed.LastStatus)

			_, err = b.Replay(t.Context(), "fabrikam", failed.EventID, failed.Endpoint)
			assert.ErrorIs(t, err, events.ErrNoDelivery, "another customer's delivery")
			d, err := b.Replay(t.Context(), "contoso", failed.EventID, failed.Endpoint)
			require.NoError(t, err)
			assert.Equal(t, 1, d.Replays)
			delivered := waitDelivery(t, b, "contoso", events.DeliveryDelivered)
			assert.Equal(t, 1, delivered.Attempts, "the replay's attempts count afresh")
			got := rcv.wait(3)
			require.Len(t, got, 3)
			assert.Equal(t, got[0].header.Get("webhook-id"), got[2].header.Get("webhook-id"))
			assert.Equal(t, got[0].body, got[2].body)
			// Signed as before; a receiver that keeps the IDs it saw (as
			// this verifier does) knows it is the same message.
			assert.NoError(t, got[0].err)
			assert.EqualError(t, got[2].err, "whverify: replayed webhook-id")

			_, err = b.Replay(t.Context(), "contoso", failed.EventID, failed.Endpoint)
			assert.ErrorIs(t, err, events.ErrNotFailed, "a delivered delivery")
		})
	}
}
