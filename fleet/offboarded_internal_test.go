package fleet

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// TestOffboardedOnlyWhenAllIsGone: the last offboarding step writes the
// tombstone and then deletes the registry entry and the draft report;
// Offboarded says true only once both are gone, so a caller that waits
// for it (a scan for what is left) never sees them.
func TestOffboardedOnlyWhenAllIsGone(t *testing.T) {
	t.Parallel()
	f := memFleet(t)
	store := f.cfg.Store
	ctx := t.Context()
	put := func(key tokenstore.Key) {
		_, err := store.Put(ctx, tokenstore.Record{Key: key, Data: []byte(`{}`)}, 0)
		require.NoError(t, err)
	}
	offboarded := func() bool {
		ok, err := f.Offboarded(ctx, "c1")
		require.NoError(t, err)
		return ok
	}

	put(registryKey("c1"))
	put(reportKey("c1"))
	assert.False(t, offboarded(), "enrolled, offboarding under way")
	put(tombstoneKey("c1"))
	assert.False(t, offboarded(), "tombstone written, registry entry and draft report not yet deleted")
	require.NoError(t, deleteKey(ctx, store, registryKey("c1")))
	assert.False(t, offboarded(), "the draft report not yet deleted")
	require.NoError(t, deleteKey(ctx, store, reportKey("c1")))
	assert.True(t, offboarded(), "every step done")
	put(registryKey("c1"))
	assert.False(t, offboarded(), "enrolled again (before its tombstone is deleted)")
}

// lateTombstone hides the tombstone from the first Get of it, as a store
// read just before offboarding's last step wrote it.
type lateTombstone struct {
	tokenstore.Store
	hidden bool
}

func (s *lateTombstone) Get(ctx context.Context, k tokenstore.Key) (tokenstore.Record, error) {
	if k.Kind == kindOffboarded && !s.hidden {
		s.hidden = true
		return tokenstore.Record{}, tokenstore.ErrNotFound
	}
	return s.Store.Get(ctx, k)
}

// TestOffboardRacingTheLastStep: Offboard called again while the job's
// last step runs (it read no tombstone yet, then no registry entry) still
// answers the finished job, not "not enrolled".
func TestOffboardRacingTheLastStep(t *testing.T) {
	t.Parallel()
	f := memFleet(t)
	ctx := t.Context()
	data, err := json.Marshal(tombstone{At: time.Now(), Job: 42})
	require.NoError(t, err)
	_, err = f.cfg.Store.Put(ctx, tokenstore.Record{Key: tombstoneKey("c1"), Data: data}, 0)
	require.NoError(t, err)
	f.cfg.Store = &lateTombstone{Store: f.cfg.Store}
	j, err := f.Offboard(ctx, "c1")
	require.NoError(t, err)
	assert.Equal(t, int64(42), j.ID, "the job that offboarded c1")
	assert.Equal(t, KindOffboard, j.Kind)
}
