package fleet

import (
	"testing"

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
