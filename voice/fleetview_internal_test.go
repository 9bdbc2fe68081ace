package voice

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantgate/tenantgate/usersync"
)

// TestFirstFailedCheck judges users as a sync reads them, in the order
// of UserVoice's checks.
func TestFirstFailedCheck(t *testing.T) {
	t.Parallel()
	inv := map[string]numberRow{
		"+39020000024": {Number: "+39020000024", Type: "directRouting", Activation: "activated"},
		"+44200000001": {Number: "+44200000001", Type: "callingPlan", Activation: "activated", LocationID: "loc-london"},
		"+44200000003": {Number: "+44200000003", Type: "callingPlan", Activation: "activated"},
		"+39020000034": {Number: "+39020000034", Type: "directRouting", Activation: "assignmentPending"},
	}
	user := func(mod func(u *usersync.User)) *usersync.User {
		u := &usersync.User{AccountEnabled: true, UsageLocation: "IT", Teams: &usersync.TeamsConfig{EnterpriseVoiceEnabled: true,
			FeatureTypes:     []string{"Teams", "PhoneSystem"},
			TelephoneNumbers: []usersync.TelephoneNumber{{Number: "+39020000024", Category: "primary"}},
			Policies:         map[string]string{PolicyVoiceRouting: "VRP-IT"}}}
		if mod != nil {
			mod(u)
		}
		return u
	}
	for _, tc := range []struct {
		name string
		u    *usersync.User
		want string
	}{
		{"ready direct routing", user(nil), ""},
		{"disabled", user(func(u *usersync.User) { u.AccountEnabled = false }), CheckAccountEnabled},
		{"no usage location", user(func(u *usersync.User) { u.UsageLocation = "" }), CheckUsageLocation},
		{"no Teams Phone", user(func(u *usersync.User) { u.Teams.FeatureTypes = []string{"Teams"} }), CheckPhoneLicense},
		{"no Teams configuration", user(func(u *usersync.User) { u.Teams = nil }), CheckPhoneLicense},
		{"voice off", user(func(u *usersync.User) { u.Teams.EnterpriseVoiceEnabled = false }), CheckEnterpriseVoice},
		{"no number", user(func(u *usersync.User) { u.Teams.TelephoneNumbers = nil }), CheckPrimaryNumber},
		{"number not activated", user(func(u *usersync.User) { u.Teams.TelephoneNumbers[0].Number = "+39020000034" }), CheckPrimaryNumber},
		{"direct routing on Global", user(func(u *usersync.User) { u.Teams.Policies = nil }), CheckVoiceRouting},
		{"calling plan ready", user(func(u *usersync.User) {
			u.Teams.FeatureTypes = append(u.Teams.FeatureTypes, "CallingPlan")
			u.Teams.TelephoneNumbers[0].Number = "tel:+44200000001"
		}), ""},
		{"calling plan without its license", user(func(u *usersync.User) { u.Teams.TelephoneNumbers[0].Number = "+44200000001" }), CheckCallingPlanLicense},
		{"calling plan without a location", user(func(u *usersync.User) {
			u.Teams.FeatureTypes = append(u.Teams.FeatureTypes, "CallingPlan")
			u.Teams.TelephoneNumbers[0].Number = "+44200000003"
		}), CheckEmergencyLocation},
		{"a number the inventory lacks", user(func(u *usersync.User) { u.Teams.TelephoneNumbers[0].Number = "+15550000000"; u.Teams.Policies = nil }), ""},
	} {
		assert.Equal(t, tc.want, firstFailedCheck(tc.u, inv), tc.name)
	}
}
