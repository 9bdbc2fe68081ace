package directory

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCreatedDateTime checks the demo rule (the Global Admin at
// AdminCreated, user i at FirstCreated + i s) and the filters and sort
// the advanced query page lists for user createdDateTime.
func TestCreatedDateTime(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 100)
	assert.Equal(t, AdminCreated, d.Admin().CreatedDateTime)
	assert.Equal(t, time.Date(2024, 1, 2, 0, 0, 42, 0, time.UTC), d.UserAt(42).CreatedDateTime)

	cases := []struct {
		name     string
		q        Query
		n        int    // users listed; -1: refused
		first    string // first UPN listed
		code     string // error code when refused
		advanced bool
	}{
		{name: "ge by default", q: Query{Filter: "createdDateTime ge 2024-01-02T00:01:00Z"}, n: 40, first: "user00060@" + specDomain},
		{name: "le by default", q: Query{Filter: "createdDateTime le 2024-01-02T00:00:09Z"}, n: 11, first: "admin@" + specDomain},
		{name: "range", q: Query{Filter: "createdDateTime ge 2024-01-02T00:00:10Z and createdDateTime le 2024-01-02T00:00:19Z"}, n: 10, first: "user00010@" + specDomain},
		{name: "eq", q: Query{Filter: "createdDateTime eq 2024-01-02T00:00:05Z"}, n: 1, first: "user00005@" + specDomain},
		{name: "offset", q: Query{Filter: "createdDateTime eq 2024-01-02T01:00:05+01:00"}, n: 1, first: "user00005@" + specDomain},
		{name: "ne needs advanced", q: Query{Filter: "createdDateTime ne 2024-01-01T00:00:00Z"}, n: -1, code: CodeUnsupportedQuery},
		{name: "ne advanced", q: Query{Filter: "createdDateTime ne 2024-01-01T00:00:00Z"}, advanced: true, n: 100, first: "user00000@" + specDomain},
		{name: "in needs advanced", q: Query{Filter: "createdDateTime in (2024-01-02T00:00:01Z,2024-01-02T00:00:02Z)"}, n: -1, code: CodeUnsupportedQuery},
		{name: "in advanced", q: Query{Filter: "createdDateTime in (2024-01-02T00:00:01Z, 2024-01-02T00:00:02Z)"}, advanced: true, n: 2, first: "user00001@" + specDomain},
		{name: "not advanced", q: Query{Filter: "not(createdDateTime le 2024-01-02T00:01:37Z)"}, advanced: true, n: 2, first: "user00098@" + specDomain},
		{name: "bad time", q: Query{Filter: "createdDateTime le 2024-01-02T00:00:97Z"}, n: -1, code: CodeBadRequest},
		{name: "gt not listed", q: Query{Filter: "createdDateTime gt 2024-01-02T00:00:00Z"}, n: -1, code: CodeUnsupportedQuery},
		{name: "date alone", q: Query{Filter: "createdDateTime ge 2024-01-02"}, n: -1, code: CodeBadRequest},
		{name: "quoted", q: Query{Filter: "createdDateTime ge '2024-01-02T00:00:00Z'"}, n: -1, code: CodeBadRequest},
		{name: "null", q: Query{Filter: "createdDateTime eq null"}, n: -1, code: CodeUnsupportedQuery},
		{name: "orderby needs advanced", q: Query{OrderBy: "createdDateTime"}, n: -1, code: CodeUnsupportedQuery},
		{name: "orderby desc advanced", q: Query{OrderBy: "createdDateTime desc"}, advanced: true, n: 101, first: "user00099@" + specDomain},
		{name: "filter and orderby", q: Query{Filter: "createdDateTime ge 2024-01-02T00:01:30Z", OrderBy: "createdDateTime asc"}, advanced: true, n: 10, first: "user00090@" + specDomain},
		{name: "orderby another declared property", q: Query{OrderBy: "employeeHireDate"}, advanced: true, n: -1, code: CodeUnsupportedQuery},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := tc.q
			q.Top = MaxTop
			q.Count, q.ConsistencyEventual = tc.advanced, tc.advanced
			res, err := d.Query(q)
			if tc.n < 0 {
				require.Error(t, err)
				assert.Equal(t, tc.code, queryErr(t, err).Code)
				return
			}
			require.NoError(t, err)
			require.Len(t, res.Users, tc.n)
			assert.Equal(t, tc.first, res.Users[0].UserPrincipalName)
			for k := 1; k < len(res.Users); k++ {
				a, b := res.Users[k-1].CreatedDateTime, res.Users[k].CreatedDateTime
				if q.OrderBy == "createdDateTime desc" {
					a, b = b, a
				}
				assert.True(t, a.Before(b), "listing order is creation order")
			}
		})
	}
}

// TestCreatedDateTimeAdded checks that users added later get the clock's
// time, never before the user listed before them.
func TestCreatedDateTimeAdded(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, 10)
	now := time.Date(2026, 3, 1, 12, 0, 0, 500, time.UTC)
	d.SetClock(func() time.Time { return now })
	us, err := d.Add(2)
	require.NoError(t, err)
	assert.Equal(t, now.Truncate(time.Second), us[0].CreatedDateTime)
	assert.Equal(t, now.Truncate(time.Second).Add(time.Second), us[1].CreatedDateTime, "same second: one after the previous")
	got, ok := d.User(us[0].ID)
	require.True(t, ok)
	assert.Equal(t, us[0].CreatedDateTime, got.CreatedDateTime, "kept, not the demo rule's")
	require.NoError(t, d.Update(us[0].ID, map[string]any{"city": "Rome"}))
	got, _ = d.User(us[0].ID)
	assert.Equal(t, us[0].CreatedDateTime, got.CreatedDateTime, "a change keeps it")

	now = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC) // a clock behind the data
	g, err := d.AddCustom(User{ID: "6f3b4b57-2d4f-4c55-9a8e-0d2c2b8f7a11", UserPrincipalName: "guest_x.com#EXT#@" + specDomain})
	require.NoError(t, err)
	assert.Equal(t, us[1].CreatedDateTime.Add(time.Second), g.CreatedDateTime)

	res, err := d.Query(Query{Filter: "createdDateTime ge 2026-01-01T00:00:00Z", Top: MaxTop})
	require.NoError(t, err)
	assert.Len(t, res.Users, 3)

	b, err := g.MarshalSelected([]string{"createdDateTime"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"createdDateTime":"2026-03-01T12:00:02Z"}`, string(b))
}
