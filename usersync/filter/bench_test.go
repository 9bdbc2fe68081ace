package filter_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync/filter"
	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

const typicalFilter = "UsageLocation -eq 'IT' -and (Department -eq 'Sales' -or Department -eq 'Support') -and City -like '*ila*' -and -not (Title -like 'Intern*')"

// structUser is how a sync engine holds a decoded user: a struct, read by a
// switch on the property name, with no allocation.
type structUser struct {
	UPN, DisplayName, City, UsageLocation, Department, JobTitle string
	AccountEnabled                                              bool
}

func (u *structUser) Value(p string) filter.Value {
	switch p {
	case "userPrincipalName":
		return filter.StringValue(u.UPN)
	case "displayName":
		return filter.StringValue(u.DisplayName)
	case "city":
		return filter.StringValue(u.City)
	case "usageLocation":
		return filter.StringValue(u.UsageLocation)
	case "department":
		return filter.StringValue(u.Department)
	case "jobTitle":
		return filter.StringValue(u.JobTitle)
	case "accountEnabled":
		return filter.BoolValue(u.AccountEnabled)
	}
	return filter.Value{}
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		// The check stays outside testify's call, whose t.Helper bookkeeping
		// would cost more than what is measured.
		if _, err := syntax.Parse(typicalFilter); err != nil {
			require.NoError(b, err)
		}
	}
}

func BenchmarkCompile(b *testing.B) {
	for _, bc := range []struct{ name, filter string }{
		{"italy", "UsageLocation -eq 'IT'"},
		{"typical", typicalFilter},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := filter.Compile(bc.filter); err != nil {
					require.NoError(b, err)
				}
			}
		})
	}
}

func BenchmarkMatch(b *testing.B) {
	plan, err := filter.Compile(typicalFilter)
	require.NoError(b, err)
	su := &structUser{UPN: "user00004@contoso.onmicrosoft.com", DisplayName: "User 00004", City: "Milan",
		UsageLocation: "IT", Department: "Sales", JobTitle: "Engineer", AccountEnabled: true}
	mu := filter.MapUser(demoUser(4))
	b.Run("struct/full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !plan.Match(su) {
				require.FailNow(b, "no match")
			}
		}
	})
	b.Run("struct/client-side", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !plan.MatchClientSide(su) {
				require.FailNow(b, "no match")
			}
		}
	})
	b.Run("map/full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !plan.Match(mu) {
				require.FailNow(b, "no match")
			}
		}
	})
}
