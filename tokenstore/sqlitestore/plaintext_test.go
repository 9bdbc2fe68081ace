package sqlitestore

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore/internal/plaintexttest"
)

// TestNoPlaintextOnDisk writes known secrets through a sealing store and
// scans every file SQLite keeps (database, WAL, shared memory index) for
// them, while the store is open and again after Close has checkpointed the
// WAL into the database.
func TestNoPlaintextOnDisk(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "tokens.db")
	s, err := Open(t.Context(), path, Options{})
	require.NoError(t, err)
	w := plaintexttest.WriteSecrets(t, s)

	scan := func(when string) {
		t.Helper()
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		var all []byte
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			plaintexttest.CheckSecrets(t, when+": "+e.Name(), b, w)
			all = append(all, b...)
		}
		plaintexttest.Check(t, when+": all files", all, w)
	}
	scan("open")
	require.NoError(t, s.Close())
	scan("closed")
}
