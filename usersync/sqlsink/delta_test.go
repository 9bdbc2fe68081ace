package sqlsink_test

import (
	"reflect"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/usersync"
)

func TestDeltaPass(t *testing.T) {
	for name, s := range sinks(t) {
		t.Run(name, func(t *testing.T) {
			ctx := t.Context()
			c := customer("delta")
			if cp, err := s.Checkpoint(ctx, c); err != nil || cp != (usersync.Checkpoint{}) {
				t.Fatalf("checkpoint before any pass: %+v, %v", cp, err)
			}
			// A full pass stores its checkpoint.
			p, err := s.Begin(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			put(t, p, users(0, 10, "Engineer"))
			full := usersync.Checkpoint{DeltaLink: "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=a", Query: "q1",
				FullAt: time.Unix(1700000000, 5), FullRequests: 3}
			p.(usersync.CheckpointPass).SetCheckpoint(full)
			if _, err := p.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if cp, err := s.Checkpoint(ctx, c); err != nil || !cp.FullAt.Equal(full.FullAt) || cp.DeltaLink != full.DeltaLink ||
				cp.Query != "q1" || cp.FullRequests != 3 {
				t.Fatalf("checkpoint after a full pass: %+v, %v", cp, err)
			}

			// A delta pass changes one user, adds one, removes two (one of
			// them not stored) and keeps the others.
			dp, err := s.BeginDelta(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if got := put(t, dp, []usersync.User{user(3, "Promoted"), user(10, "Engineer"), user(4, "Engineer")}); got != (usersync.Counts{Added: 1, Changed: 1, Unchanged: 1}) {
				t.Errorf("delta put: %+v", got)
			}
			if got, err := dp.Remove(ctx, []string{user(5, "").ID, "id-missing"}); err != nil || got.Removed != 1 {
				t.Errorf("remove: %+v, %v", got, err)
			}
			next := full
			next.DeltaLink, next.Rounds, next.DeltaRequests = "https://graph.microsoft.com/v1.0/users/delta?$deltatoken=b", 1, 1
			dp.SetCheckpoint(next)
			got, err := dp.Commit(ctx)
			if err != nil || got != (usersync.Counts{Added: 1, Changed: 1, Unchanged: 1, Removed: 1}) {
				t.Fatalf("delta commit: %+v, %v", got, err)
			}
			want := users(0, 11, "Engineer")
			want[3].JobTitle = "Promoted"
			want = append(want[:5], want[6:]...)
			if stored := all(t, s, c); !reflect.DeepEqual(stored, want) {
				t.Errorf("after the delta pass: %d users, want %d", len(stored), len(want))
			}
			if cp, err := s.Checkpoint(ctx, c); err != nil || cp.DeltaLink != next.DeltaLink || cp.Rounds != 1 || cp.DeltaRequests != 1 {
				t.Fatalf("checkpoint after a delta pass: %+v, %v", cp, err)
			}

			// An aborted delta pass changes nothing.
			dp, err = s.BeginDelta(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := dp.Remove(ctx, []string{user(0, "").ID}); err != nil {
				t.Fatal(err)
			}
			dp.SetCheckpoint(usersync.Checkpoint{DeltaLink: "moved"})
			_ = dp.Abort(ctx)
			if stored := all(t, s, c); !reflect.DeepEqual(stored, want) {
				t.Errorf("an aborted delta pass removed users: %d stored, want %d", len(stored), len(want))
			}
			if cp, _ := s.Checkpoint(ctx, c); cp.DeltaLink != next.DeltaLink {
				t.Errorf("aborted delta pass moved the checkpoint: %+v", cp)
			}
			// Removed, then put again in the same pass: kept.
			dp, _ = s.BeginDelta(ctx, c)
			if _, err := dp.Remove(ctx, []string{user(1, "").ID}); err != nil {
				t.Fatal(err)
			}
			put(t, dp, []usersync.User{user(1, "Engineer")})
			if _, err := dp.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if stored := all(t, s, c); !reflect.DeepEqual(stored, want) {
				t.Errorf("removed then put: %d stored, want %d", len(stored), len(want))
			}

			// A full pass without a checkpoint clears it; Purge too.
			p, _ = s.Begin(ctx, c)
			put(t, p, users(0, 2, "Engineer"))
			if _, err := p.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if cp, _ := s.Checkpoint(ctx, c); cp != (usersync.Checkpoint{}) {
				t.Errorf("full pass without a checkpoint kept %+v", cp)
			}
			p, _ = s.Begin(ctx, c)
			p.(usersync.CheckpointPass).SetCheckpoint(full)
			if _, err := p.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if err := s.Purge(ctx, c); err != nil {
				t.Fatal(err)
			}
			if cp, _ := s.Checkpoint(ctx, c); cp != (usersync.Checkpoint{}) {
				t.Errorf("Purge kept the checkpoint %+v", cp)
			}
		})
	}
}
