package voice

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func boolp(b bool) *bool { return &b }

var demoSKUs = []sku{
	{SkuID: "e3", SkuPartNumber: "SPE_E3"},
	{SkuID: "ev", SkuPartNumber: "MCOEV"},
	{SkuID: "cp", SkuPartNumber: "MCOPSTN1"},
	{SkuID: "e5", SkuPartNumber: "SPE_E5", ServicePlans: []struct {
		ServicePlanName string `json:"servicePlanName"`
	}{{"MCOEV"}}},
}

func state(licenses []string, voice bool, number *graphNumber, policies map[string]string) userState {
	u := graphUser{ID: "id", UserPrincipalName: "u@x", AccountEnabled: boolp(true), UsageLocation: "IT"}
	for _, l := range licenses {
		u.AssignedLicenses = append(u.AssignedLicenses, struct {
			SkuID         string   `json:"skuId"`
			DisabledPlans []string `json:"disabledPlans"`
		}{SkuID: l})
	}
	st := userState{user: u, skus: demoSKUs, teams: teamsConfig{IsEnterpriseVoiceEnabled: voice}}
	if number != nil {
		st.numbers = []graphNumber{*number}
	}
	for t, name := range policies {
		p := st.teams.EffectivePolicyAssignments
		p = append(p, p0(t, name))
		st.teams.EffectivePolicyAssignments = p
	}
	return st
}

func p0(t, name string) (p struct {
	PolicyType       string `json:"policyType"`
	PolicyAssignment struct {
		DisplayName    string `json:"displayName"`
		AssignmentType string `json:"assignmentType"`
		PolicyID       string `json:"policyId"`
		GroupID        string `json:"groupId"`
	} `json:"policyAssignment"`
}) {
	p.PolicyType, p.PolicyAssignment.DisplayName, p.PolicyAssignment.AssignmentType = t, name, "direct"
	return p
}

func failed(v UserVoice) map[string]Action {
	out := map[string]Action{}
	for _, c := range v.Checks {
		if !c.OK {
			out[c.Name] = c.Action
		}
	}
	return out
}

func TestReadiness(t *testing.T) {
	t.Parallel()
	dr := &graphNumber{TelephoneNumber: "+39020000024", NumberType: "directRouting", ActivationState: "activated", AssignmentCategory: "primary"}
	cp := &graphNumber{TelephoneNumber: "+44200000001", NumberType: "callingPlan", ActivationState: "activated", AssignmentCategory: "primary"}
	for _, c := range []struct {
		name   string
		st     userState
		failed map[string]Action
	}{
		{"direct routing user ready (user 24)", state([]string{"e3", "ev"}, true, dr, map[string]string{PolicyVoiceRouting: "VRP-IT", PolicyDialPlan: "DP-IT"}), map[string]Action{}},
		{"suite with Teams Phone", state([]string{"e5"}, true, dr, map[string]string{PolicyVoiceRouting: "VRP-IT"}), map[string]Action{}},
		{"no license, no number (user 4)", state([]string{"e3"}, false, nil, nil), map[string]Action{
			CheckPhoneLicense: ActionAssignLicense, CheckEnterpriseVoice: ActionAssignNumber, CheckPrimaryNumber: ActionAssignNumber}},
		{"direct routing on the Global policy", state([]string{"ev"}, true, dr, nil), map[string]Action{CheckVoiceRouting: ActionAssignPolicy}},
		{"calling plan without its license or location", state([]string{"ev"}, true, cp, nil), map[string]Action{
			CheckCallingPlanLicense: ActionAssignLicense, CheckEmergencyLocation: ActionSetLocation}},
	} {
		v := c.st.view()
		assert.Equal(t, c.failed, failed(v), c.name)
		assert.Equal(t, len(c.failed) == 0, v.Ready, c.name)
	}
	st := state([]string{"ev"}, true, dr, map[string]string{PolicyVoiceRouting: "VRP-IT"})
	st.user.AccountEnabled, st.user.UsageLocation = boolp(false), ""
	v := st.view()
	assert.Equal(t, map[string]Action{CheckAccountEnabled: ActionEnableAccount, CheckUsageLocation: ActionSetUsageLocation}, failed(v))
	require.NotNil(t, v.Policies[PolicyVoiceRouting])
	assert.Equal(t, "VRP-IT", *v.Policies[PolicyVoiceRouting])
	assert.Nil(t, v.Policies[PolicyDialPlan], "Global is null")
	assert.Equal(t, []string{"MCOEV"}, v.Licenses)
}
