package directory

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func BenchmarkNew50000(b *testing.B) {
	for b.Loop() {
		New(specTenant, specDomain, specCompany, specN)
	}
}

// benchPage measures the third page of 999 users (full for every filter
// benchmarked here), encoded as Graph's "value" array.
func benchPage(b *testing.B, q Query) {
	d := New(specTenant, specDomain, specCompany, specN)
	q.Top = MaxTop
	// Walk to the third page once to get its skip token.
	for range 2 {
		res, err := d.Query(q)
		require.NoError(b, err)
		require.NotEmpty(b, res.NextSkipToken, "no third page")
		q.SkipToken = res.NextSkipToken
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := d.Query(q)
		require.NoError(b, err)
		require.Len(b, res.Users, MaxTop)
		_ = res.Value()
	}
}

func BenchmarkPage999Unfiltered(b *testing.B) { benchPage(b, Query{}) }

func BenchmarkPage999FilterIT(b *testing.B) {
	benchPage(b, Query{Filter: "usageLocation eq 'IT'"})
}

func BenchmarkPage999FilterITSelect(b *testing.B) {
	benchPage(b, Query{Filter: "usageLocation eq 'IT'", Select: []string{"id", "userPrincipalName", "displayName"}})
}

// BenchmarkPageNoMatch scans the whole tenant and finds nothing: the worst
// case of one request.
func BenchmarkPageNoMatch(b *testing.B) {
	d := New(specTenant, specDomain, specCompany, specN)
	b.ReportAllocs()
	for b.Loop() {
		_, err := d.Query(Query{Filter: "startsWith(displayName,'nobody')", Top: MaxTop})
		require.NoError(b, err)
	}
}

func BenchmarkParseFilter(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		_, err := ParseFilter("(usageLocation eq 'IT' or usageLocation in ('ES','FR')) and startsWith(displayName,'User 1') and accountEnabled eq true")
		require.NoError(b, err)
	}
}

func BenchmarkUserByID(b *testing.B) {
	d := New(specTenant, specDomain, specCompany, specN)
	id := d.UserAt(31337).ID
	d.User(id) // builds the index
	b.ReportAllocs()
	for b.Loop() {
		_, ok := d.User(id)
		require.True(b, ok, "not found")
	}
}

func BenchmarkFirstLookupByID(b *testing.B) {
	for b.Loop() {
		d := New(specTenant, specDomain, specCompany, specN)
		_, ok := d.User(d.UserAt(1).ID)
		require.True(b, ok, "not found")
	}
}

// BenchmarkFilterByID looks one user up by $filter=id eq '...': a full scan
// that hashes every object ID.
func BenchmarkFilterByID(b *testing.B) {
	d := New(specTenant, specDomain, specCompany, specN)
	q := Query{Filter: "id eq '" + d.UserAt(specN-1).ID + "'"}
	b.ReportAllocs()
	for b.Loop() {
		res, err := d.Query(q)
		require.NoError(b, err)
		require.Len(b, res.Users, 1)
	}
}
