package usersync

import (
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTeamsJoin: pages come out whole, in order, each user with its
// configuration, whatever order the listing delivers them in; the newest
// page waits for the listing's end; with a filtered listing, users it did
// not name are dropped, without one they stay with no configuration.
func TestTeamsJoin(t *testing.T) {
	t.Parallel()
	page := func(from, n int) []User {
		var us []User
		for i := from; i < from+n; i++ {
			us = append(us, User{ID: fmt.Sprint(i)})
		}
		return us
	}
	for _, tt := range []struct {
		name     string
		order    func([]teamsPair) // how the listing orders the configurations
		filtered bool
	}{
		{"same order", func([]teamsPair) {}, false},
		{"reversed", func(p []teamsPair) { slices.Reverse(p) }, false},
		{"reversed, filtered", func(p []teamsPair) { slices.Reverse(p) }, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			j := newTeamsJoin()
			var pairs []teamsPair
			for i := range 30 {
				if i%3 == 0 || !tt.filtered {
					pairs = append(pairs, teamsPair{fmt.Sprint(i), &TeamsConfig{AccountType: fmt.Sprint("a", i)}})
				}
			}
			tt.order(pairs)
			var got [][]string
			emit := func(us []User) error {
				var ids []string
				for _, u := range us {
					if u.Teams == nil || u.Teams.AccountType != "a"+u.ID {
						return fmt.Errorf("user %s joined with %+v", u.ID, u.Teams)
					}
					ids = append(ids, u.ID)
				}
				got = append(got, ids)
				return nil
			}
			src := make([]User, 0, 10) // the source reuses its page
			for p := range 3 {
				src = append(src[:0], page(10*p, 10)...)
				require.NoError(t, j.push(src, emit))
				j.add(pairs[10*p*len(pairs)/30 : 10*(p+1)*len(pairs)/30])
				require.NoError(t, j.flush(emit))
			}
			require.LessOrEqual(t, len(got), 2, "pages passed on before the listing ended")
			j.end(tt.filtered)
			require.NoError(t, j.drain(emit))
			require.Len(t, got, 3, "pages passed on")
			require.Zero(t, j.pendingUsers, "users pending")
			for p, ids := range got {
				var want []string
				for i := 10 * p; i < 10*p+10; i++ {
					if i%3 == 0 || !tt.filtered {
						want = append(want, fmt.Sprint(i))
					}
				}
				assert.Equal(t, want, ids, "page %d", p)
			}
		})
	}
}
