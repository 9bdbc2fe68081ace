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
			if b == nil {
				t.Fatal("newBackend returned nil")
			}
			tc.fn(t, b)
		})
	}
}

// uniq returns an identifier no other test (in this or another process
// sharing the backend) uses: the test's name plus 64 random bits.
func uniq(t *testing.T, what string) string {
	var b [8]byte
	if _, err := randRead(b[:]); err != nil {
		t.Fatal(err)
	}
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
	if err != nil {
		t.Fatalf("Put(%s, expect %d): %v", rec.Key, expect, err)
	}
	return got
}

func mustGet(t *testing.T, s tokenstore.Store, key tokenstore.Key) tokenstore.Record {
	t.Helper()
	got, err := s.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return got
}

func wantNotFound(t *testing.T, err error, op string) {
	t.Helper()
	if !errors.Is(err, tokenstore.ErrNotFound) {
		t.Fatalf("%s: got error %v, want one matching tokenstore.ErrNotFound", op, err)
	}
}

func wantConflict(t *testing.T, err error, op string, key tokenstore.Key, expected, actual int64) {
	t.Helper()
	var ce *tokenstore.ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("%s: got error %v, want *tokenstore.ConflictError", op, err)
	}
	if !errors.Is(err, tokenstore.ErrConflict) {
		t.Errorf("%s: errors.Is(%v, ErrConflict) = false", op, err)
	}
	if ce.Key != key || ce.Expected != expected || ce.Actual != actual {
		t.Errorf("%s: conflict = {Key:%s Expected:%d Actual:%d}, want {Key:%s Expected:%d Actual:%d}",
			op, ce.Key, ce.Expected, ce.Actual, key, expected, actual)
	}
}

// timeTolerance absorbs the storage precision of timestamps (PostgreSQL
// keeps microseconds).
const timeTolerance = time.Millisecond

func sameTime(a, b time.Time) bool {
	d := a.Sub(b)
	return d <= timeTolerance && d >= -timeTolerance
}

// sameRecord compares everything but timestamps exactly, timestamps within
// timeTolerance.
func sameRecord(t *testing.T, op string, got, want tokenstore.Record) {
	t.Helper()
	if got.Key != want.Key || got.Version != want.Version || got.Sealed != want.Sealed || !bytes.Equal(got.Data, want.Data) {
		t.Errorf("%s: got {%s v%d sealed=%v data=%q}, want {%s v%d sealed=%v data=%q}",
			op, got.Key, got.Version, got.Sealed, got.Data, want.Key, want.Version, want.Sealed, want.Data)
	}
	if !sameTime(got.CreatedAt, want.CreatedAt) || !sameTime(got.UpdatedAt, want.UpdatedAt) {
		t.Errorf("%s: timestamps created=%v updated=%v, want created=%v updated=%v",
			op, got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
}

func testCRUD(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "name"}

	_, err := b.Get(ctx, key)
	wantNotFound(t, err, "Get before create")

	created := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("v1")}, 0)
	if created.Version != 1 || created.Key != key || string(created.Data) != "v1" {
		t.Fatalf("create returned {%s v%d %q}, want {%s v1 \"v1\"}", created.Key, created.Version, created.Data, key)
	}
	sameRecord(t, "Get after create", mustGet(t, b, key), created)

	replaced := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("v2")}, 1)
	if replaced.Version != 2 || string(replaced.Data) != "v2" {
		t.Fatalf("replace returned v%d %q, want v2 \"v2\"", replaced.Version, replaced.Data)
	}
	if !sameTime(replaced.CreatedAt, created.CreatedAt) {
		t.Errorf("replace changed CreatedAt from %v to %v", created.CreatedAt, replaced.CreatedAt)
	}
	sameRecord(t, "Get after replace", mustGet(t, b, key), replaced)

	if err := b.Delete(ctx, key, 2); err != nil {
		t.Fatalf("Delete(v2): %v", err)
	}
	_, err = b.Get(ctx, key)
	wantNotFound(t, err, "Get after delete")

	// A deleted record can be created again, starting over at version 1.
	again := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("again")}, 0)
	if again.Version != 1 {
		t.Errorf("re-create after delete: version %d, want 1", again.Version)
	}
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

	if err := b.Delete(ctx, key, tokenstore.AnyVersion); err != nil {
		t.Fatalf("Delete(AnyVersion): %v", err)
	}
	_, err = b.Get(ctx, key)
	wantNotFound(t, err, "Get after Delete(AnyVersion)")

	wantNotFound(t, b.Delete(ctx, key, 2), "Delete of a missing record with a version")
	wantNotFound(t, b.Delete(ctx, key, tokenstore.AnyVersion), "Delete of a missing record with AnyVersion")

	// Deleting one record leaves its neighbours alone.
	a := mustPut(t, b, tokenstore.Record{Key: tokenstore.Key{Customer: cust, Kind: "kind", Name: "a"}, Data: []byte("a")}, 0)
	bb := mustPut(t, b, tokenstore.Record{Key: tokenstore.Key{Customer: cust, Kind: "kind", Name: "b"}, Data: []byte("b")}, 0)
	if err := b.Delete(ctx, a.Key, 1); err != nil {
		t.Fatalf("Delete(a, v1): %v", err)
	}
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
		if !bytes.Equal(got.Data, tc.data) || got.Sealed != tc.sealed {
			t.Errorf("%s: got %d bytes sealed=%v, want %d bytes sealed=%v", tc.name, len(got.Data), got.Sealed, len(tc.data), tc.sealed)
		}
		sameRecord(t, tc.name, got, put)
	}

	// The backend must not keep (or hand out) the caller's slice.
	key := tokenstore.Key{Customer: cust, Kind: "kind", Name: "aliasing"}
	data := []byte("original")
	mustPut(t, b, tokenstore.Record{Key: key, Data: data}, 0)
	copy(data, "MUTATED!")
	got := mustGet(t, b, key)
	if string(got.Data) != "original" {
		t.Errorf("record changed with the caller's slice after Put: %q", got.Data)
	}
	copy(got.Data, "MUTATED!")
	if again := mustGet(t, b, key); string(again.Data) != "original" {
		t.Errorf("record changed with a slice returned by Get: %q", again.Data)
	}
}

func testTimestamps(t *testing.T, b tokenstore.Backend) {
	// Backends may take time from a database server on this or another
	// host: allow some clock skew, but not a wrong zone or a zero time.
	const skew = 5 * time.Second
	key := tokenstore.Key{Customer: uniq(t, "c"), Kind: "kind", Name: "name"}
	before := time.Now()
	created := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("x"), CreatedAt: time.Unix(1, 0), UpdatedAt: time.Unix(1, 0)}, 0)
	after := time.Now()
	if created.CreatedAt.Before(before.Add(-skew)) || created.CreatedAt.After(after.Add(skew)) {
		t.Errorf("CreatedAt %v not within [%v, %v] (caller-supplied timestamps must be ignored)", created.CreatedAt, before, after)
	}
	if !sameTime(created.UpdatedAt, created.CreatedAt) {
		t.Errorf("new record: UpdatedAt %v, want CreatedAt %v", created.UpdatedAt, created.CreatedAt)
	}
	prev := created
	for v := int64(1); v <= 3; v++ {
		next := mustPut(t, b, tokenstore.Record{Key: key, Data: []byte("x"), CreatedAt: time.Unix(1, 0)}, v)
		if !sameTime(next.CreatedAt, created.CreatedAt) {
			t.Errorf("v%d: CreatedAt %v, want %v", next.Version, next.CreatedAt, created.CreatedAt)
		}
		if next.UpdatedAt.Before(prev.UpdatedAt) {
			t.Errorf("v%d: UpdatedAt %v went back from %v", next.Version, next.UpdatedAt, prev.UpdatedAt)
		}
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
			if winner >= 0 {
				t.Fatalf("writers %d and %d both replaced version 1", winner, i)
			}
			winner = i
		default:
			wantConflict(t, err, fmt.Sprintf("writer %d", i), key, 1, 2)
		}
	}
	if winner < 0 {
		t.Fatal("no writer replaced version 1")
	}
	got := mustGet(t, b, key)
	want := fmt.Sprintf("writer %d", winner)
	if got.Version != 2 || string(got.Data) != want || results[winner].Version != 2 {
		t.Errorf("after the race: v%d %q, want v2 %q", got.Version, got.Data, want)
	}
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
		t.Fatal(err)
	}
	got := mustGet(t, b, key)
	if got.Version != racers+1 {
		t.Errorf("version %d after %d successful updates, want %d", got.Version, racers, racers+1)
	}
	for i := range racers {
		if n := strings.Count(string(got.Data), fmt.Sprintf("<%d>", i)); n != 1 {
			t.Errorf("writer %d's update appears %d times, want once: %q", i, n, got.Data)
		}
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
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if got := names(page.Records); !slices.Equal(got, want) {
		t.Fatalf("List order = %q, want byte order %q", got, want)
	}
	if page.Next != "" {
		t.Errorf("single page: Next = %q, want empty", page.Next)
	}
	for _, r := range page.Records {
		if r.Version != 1 || string(r.Data) != cust+"|kind|"+r.Name || r.CreatedAt.IsZero() {
			t.Errorf("listed record %s: v%d data %q created %v", r.Key, r.Version, r.Data, r.CreatedAt)
		}
	}

	for _, limit := range []int{1, 2, 3, 5, len(want) - 1, len(want), len(want) + 1} {
		var got []string
		opts := tokenstore.ListOptions{Limit: limit}
		for pages := 0; ; pages++ {
			if pages > len(want)+1 {
				t.Fatalf("limit %d: paging does not end", limit)
			}
			p, err := b.List(ctx, cust, "kind", opts)
			if err != nil {
				t.Fatalf("limit %d: List: %v", limit, err)
			}
			if len(p.Records) > limit {
				t.Fatalf("limit %d: page of %d records", limit, len(p.Records))
			}
			got = append(got, names(p.Records)...)
			if p.Next == "" {
				break
			}
			if len(p.Records) == 0 || p.Next != p.Records[len(p.Records)-1].Name {
				t.Fatalf("limit %d: Next %q is not the page's last name (page %q)", limit, p.Next, names(p.Records))
			}
			opts.After = p.Next
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages gave %q, want %q", limit, got, want)
		}
	}

	// After a name that is not stored continues with the next one in order.
	p, err := b.List(ctx, cust, "kind", tokenstore.ListOptions{After: "aa", Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(p.Records); !slices.Equal(got, []string{"ab", "b"}) {
		t.Errorf("List after \"aa\" = %q, want [ab b]", got)
	}
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
		if err != nil {
			t.Fatalf("List(%s, %s): %v", tc.customer, tc.kind, err)
		}
		if got := names(p.Records); !slices.Equal(got, tc.want) && (len(got) != 0 || len(tc.want) != 0) {
			t.Errorf("List(%s, %s) = %q, want %q", tc.customer, tc.kind, got, tc.want)
		}
		for _, r := range p.Records {
			if r.Customer != tc.customer || r.Kind != tc.kind {
				t.Errorf("List(%s, %s) returned %s", tc.customer, tc.kind, r.Key)
			}
		}
	}
	// Same name under different customers and kinds: separate records.
	for _, k := range []tokenstore.Key{{Customer: custA, Kind: "kind", Name: "1"}, {Customer: custB, Kind: "kind", Name: "1"}, {Customer: custA, Kind: "kind2", Name: "1"}} {
		_, err := b.Put(ctx, tokenstore.Record{Key: k, Data: []byte(k.String())}, 0)
		if k.Customer == custA && k.Kind == "kind" {
			wantConflict(t, err, "create of an existing record", k, 0, 1)
			continue
		}
		if err != nil {
			t.Fatalf("create %s: %v", k, err)
		}
	}
	if got := mustGet(t, b, tokenstore.Key{Customer: custA, Kind: "kind", Name: "1"}); string(got.Data) != custA+"|kind|1" {
		t.Errorf("record changed by writes to other customers or kinds: %q", got.Data)
	}
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
			if round > len(want)+1 {
				t.Fatalf("limit %d: scan does not end", limit)
			}
			recs, err := b.Scan(ctx, after, limit)
			if err != nil {
				t.Fatalf("Scan(after %s, %d): %v", after, limit, err)
			}
			if len(recs) > limit {
				t.Fatalf("Scan(limit %d) returned %d records", limit, len(recs))
			}
			if len(recs) == 0 {
				break
			}
			for _, r := range recs {
				if r.Key.Compare(after) <= 0 {
					t.Fatalf("Scan(after %s) returned %s, not after it", after, r.Key)
				}
				after = r.Key
				if !strings.HasPrefix(r.Customer, base+"/") {
					break scan
				}
				if string(r.Data) != r.Key.String() || r.Version != 1 || r.Sealed != (r.Name == "X") {
					t.Errorf("scanned %s: v%d sealed=%v data %q", r.Key, r.Version, r.Sealed, r.Data)
				}
				got = append(got, r.Key)
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: scan gave %v, want %v", limit, got, want)
		}
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
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: got %v, want an error matching context.Canceled", op, err)
		}
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
	if err != nil {
		t.Fatalf("Lock(%q): %v", name, err)
	}
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
		t.Fatal(err)
	}
	if overlap != 0 {
		t.Errorf("%d times two holders held %q at once", overlap, name)
	}
	if entries != workers*rounds {
		t.Errorf("%d critical sections ran, want %d", entries, workers*rounds)
	}
}

func testLockIndependentNames(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	a, bName := uniq(t, "a"), uniq(t, "b")
	la := mustLock(t, b, a, time.Minute)
	// A different name is free even while a is held.
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	lb, err := b.Lock(short, bName, time.Minute)
	if err != nil {
		t.Fatalf("Lock(%q) while %q is held: %v", bName, a, err)
	}
	if err := lb.Release(ctx); err != nil {
		t.Errorf("Release(%q): %v", bName, err)
	}
	if err := la.Release(ctx); err != nil {
		t.Errorf("Release(%q): %v", a, err)
	}
	// A released name can be taken again at once.
	again, err := b.Lock(short, a, time.Minute)
	if err != nil {
		t.Fatalf("Lock(%q) after release: %v", a, err)
	}
	if err := again.Release(ctx); err != nil {
		t.Errorf("second Release(%q): %v", a, err)
	}
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
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("Lock while another holder's lease is live: got %v, want context.DeadlineExceeded", err)
		}
	} else if err == nil {
		t.Log("machine too slow to check the lease before its ttl")
	}

	// After the ttl another holder gets it.
	next, err := b.Lock(ctx, name, time.Minute)
	if err != nil {
		t.Fatalf("Lock after the previous lease lapsed: %v", err)
	}
	if waited := time.Since(start); waited < ttl {
		t.Errorf("second holder got the lease after %v, before the first one's ttl %v", waited, ttl)
	}
	if err := crashed.Release(ctx); !errors.Is(err, tokenstore.ErrLeaseLost) {
		t.Errorf("Release of a lapsed lease: got %v, want ErrLeaseLost", err)
	}
	// The late release must not have freed the new holder's lease.
	probe, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = b.Lock(probe, name, time.Minute)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Lock after a stale release: got %v, want the lease still held (context.DeadlineExceeded)", err)
	}
	if err := next.Release(ctx); err != nil {
		t.Errorf("Release of the live lease: %v", err)
	}
}

func testLockCancel(t *testing.T, b tokenstore.Backend) {
	ctx := ctxFor(t)
	name := uniq(t, "lease")
	held := mustLock(t, b, name, time.Minute)

	waitCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := b.Lock(waitCtx, name, time.Minute)
		done <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the waiter block
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Lock canceled while waiting: got %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Lock did not return after its context was canceled")
	}
	if err := held.Release(ctx); err != nil {
		t.Errorf("Release: %v", err)
	}
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
