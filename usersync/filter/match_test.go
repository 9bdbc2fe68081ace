package filter_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync/filter"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	milan := filter.MapUser{
		"userPrincipalName": "giulia@contoso.com", "displayName": "Giulia Rossi", "city": "Milan",
		"usageLocation": "IT", "department": "Sales", "jobTitle": "Manager", "accountEnabled": true,
		"surname": "O'Brien", "proxyAddresses": []any{"SMTP:giulia@contoso.com", "smtp:g.rossi@contoso.it"},
	}
	bare := filter.MapUser{"userPrincipalName": "svc@contoso.com", "displayName": "Service", "accountEnabled": false}
	tests := []struct {
		filter      string
		milan, bare bool
	}{
		{"UsageLocation -eq 'IT'", true, false},
		{"UsageLocation -eq 'it'", true, false}, // case-insensitive
		{"UsageLocation -ne 'IT'", false, true}, // $null -ne 'IT' is true
		{"UsageLocation -eq $null", false, true},
		{"UsageLocation -ne $null", true, false},
		{"City -like 'mil*'", true, false},
		{"City -like '*LAN'", true, false},
		{"City -like '*ila*'", true, false},
		{"City -like 'M?lan'", true, false},
		{"City -like '[l-n]ilan'", true, false},
		{"City -like '[A-C]ilan'", false, false},
		{"City -like 'Mil`*'", false, false},
		{"City -notlike 'Mil*'", false, true}, // $null -notlike 'Mil*' is true
		{"City -like '*'", true, true},        // $null -like '*' is true in PowerShell
		{"City -like ''", false, true},        // $null -like '' is true
		{"City -notlike '*'", false, false},
		{"City -contains 'MILAN'", true, false},
		{"City -notcontains 'Milan'", false, true},
		{"LastName -eq 'o''brien'", true, false},
		{"AccountEnabled -eq $true", true, false},
		{"AccountEnabled -ne $true", false, true},
		{"AccountEnabled -eq 'false'", false, true},
		{"ProxyAddresses -contains 'smtp:GIULIA@contoso.com'", true, false},
		{"ProxyAddresses -eq 'smtp:g.rossi@contoso.it'", true, false},
		{"ProxyAddresses -notcontains 'x'", true, true},
		{"ProxyAddresses -like '*@contoso.it'", true, false},
		{"-not (ProxyAddresses -like '*@contoso.it')", false, true},
		{"ProxyAddresses -eq $null", false, true},
		{"ProxyAddresses -ne $null", true, false},
		{"-not (City -eq 'Milan')", false, true},
		{"!(City -eq 'Milan') -or Department -eq 'Sales'", true, true},
		{"City -eq 'Milan' -or Department -eq 'Sales' -and AccountEnabled -eq $false", false, false},
		{"City -eq 'Milan' -or (Department -eq 'Sales' -and AccountEnabled -eq $false)", true, false},
		{"", true, true},
	}
	for _, tt := range tests {
		plan, err := filter.Compile(tt.filter)
		if !assert.NoError(t, err, "Compile(%q)", tt.filter) {
			continue
		}
		assert.Equal(t, tt.milan, plan.Match(milan), "%q on the Milan user", tt.filter)
		assert.Equal(t, tt.bare, plan.Match(bare), "%q on the bare user", tt.filter)
	}
}

func TestMatchValueKinds(t *testing.T) {
	t.Parallel()
	plan, err := filter.Compile("AccountEnabled -eq $true -and ProxyAddresses -contains 'a' -and City -eq 'True'")
	require.NoError(t, err)
	// Types other than the property's are read the way PowerShell would.
	u := filter.UserFunc(func(p string) filter.Value {
		switch p {
		case "accountEnabled":
			return filter.StringValue("TRUE")
		case "proxyAddresses":
			return filter.StringValue("A")
		case "city":
			return filter.BoolValue(true)
		}
		return filter.Value{}
	})
	assert.True(t, plan.Match(u), "Match with string/bool stand-ins")
	plan, err = filter.Compile("City -like 'a b*'")
	require.NoError(t, err)
	assert.True(t, plan.Match(filter.UserFunc(func(string) filter.Value { return filter.ListValue([]string{"a", "b"}) })),
		"a list compared as text is not joined with spaces")
	v := (filter.MapUser{"proxyAddresses": []string{"a"}}).Value("proxyAddresses")
	assert.Equal(t, filter.KindList, v.Kind, "MapUser does not read []string")
	assert.Equal(t, []string{"a"}, v.List, "MapUser does not read []string")
	assert.Equal(t, filter.KindNull, (filter.MapUser{"city": 3.5}).Value("city").Kind, "MapUser reads a number")
}

func TestMatchClientSide(t *testing.T) {
	t.Parallel()
	plan, err := filter.Compile("UsageLocation -eq 'IT' -and City -like '*ila*'")
	require.NoError(t, err)
	// Graph already checked usageLocation; the client side checks only the rest.
	assert.True(t, plan.MatchClientSide(filter.MapUser{"city": "Milan"}), "MatchClientSide(Milan)")
	assert.False(t, plan.MatchClientSide(filter.MapUser{"city": "Rome"}), "MatchClientSide(Rome)")
	all, _ := filter.Compile("UsageLocation -eq 'IT'")
	assert.True(t, all.MatchClientSide(filter.MapUser{}), "MatchClientSide with nothing client-side")
}

func TestMatchUnicodeFolding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter, city string
		want         bool
	}{
		{"City -like 'k*'", "\u212Aelvin", true}, // Kelvin sign folds to k
		{"City -like '*K'", "Dir\u212A", true},
		{"City -like '*elk*'", "Ye\u212Alowstone", false},
		{"City -like '*e\u212A*'", "Yelowstone ek", true},
		{"City -like 'zür*'", "ZÜRICH", true},
		{"City -like '*ÜRI*'", "zürich", true},
		{"City -like 'z?rich'", "ZÜRICH", true},
		{"City -like '[ü]*'", "Übersee", true},
		{"City -eq 'ÅSA'", "åsa", true},
		{"City -like '*a*b*c'", "xxaxxbxxc", true},
		{"City -like '*a*b*c'", "xxaxxbxxcx", false},
	}
	for _, tt := range tests {
		plan, err := filter.Compile(tt.filter)
		require.NoError(t, err)
		assert.Equal(t, tt.want, plan.Match(filter.MapUser{"city": tt.city}), "%s on %q", tt.filter, tt.city)
	}
}

// TestPlanConcurrentUse runs one Plan from several goroutines (run with
// -race): the sync engine shares a customer's plan between workers.
func TestPlanConcurrentUse(t *testing.T) {
	t.Parallel()
	plan, err := filter.Compile("UsageLocation -eq 'IT' -and City -like '*ila*' -and -not (Title -like 'Dir?ctor')")
	require.NoError(t, err)
	done := make(chan int)
	for w := range 4 {
		go func() {
			n := 0
			for i := range 2000 {
				u := filter.MapUser(demoUser(i + w))
				assert.Equal(t, plan.MatchClientSide(u) && u["usageLocation"] == "IT", plan.Match(u), "user %d: Match disagrees with its parts", i+w)
				if plan.Match(u) {
					n++
				}
			}
			done <- n
		}()
	}
	for range 4 {
		n := <-done
		assert.True(t, n > 0 && n <= 200, "a worker matched %d of 2000 users, want some of the 200 in Italy", n)
	}
}
