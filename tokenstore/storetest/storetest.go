package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/tenantgate/tenantgate/internal/fence/fencetest"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// Run runs the conformance suite against the backend that newBackend
// returns. Run calls newBackend once per test; it may return a fresh
// backend each time or the same shared one. newBackend is responsible for
// closing what it opens (for example with t.Cleanup).
func Run(t *testing.T, newBackend func(t *testing.T) tokenstore.Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, tokenstore.Backend)
	}{
		{"CRUD", testCRUD},
		{"CreateOnlyConflict", testCreateOnlyConflict},
		{"StaleVersionConflict", testStaleVersion},
		{"Delete", testDelete},
		{"DataRoundTrip", testDataRoundTrip},
		{"Timestamps", testTimestamps},
		{"RaceSameVersion", testRaceSameVersion},
		{"RaceReadModifyWrite", testRaceReadModifyWrite},
		{"ListPaging", testListPaging},
		{"ListIsolation", testListIsolation},
		{"Scan", testScan},
		{"ContextCanceled", testContextCanceled},
		{"LockMutualExclusion", testLockMutualExclusion},
		{"LockIndependentNames", testLockIndependentNames},
		{"LockLapse", testLockLapse},
		{"LockCancelWhileWaiting", testLockCancel},
		{"SealedRoundTrip", testSealedRoundTrip},
		{"SealedBlobSwap", testSealedBlobSwap},
		{"SealedTampered", testSealedTampered},
		{"KeyRotation", testRotation},
		{"Fence", testFence},
		{"FenceRace", testFenceRace},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			require.NotNil(t, b, "newBackend returned nil")
			tc.fn(t, b)
		})
	}
}

// uniq returns an identifier no other test (in this or another process
// sharing the backend) uses: the test's name plus 64 random bits.
func uniq(t *testing.T, what string) string {
	var b [8]byte
	_, err := randRead(b[:])
	require.NoError(t, err)
	return fmt.Sprintf("storetest/%s/%s/%s", t.Name(), what, hex.EncodeToString(b[:]))
}

var randRead = rand.Read

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func mustPut(t *testing.T, s tokenstore.Store, rec tokenstore.Record, expect int64) tokenstore.Record {
	t.Helper()
	got, err := s.Put(ctxFor(t), rec, expect)
	require.NoError(t, err, "Put(%s, expect %d)", rec.Key, expect)
	return got
}

func mustGet(t *testing.T, s tokenstore.Store, key tokenstore.Key) tokenstore.Record {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	require.NoError(t, err, "Get(%s)", key)
	return got
}

func wantNotFound(t *testing.T, err error, op string) {
	t.Helper()
	require.ErrorIs(t, err, tokenstore.ErrNotFound, op)
}

func wantConflict(t *testing.T, err error, op string, key tokenstore.Key, expected, actual int64) {
	t.Helper()
	var ce *tokenstore.ConflictError
	require.ErrorAs(t, err, &ce, "%s: want *tokenstore.ConflictError", op)
	assert.ErrorIs(t, err, tokenstore.ErrConflict, "%s", op)
	assert.Equal(t, key, ce.Key, "%s: conflict Key", op)
	assert.Equal(t, expected, ce.Expected, "%s: conflict Expected (key %s)", op, key)
	assert.Equal(t, actual, ce.Actual, "%s: conflict Actual (key %s)", op, key)
}

// timeTolerance absorbs the storage precision of timestamps (PostgreSQL
// keeps microseconds).
const timeTolerance = time.Millisecond

// sameRecord compares everything but timestamps exactly, timestamps within
// timeTolerance.
func sameRecord(t *testing.T, op string, got, want tokenstore.Record) {
	t.Helper()
	assert.Equal(t, want.Key, got.Key, "%s: key", op)
	assert.Equal(t, want.Version, got.Version, "%s: version of %s", op, want.Key)
	assert.Equal(t, want.Sealed, got.Sealed, "%s: sealed flag of %s", op, want.Key)
	assert.Equal(t, string(want.Data), string(got.Data), "%s: data of %s", op, want.Key)
	assert.WithinDuration(t, want.CreatedAt, got.CreatedAt, timeTolerance, "%s: CreatedAt of %s", op, want.Key)
	assert.WithinDuration(t, want.UpdatedAt, got.UpdatedAt, timeTolerance, "%s: UpdatedAt of %s", op, want.Key)
}

func testCRUD(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "name"}

	_, err := b.Get(ctx, key)
	wantNotFound(t, err, "Get before create")

	created := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("v1")}, 0)
	require.Equal(t, int64(1), created.Version, "create returned version")
	require.Equal(t, key, created.Key, "create returned key")
	require.Equal(t, "v1", string(created.Data), "create returned data")
	sameRecord(t, "Get after create", mustGet(t, b, key), created)

	replaced := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("v2")}, 1)
	require.Equal(t, int64(2), replaced.Version, "replace returned version")
	require.Equal(t, "v2", string(replaced.Data), "replace returned data")
	assert.WithinDuration(t, created.CreatedAt, replaced.CreatedAt, timeTolerance, "replace changed CreatedAt")
	sameRecord(t, "Get after replace", mustGet(t, b, key), replaced)

	require.NoError(t, b.Delete(ctx, key, 2), "Delete(v2)")
	_, err = b.Get(ctx, key)
	wantNotFound(t, err, "Get after delete")

	// A deleted record can be created again, starting over at version 1.
	again := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("again")}, 0)
	assert.Equal(t, int64(1), again.Version, "re-create after delete: version")
}

func testCreateOnlyConflict(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "name"}
	first := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("first")}, 0)

	_, err := b.Put(ctx, tokenstore.Record{Key: key, Data: []byte("second")}, 0)
	wantConflict(t, err, "second create", key, 0, 1)
	sameRecord(t, "Get after refused create", mustGet(t, b, key), first)
}

func testStaleVersion(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "name"}
	mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("v1")}, 0)
	v2 := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("v2")}, 1)

	_, err := b.Put(ctx, tokenstore.Record{Key: key, Data: []byte("stale")}, 1)
	wantConflict(t, err, "stale replace", key, 1, 2)
	_, err = b.Put(ctx, tokenstore.Record{Key: key, Data: []byte("future")}, 7)
	wantConflict(t, err, "replace of a future version", key, 7, 2)
	sameRecord(t, "Get after refused replaces", mustGet(t, b, key), v2)

	missing := tokenstore.Key{Customer: key.Customer, Kind: "kind", Name: "missing"}
	_, err = b.Put(ctx, tokenstore.Record{Key: missing, Data: []byte("x")}, 3)
	wantConflict(t, err, "replace of a missing record", missing, 3, 0)
	_, err = b.Get(ctx, missing)
	wantNotFound(t, err, "Get after refused replace of a missing record")
}

func testDelete(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	cust := uniq(t, "c")
	key := tokenstore.Key{Customer: cust, Kind: "kind", Name: "name"}
	mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("v1")}, 0)
	v2 := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("v2")}, 1)

	err := b.Delete(ctx, key, 1)
	wantConflict(t, err, "Delete with a stale version", key, 1, 2)
	sameRecord(t, "Get after refused delete", mustGet(t, b, key), v2)

	require.NoError(t, b.Delete(ctx, key, tokenstore.AnyVersion), "Delete(AnyVersion)")
	_, err = b.Get(ctx, key)
	wantNotFound(t, err, "Get after Delete(AnyVersion)")

	wantNotFound(t, b.Delete(ctx, key, 2), "Delete of a missing record with a version")
	wantNotFound(t, b.Delete(ctx, key, tokenstore.AnyVersion), "Delete of a missing record with AnyVersion")

	// Deleting one record leaves its neighbours alone.
	a := mustPut(t, b, tokenstore.Record{Key: tokenstore.Key{Customer: cust, Kind: "kind", Name: "a"}, Data: []byte("a")}, 0)
	bb := mustPut(t, b, tokenstore.Record{Key: tokenstore.Key{Customer: cust, Kind: "kind", Name: "b"}, Data: []byte("b")}, 0)
	require.NoError(t, b.Delete(ctx, a.Key, 1), "Delete(a, v1)")
	sameRecord(t, "neighbour after delete", mustGet(t, b, bb.Key), bb)
}

func testDataRoundTrip(t *testing.T, b tokenstore.Backend) {
	cust := uniq(t, "c")
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 64<<10/16) // 64 KiB
	for _, tc := range []struct {
		name   string
		data   []byte
		sealed bool
	}{
		{"empty", nil, false},
		{"every-byte", all, false},
		{"sealed-flag", []byte("opaque blob"), true},
		{"64KiB", big, false},
		{"utf8 ünïcode ✓", []byte("ünïcode ✓"), false},
	} {
		key := tokenstore.Key{Customer: cust, Kind: "kind", Name: tc.name}
		put := mustPut(t, b, tokenstore.Record{Key: key, Data: tc.data, Sealed: tc.sealed}, 0)
		got := mustGet(t, b, key)
		assert.True(t, bytes.Equal(got.Data, tc.data), "%s: got %d bytes, want %d bytes", tc.name, len(got.Data), len(tc.data))
		assert.Equal(t, tc.sealed, got.Sealed, "%s: sealed", tc.name)
		sameRecord(t, tc.name, got, put)
	}

	// The backend must not keep (or hand out) the caller's slice.
	key := tokenstore.Key{Customer: cust, Kind: "kind", Name: "aliasing"}
	data := []byte("original")
	mustPut(t, b, tokenstore.Record{Key: key, Data: data}, 0)
	copy(data, "MUTATED!")
	got := mustGet(t, b, key)
	assert.Equal(t, "original", string(got.Data), "record changed with the caller's slice after Put")
	copy(got.Data, "MUTATED!")
	again := mustGet(t, b, key)
	assert.Equal(t, "original", string(again.Data), "record changed with a slice returned by Get")
}

func testTimestamps(t *testing.T, b tokenstore.Backend) {
	// Backends may take time from a database server on this or another
	// host: allow some clock skew, but not a wrong zone or a zero time.
	const skew = 5 * time.Second
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "name"}
	before := time.Now()
	created := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("x"), CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)}, 0)
	after := time.Now()
	assert.False(t, created.CreatedAt.Before(before.Add(-skew)), "CreatedAt %v not within [%v, %v] (caller-supplied timestamps must be ignored)", created.CreatedAt, before, after)
	assert.False(t, created.CreatedAt.After(after.Add(skew)), "CreatedAt %v not within [%v, %v] (caller-supplied timestamps must be ignored)", created.CreatedAt, before, after)
	assert.WithinDuration(t, created.CreatedAt, created.UpdatedAt, timeTolerance, "new record: UpdatedAt, want CreatedAt")
	prev := created
	for v := int64(1); v <= 3; v++ {
		next := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("x"), CreatedAt: time.Unix(1, 0)}, v)
		assert.WithinDuration(t, created.CreatedAt, next.CreatedAt, timeTolerance, "v%d: CreatedAt", next.Version)
		assert.False(t, next.UpdatedAt.Before(prev.UpdatedAt), "v%d: UpdatedAt %v went back from %v", next.Version, next.UpdatedAt, prev.UpdatedAt)
		prev = next
	}
	got := mustGet(t, b, key)
	sameRecord(t, "Get", got, prev)
}

const racers = 50

func testRaceSameVersion(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "contended"}
	mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("base")}, 0)

	var (
		wg      sync.WaitGroup
		start   = make(chan struct{})
		errs    [racers]error
		results [racers]tokenstore.Record
	)
	for i := range racers {
		wg.Go(func() {
			<-start
			results[i], errs[i] = b.Put(ctx, tokenstore.Record{Key: key, Data: fmt.Appendf(nil, "writer %d", i)}, 1)
		})
	}
	close(start)
	wg.Wait()

	winner := -1
	for i, err := range errs {
		switch {
		case err == nil:
			require.Negative(t, winner, "writers %d and %d both replaced version 1", winner, i)
			winner = i
		default:
			wantConflict(t, err, fmt.Sprintf("writer %d", i), key, 1, 2)
		}
	}
	require.GreaterOrEqual(t, winner, 0, "no writer replaced version 1")
	got := mustGet(t, b, key)
	want := fmt.Sprintf("writer %d", winner)
	assert.Equal(t, int64(2), got.Version, "after the race: version")
	assert.Equal(t, want, string(got.Data), "after the race: data")
	assert.Equal(t, int64(2), results[winner].Version, "after the race: version Put returned to %s", want)
}

func testRaceReadModifyWrite(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "counter"}
	mustPut(t, b, tokenstore.Record{Key: key}, 0)

	var wg sync.WaitGroup
	errs := make(chan error, racers)
	for i := range racers {
		wg.Go(func() {
			for attempt := 0; ; attempt++ {
				if attempt == 10000 {
					errs <- fmt.Errorf("writer %d: still conflicting after %d attempts", i, attempt)
					return
				}
				cur, err := b.Get(ctx, key)
				if err != nil {
					errs <- err
					return
				}
				next := append(bytes.Clone(cur.Data), fmt.Appendf(nil, "<%d>", i)...)
				_, err = b.Put(ctx, tokenstore.Record{Key: key, Data: next}, cur.Version)
				if errors.Is(err, tokenstore.ErrConflict) {
					continue
				}
				if err != nil {
					errs <- err
				}
				return
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	got := mustGet(t, b, key)
	assert.Equal(t, int64(racers+1), got.Version, "version after %d successful updates", racers)
	for i := range racers {
		assert.Equal(t, 1, strings.Count(string(got.Data), fmt.Sprintf("<%d>", i)), "times writer %d's update appears: %q", i, got.Data)
	}
}

// trickyNames sort differently under byte order and under locale
// collations, so a backend that orders by a linguistic collation fails.
var trickyNames = []string{"b", "B", "a", "A", "_x", "a b", "ab", "é", "z", "Z", "10", "9", "a-1", "a.1"}

func putNames(t *testing.T, b tokenstore.Backend, customer, kind string, names []string) {
	t.Helper()
	for _, n := range names {
		mustPut(t, b, tokenstore.Record{Key: tokenstore.Key{Customer: customer, Kind: kind, Name: n}, Data: []byte(customer + "|" + kind + "|" + n)}, 0)
	}
}

func names(recs []tokenstore.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Name
	}
	return out
}

func testListPaging(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	cust := uniq(t, "c")
	putNames(t, b, cust, "kind", trickyNames)
	want := slices.Sorted(slices.Values(trickyNames)) // byte order

	page, err := b.List(ctx, cust, "kind", tokenstore.ListOptions{})
	require.NoError(t, err, "List")
	require.Equal(t, want, names(page.Records), "List order: want byte order")
	assert.Empty(t, page.Next, "single page: Next")
	for _, r := range page.Records {
		assert.Equal(t, int64(1), r.Version, "listed record %s: version", r.Key)
		assert.Equal(t, cust+"|kind|"+r.Name, string(r.Data), "listed record %s: data", r.Key)
		assert.False(t, r.CreatedAt.IsZero(), "listed record %s: zero CreatedAt", r.Key)
	}

	for _, limit := range []int{1, 2, 3, 5, len(want) - 1, len(want), len(want) + 1} {
		var got []string
		opts := tokenstore.ListOptions{Limit: limit}
		for pages := 0; ; pages++ {
			require.LessOrEqual(t, pages, len(want)+1, "limit %d: paging does not end", limit)
			p, err := b.List(ctx, cust, "kind", opts)
			require.NoError(t, err, "limit %d: List", limit)
			require.LessOrEqual(t, len(p.Records), limit, "limit %d: records in a page", limit)
			got = append(got, names(p.Records)...)
			if p.Next == "" {
				break
			}
			require.NotEmpty(t, p.Records, "limit %d: empty page with Next %q", limit, p.Next)
			require.Equal(t, p.Records[len(p.Records)-1].Name, p.Next, "limit %d: Next is not the page's last name (page %q)", limit, names(p.Records))
			opts.After = p.Next
		}
		assert.Equal(t, want, got, "limit %d: names from the pages", limit)
	}

	// After a name that is not stored continues with the next one in order.
	p, err := b.List(ctx, cust, "kind", tokenstore.ListOptions{After: "aa", Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, []string{"ab", "b"}, names(p.Records), "List after \"aa\"")
}

func testListIsolation(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	base := uniq(t, "c")
	custA, custB := base+"/A", base+"/B"
	// custA's prefix is a prefix of custAB: a backend that matches by
	// prefix (LIKE 'x%') would mix them up.
	custAB := custA + "B"
	putNames(t, b, custA, "kind", []string{"1", "2", "3"})
	putNames(t, b, custA, "kind2", []string{"4", "5"})
	putNames(t, b, custA, "kin", []string{"6"})
	putNames(t, b, custB, "kind", []string{"7"})
	putNames(t, b, custAB, "kind", []string{"8"})

	for _, tc := range []struct {
		customer, kind string
		want           []string
	}{
		{custA, "kind", []string{"1", "2", "3"}},
		{custA, "kind2", []string{"4", "5"}},
		{custA, "kin", []string{"6"}},
		{custB, "kind", []string{"7"}},
		{custAB, "kind", []string{"8"}},
		{custB, "kind2", nil},
		{base + "/nobody", "kind", nil},
	} {
		p, err := b.List(ctx, tc.customer, tc.kind, tokenstore.ListOptions{})
		require.NoError(t, err, "List(%s, %s)", tc.customer, tc.kind)
		if got := names(p.Records); len(got) != 0 || len(tc.want) != 0 { // nil and empty are the same here
			assert.Equal(t, tc.want, got, "List(%s, %s)", tc.customer, tc.kind)
		}
		for _, r := range p.Records {
			assert.Equal(t, tc.customer, r.Customer, "List(%s, %s) returned %s", tc.customer, tc.kind, r.Key)
			assert.Equal(t, tc.kind, r.Kind, "List(%s, %s) returned %s", tc.customer, tc.kind, r.Key)
		}
	}
	// Same name under different customers and kinds: separate records.
	for _, k := range []tokenstore.Key{{Customer: custA, Kind: "kind", Name: "1"}, {Customer: custB, Kind: "kind", Name: "1"}, {Customer: custA, Kind: "kind2", Name: "1"}} {
		_, err := b.Put(ctx, tokenstore.Record{Key: k, Data: []byte(k.String())}, 0)
		if k.Customer == custA && k.Kind == "kind" {
			wantConflict(t, err, "create of an existing record", k, 0, 1)
			continue
		}
		require.NoError(t, err, "create %s", k)
	}
	got := mustGet(t, b, tokenstore.Key{Customer: custA, Kind: "kind", Name: "1"})
	assert.Equal(t, custA+"|kind|1", string(got.Data), "record changed by writes to other customers or kinds")
}

func testScan(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	base := uniq(t, "c")
	var want []tokenstore.Key
	for _, c := range []string{base + "/b", base + "/a", base + "/a0"} {
		for _, k := range []string{"k2", "k1"} {
			for _, n := range []string{"y", "x", "X"} {
				key := tokenstore.Key{Customer: c, Kind: k, Name: n}
				mustPut(t, b, tokenstore.Record{Key: key, Data: []byte(key.String()), Sealed: n == "X"}, 0)
				want = append(want, key)
			}
		}
	}
	slices.SortFunc(want, tokenstore.Key.Compare)

	for _, limit := range []int{1, 4, len(want), 1000} {
		// The backend may hold other tests' records: scan from just before
		// this test's keys and stop at the first key past them.
		after := tokenstore.Key{Customer: base}
		var got []tokenstore.Key
	scan:
		for round := 0; ; round++ {
			require.LessOrEqual(t, round, len(want)+1, "limit %d: scan does not end", limit)
			recs, err := b.Scan(ctx, after, limit)
			require.NoError(t, err, "Scan(after %s, %d)", after, limit)
			require.LessOrEqual(t, len(recs), limit, "Scan(limit %d): records returned", limit)
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				require.Positive(t, r.Key.Compare(after), "Scan(after %s) returned %s, not after it", after, r.Key)
				after = r.Key
				if !strings.HasPrefix(r.Customer, base+"/") {
					break scan
				}
				assert.Equal(t, r.Key.String(), string(r.Data), "scanned %s: data", r.Key)
				assert.Equal(t, int64(1), r.Version, "scanned %s: version", r.Key)
				assert.Equal(t, r.Name == "X", r.Sealed, "scanned %s: sealed", r.Key)
				got = append(got, r.Key)
			}
		}
		assert.Equal(t, want, got, "limit %d: keys the scan gave", limit)
	}
}

func testContextCanceled(t *testing.T, b tokenstore.Backend) {
	live := ctxFor(t)
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "name"}
	existing := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("keep")}, 0)
	fresh := tokenstore.Key{Customer: key.Customer, Kind: "kind", Name: "fresh"}

	ctx, cancel := context.WithCancel(live)
	cancel()
	check := func(op string, err error) {
		t.Helper()
		assert.ErrorIs(t, err, context.Canceled, "%s with a canceled context", op)
	}
	_, err := b.Get(ctx, key)
	check("Get", err)
	_, err = b.Put(ctx, tokenstore.Record{Key: fresh, Data: []byte("x")}, 0)
	check("Put (create)", err)
	_, err = b.Put(ctx, tokenstore.Record{Key: key, Data: []byte("changed")}, 1)
	check("Put (replace)", err)
	check("Delete", b.Delete(ctx, key, tokenstore.AnyVersion))
	_, err = b.List(ctx, key.Customer, key.Kind, tokenstore.ListOptions{})
	check("List", err)
	_, err = b.Scan(ctx, tokenstore.Key{}, 10)
	check("Scan", err)
	_, err = b.Lock(ctx, uniq(t, "lease"), time.Minute)
	check("Lock", err)

	// Nothing happened.
	sameRecord(t, "record after canceled writes", mustGet(t, b, key), existing)
	_, err = b.Get(live, fresh)
	wantNotFound(t, err, "Get of a record created with a canceled context")
}

func mustLock(t *testing.T, b tokenstore.Locker, name string, ttl time.Duration) tokenstore.Lease {
	t.Helper()
	l, err := b.Lock(ctxFor(t), name, ttl)
	require.NoError(t, err, "Lock(%q)", name)
	return l
}

func testLockMutualExclusion(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	name := uniq(t, "lease")
	const workers, rounds = 8, 5
	var (
		mu      sync.Mutex
		inside  int
		overlap int
		entries int
		wg      sync.WaitGroup
	)
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for range rounds {
				l, err := b.Lock(ctx, name, 30*time.Second)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				inside++
				entries++
				if inside > 1 {
					overlap++
				}
				mu.Unlock()
				time.Sleep(time.Millisecond) // give an overlapping holder a chance to show
				mu.Lock()
				inside--
				mu.Unlock()
				if err := l.Release(ctx); err != nil {
					errs <- fmt.Errorf("lease release: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Zero(t, overlap, "times two holders held %q at once", name)
	assert.Equal(t, workers*rounds, entries, "critical sections that ran")
}

func testLockIndependentNames(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	a, bName := uniq(t, "a"), uniq(t, "b")
	la := mustLock(t, b, a, time.Minute)
	// A different name is free even while a is held.
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lb, err := b.Lock(short, bName, time.Minute)
	require.NoError(t, err, "Lock(%q) while %q is held", bName, a)
	assert.NoError(t, lb.Release(ctx), "Release(%q)", bName)
	assert.NoError(t, la.Release(ctx), "Release(%q)", a)
	// A released name can be taken again at once.
	again, err := b.Lock(short, a, time.Minute)
	require.NoError(t, err, "Lock(%q) after release", a)
	assert.NoError(t, again.Release(ctx), "second Release(%q)", a)
}

func testLockLapse(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	name := uniq(t, "lease")
	const ttl = 500 * time.Millisecond
	start := time.Now()
	crashed := mustLock(t, b, name, ttl) // never released in time: its holder "crashed"

	// Before the ttl the lease is still held.
	early, cancel := context.WithTimeout(ctx, ttl/5)
	_, err := b.Lock(early, name, time.Minute)
	cancel()
	if time.Since(start) < ttl {
		require.ErrorIs(t, err, context.DeadlineExceeded, "Lock while another holder's lease is live")
	} else if err == nil {
		t.Log("machine too slow to check the lease before its ttl")
	}

	// After the ttl another holder gets it.
	next, err := b.Lock(ctx, name, time.Minute)
	require.NoError(t, err, "Lock after the previous lease lapsed")
	waited := time.Since(start)
	assert.GreaterOrEqual(t, waited, ttl, "second holder got the lease after %v, before the first one's ttl %v", waited, ttl)
	assert.ErrorIs(t, crashed.Release(ctx), tokenstore.ErrLeaseLost, "Release of a lapsed lease")
	// The late release must not have freed the new holder's lease.
	probe, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = b.Lock(probe, name, time.Minute)
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded, "Lock after a stale release: want the lease still held")
	assert.NoError(t, next.Release(ctx), "Release of the live lease")
}

func testLockCancel(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	name := uniq(t, "lease")
	held := mustLock(t, b, name, time.Minute)

	// The context is canceled once Lock has looked at it (Done or Err),
	// that is while Lock is under way, not before it began.
	waitCtx, cancel := context.WithCancel(ctx)
	observed := &observedContext{Context: waitCtx, seen: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := b.Lock(observed, name, time.Minute)
		done <- err
	}()
	select {
	case <-observed.seen:
	case err := <-done:
		require.FailNowf(t, "Lock returned while another holder's lease is live", "err = %v", err)
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Lock did not look at its context within 10 s")
	}
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled, "Lock canceled while waiting")
	case <-time.After(10 * time.Second):
		require.FailNow(t, "Lock did not return after its context was canceled")
	}
	assert.NoError(t, held.Release(ctx), "Release")
}

// fencer returns b as a tokenstore.Fencer, skipping the test when it is
// none.
func fencer(t *testing.T, b tokenstore.Backend) tokenstore.Fencer {
	f, ok := b.(tokenstore.Fencer)
	if !ok {
		t.Skipf("%T is not a tokenstore.Fencer", b)
	}
	return f
}

// fenceSubject is the fence suite's view of b: one record per i.
func fenceSubject(b tokenstore.Backend) fencetest.Subject {
	f := b.(tokenstore.Fencer)
	return fencetest.Subject{
		Write: func(ctx context.Context, c string, i int) error {
			_, err := b.Put(ctx, tokenstore.Record{Key: tokenstore.Key{Customer: c, Kind: "fence", Name: fmt.Sprint(i)}, Data: []byte("x")}, 0)
			return err
		},
		Erase:   f.Fence,
		Unfence: f.Unfence,
		Count: func(ctx context.Context, c string) (int, error) {
			n, after := 0, ""
			for {
				p, err := b.List(ctx, c, "fence", tokenstore.ListOptions{After: after})
				if err != nil {
					return n, err
				}
				n += len(p.Records)
				if p.Next == "" {
					return n, nil
				}
				after = p.Next
			}
		},
	}
}

// testFence: after Fence a customer's records are gone and every Put of
// one fails with ErrErased, until Unfence; other customers are untouched.
func testFence(t *testing.T, b tokenstore.Backend) {
	fencer(t, b)
	fencetest.Fence(t, uniq(t, "c"), fenceSubject(b))
}

// testFenceRace: Puts racing Fence never leave a record behind.
func testFenceRace(t *testing.T, b tokenstore.Backend) {
	fencer(t, b)
	fencetest.FenceRace(t, uniq(t, "c"), fenceSubject(b))
}

// observedContext closes seen the first time its Done or Err is called:
// the moment a Lock under test starts watching for cancellation.
type observedContext struct {
	context.Context
	once sync.Once
	seen chan struct{}
}

func (c *observedContext) Done() <-chan struct{} {
	c.once.Do(func() { close(c.seen) })
	return c.Context.Done()
}

func (c *observedContext) Err() error {
	c.once.Do(func() { close(c.seen) })
	return c.Context.Err()
}
