package sqlitestore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// childEnv tells a re-executed test binary to act as one of several
// processes sharing a database file; its value is the file's path.
const childEnv = "TENANTGATE_SQLITESTORE_CHILD_DB"

const (
	children      = 3
	childRounds   = 15
	counterName   = "counter"
	leasedName    = "leased"
	childLeaseTTL = time.Minute
)

// TestMultiProcess starts several processes (this test binary re-executed)
// that open one fresh database file at the same moment, then each
// increment a shared counter with optimistic read-modify-write retries,
// and update another record inside a lease without any retry: with the
// lease excluding the other processes, that update never conflicts.
func TestMultiProcess(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts processes")
	}
	exe, err := os.Executable()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "shared.db")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmds := make([]*exec.Cmd, children)
	outs := make([]*strings.Builder, children)
	for i := range cmds {
		cmds[i] = exec.CommandContext(ctx, exe, "-test.run=^TestChildProcess$", "-test.count=1")
		cmds[i].Env = append(os.Environ(), childEnv+"="+path, fmt.Sprintf("TENANTGATE_CHILD_ID=%d", i))
		outs[i] = new(strings.Builder)
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	for _, c := range cmds {
		require.NoError(t, c.Start())
	}
	for i, c := range cmds {
		assert.NoError(t, c.Wait(), "process %d:\n%s", i, outs[i])
	}
	if t.Failed() {
		return
	}

	s, err := Open(t.Context(), path, Options{})
	require.NoError(t, err)
	defer s.Close()
	for _, name := range []string{counterName, leasedName} {
		rec, err := s.Get(t.Context(), key(name))
		require.NoError(t, err)
		assert.Equal(t, int64(children*childRounds+1), rec.Version, "%s: version (one per update)", name)
		for i := range children {
			for r := range childRounds {
				assert.Equal(t, 1, strings.Count(string(rec.Data), fmt.Sprintf("<%d.%d>", i, r)), "%s: times update %d.%d appears", name, i, r)
			}
		}
	}
	var migrations int
	assert.NoError(t, s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM tenantgate_migrations WHERE line = 'tokenstore'`).Scan(&migrations), "migration rows")
	assert.Equal(t, SchemaVersion, migrations, "migration rows")
}

// TestChildProcess is one process of TestMultiProcess; it does nothing in
// a normal test run.
func TestChildProcess(t *testing.T) {
	path := os.Getenv(childEnv)
	if path == "" {
		t.Skip("runs only as a child of TestMultiProcess")
	}
	id := os.Getenv("TENANTGATE_CHILD_ID")
	ctx := t.Context()
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err, "Open")
	defer s.Close()
	for _, name := range []string{counterName, leasedName} {
		if _, err := s.Put(ctx, tokenstore.Record{Key: key(name)}, 0); err != nil {
			require.ErrorIs(t, err, tokenstore.ErrConflict, "create %s", name)
		}
	}
	for r := range childRounds {
		mark := fmt.Sprintf("<%s.%d>", id, r)
		// Optimistic: retry on conflict.
		for {
			cur, err := s.Get(ctx, key(counterName))
			require.NoError(t, err)
			_, err = s.Put(ctx, tokenstore.Record{Key: key(counterName), Data: append(cur.Data, mark...)}, cur.Version)
			if errors.Is(err, tokenstore.ErrConflict) {
				continue
			}
			require.NoError(t, err)
			break
		}
		// Under the lease: no retry, a conflict means the lease failed.
		lease, err := s.Lock(ctx, "multiprocess", childLeaseTTL)
		require.NoError(t, err)
		cur, err := s.Get(ctx, key(leasedName))
		require.NoError(t, err)
		time.Sleep(time.Millisecond) // widen the window another process would need
		_, err = s.Put(ctx, tokenstore.Record{Key: key(leasedName), Data: append(cur.Data, mark...)}, cur.Version)
		require.NoError(t, err, "update under the lease")
		require.NoError(t, lease.Release(ctx))
	}
}
