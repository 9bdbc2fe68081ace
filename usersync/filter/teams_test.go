package filter_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync/filter"
)

func TestCompileTeams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		graph   string   // /users $filter
		teams   string   // userConfigurations $filter
		client  []string // ClientSide Filter
		noTeams bool     // the plan needs no Teams join
	}{
		{in: "EnterpriseVoiceEnabled -eq $true", teams: "isEnterpriseVoiceEnabled eq true"},
		{in: "EnterpriseVoiceEnabled -eq 'False'", teams: "isEnterpriseVoiceEnabled eq false"},
		{in: "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true", graph: "usageLocation eq 'IT'", teams: "isEnterpriseVoiceEnabled eq true"},
		{in: "LineUri -like 'tel:+39*'", teams: "telephoneNumbers/any(t:startsWith(t/telephoneNumber,'+39'))"},
		{in: "LineUri -eq 'tel:+39020000024'", teams: "telephoneNumbers/any(t:t/telephoneNumber eq '+39020000024')"},
		{in: "LineUri -like '*0024'", client: []string{"LineUri -like '*0024'"}},
		{in: "LineUri -eq $null", client: []string{"LineUri -eq $null"}},
		{in: "EnterpriseVoiceEnabled -ne $true", client: []string{"EnterpriseVoiceEnabled -ne $true"}},
		{in: "FeatureTypes -contains 'PhoneSystem'", teams: "featureTypes/any(x:x eq 'PhoneSystem')"},
		{in: "AccountType -eq 'User'", teams: "accountType eq 'user'"},
		{in: "AccountType -eq 'Robot'", client: []string{"AccountType -eq 'Robot'"}},
		{in: "OnlineVoiceRoutingPolicy -eq 'VRP-IT'", teams: "effectivePolicyAssignments/any(p:p/policyType eq 'OnlineVoiceRoutingPolicy' and p/policyAssignment/displayName eq 'VRP-IT')"},
		{in: "TenantDialPlan -eq 'DP-IT' -or TenantDialPlan -eq 'DP-GB'", teams: "effectivePolicyAssignments/any(p:p/policyType eq 'TenantDialPlan' and p/policyAssignment/displayName eq 'DP-IT') or effectivePolicyAssignments/any(p:p/policyType eq 'TenantDialPlan' and p/policyAssignment/displayName eq 'DP-GB')"},
		{in: "(Department -eq 'Sales' -or LineUri -like 'tel:+44*') -and AccountEnabled -eq $true", graph: "accountEnabled eq true",
			client: []string{"Department -eq 'Sales' -or LineUri -like 'tel:+44*'"}},
		{in: "EnterpriseVoiceEnabled -eq $true -and LineUri -like 'tel:+39*' -and City -eq 'Milan'", graph: "city eq 'Milan'",
			teams: "isEnterpriseVoiceEnabled eq true and telephoneNumbers/any(t:startsWith(t/telephoneNumber,'+39'))"},
		{in: "UsageLocation -eq 'IT'", graph: "usageLocation eq 'IT'", noTeams: true},
	}
	for _, tt := range tests {
		p, err := filter.Compile(tt.in)
		if !assert.NoError(t, err, "Compile(%q)", tt.in) {
			continue
		}
		var client []string
		for _, pt := range p.ClientSide {
			client = append(client, pt.Filter)
		}
		assert.Equal(t, tt.graph, p.GraphFilter, "Compile(%q): /users", tt.in)
		assert.Equal(t, tt.teams, p.TeamsFilter, "Compile(%q): teams", tt.in)
		assert.True(t, slices.Equal(client, tt.client), "Compile(%q): client %q, want %q", tt.in, client, tt.client)
		assert.Equal(t, !tt.noTeams, p.Teams, "Compile(%q): Teams", tt.in)
		for _, prop := range p.Select {
			assert.False(t, strings.HasPrefix(prop, "teams:"), "Compile(%q).Select holds %q", tt.in, prop)
		}
	}
}

// user24 is demo user 24 (Italy, voice, Direct Routing) as the matcher sees it.
var user24 = filter.MapUser{
	"usageLocation": "IT", "department": "Support", "accountEnabled": true,
	filter.TeamsEnterpriseVoiceEnabled: true, filter.TeamsLineURI: "tel:+39020000024",
	filter.TeamsAccountType: "user", filter.TeamsFeatureTypes: []string{"Teams", "AudioConferencing", "PhoneSystem"},
	filter.TeamsProperty("TeamsCallingPolicy"): "AllowCalling", filter.TeamsProperty("TenantDialPlan"): "DP-IT",
	filter.TeamsProperty("OnlineVoiceRoutingPolicy"): "VRP-IT",
}

// user25 is demo user 25 (Spain, not voice-enabled).
var user25 = filter.MapUser{
	"usageLocation": "ES", "department": "Support", "accountEnabled": true,
	filter.TeamsEnterpriseVoiceEnabled: false, filter.TeamsAccountType: "user",
	filter.TeamsFeatureTypes: []string{"Teams", "AudioConferencing"},
}

func TestMatchTeams(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in         string
		u24, u25   bool
		noConfig   bool // a user without any Teams configuration
		clientOnly bool // MatchClientSide agrees with Match on users Graph returned
	}{
		{in: "EnterpriseVoiceEnabled -eq $true", u24: true},
		{in: "EnterpriseVoiceEnabled -eq $false", u25: true},
		{in: "EnterpriseVoiceEnabled -ne $true", u25: true, noConfig: true},
		{in: "LineUri -like 'tel:+39*'", u24: true},
		{in: "LineUri -eq 'TEL:+39020000024'", u24: true},
		{in: "LineUri -eq $null", u25: true, noConfig: true},
		{in: "FeatureTypes -contains 'phonesystem'", u24: true},
		{in: "FeatureTypes -notcontains 'PhoneSystem'", u25: true, noConfig: true},
		{in: "AccountType -eq 'User'", u24: true, u25: true},
		{in: "OnlineVoiceRoutingPolicy -eq 'VRP-IT'", u24: true},
		{in: "OnlineVoiceRoutingPolicy -eq $null", u25: true, noConfig: true},
		{in: "TeamsMeetingPolicy -eq $null", u24: true, u25: true, noConfig: true},
		{in: "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true", u24: true},
		{in: "(Department -eq 'Sales' -or LineUri -like 'tel:+39*') -and AccountEnabled -eq $true", u24: true},
	}
	none := filter.MapUser{"usageLocation": "IT", "department": "Support", "accountEnabled": true}
	for _, tt := range tests {
		p, err := filter.Compile(tt.in)
		require.NoError(t, err, "Compile(%q)", tt.in)
		for _, c := range []struct {
			name string
			u    filter.MapUser
			want bool
		}{{"user 24", user24, tt.u24}, {"user 25", user25, tt.u25}, {"no configuration", none, tt.noConfig}} {
			assert.Equal(t, c.want, p.Match(c.u), "Compile(%q).Match(%s)", tt.in, c.name)
			// Every Teams part runs client-side after the join, so for a
			// user that passes the /users $filter, MatchClientSide is Match.
			if p.GraphFilter == "" {
				assert.Equal(t, c.want, p.MatchClientSide(c.u), "Compile(%q).MatchClientSide(%s)", tt.in, c.name)
			}
		}
	}
}

func TestCompileTeamsSyntaxErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in     string
		offset int
	}{
		{"EnterpriseVoiceEnabled -eq", 26},
		{"UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled $true", 51},
		{"LineUri -like 'tel:+39*", 23},
		{"(LineUri -like 'tel:+39*' -or Department -eq 'Sales'", 52},
	} {
		_, err := filter.Compile(tt.in)
		var se *filter.SyntaxError
		if assert.ErrorAs(t, err, &se, "Compile(%q)", tt.in) {
			assert.Equal(t, tt.offset, se.Offset, "Compile(%q): %v", tt.in, err)
		}
	}
}
