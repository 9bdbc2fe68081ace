package m365test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzParseTeamsFilter: the userConfigurations $filter parser never
// panics, and what it accepts is a conjunction of the supported terms that
// evaluates on any configuration.
func FuzzParseTeamsFilter(f *testing.F) {
	for _, s := range []string{
		"isEnterpriseVoiceEnabled eq true", "accountType eq 'user' and isEnterpriseVoiceEnabled eq false",
		"featureTypes/any(x:x eq 'PhoneSystem')", "featureTypes/any(f: f eq 'it''s')",
		"telephoneNumbers/any(t:startsWith(t/telephoneNumber,'+39'))", "isEnterpriseVoiceEnabled eq true or accountType eq 'user'",
		"accountType eq 'unterminated", "", "  and  ",
	} {
		f.Add(s)
	}
	configs := []TeamsUserConfiguration{generatedTeams("t", 24), generatedTeams("t", 25), generatedTeams("t", -1), {}}
	f.Fuzz(func(t *testing.T, filter string) {
		match, err := parseTeamsFilter(filter)
		if err != nil {
			require.NotEmpty(t, err.Error(), "empty error")
			return
		}
		for i := range configs {
			_ = match(&configs[i])
		}
		if strings.Contains(strings.ToLower(filter), " or ") {
			require.Contains(t, filter, "'", "accepted an or outside a string: %q", filter)
		}
	})
}
