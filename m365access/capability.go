package m365access

import (
	"slices"
	"strings"
)

// VoicePermissions are the Graph permissions, delegated and application
// alike, that Teams Phone provisioning (package voice) uses beyond
// DefaultAppPermissions and DefaultScopes: number assignment, voice
// policy assignment and license assignment. They are optional: a
// connection without them is healthy, Validate and Status report them as
// capabilities, and voice refuses what needs a missing one with
// ActionGrantConsent. Add them to ProviderConfig.AppPermissions or Scopes
// (and grant consent again) to provision Teams Phone.
var VoicePermissions = []string{PermissionVoiceNumbers, PermissionVoicePolicies, PermissionVoiceLicenses}

// The permissions of the optional Teams Phone provisioning capabilities.
const (
	PermissionVoiceNumbers  = "TeamsTelephoneNumber.ReadWrite.All"
	PermissionVoicePolicies = "TeamsPolicyUserAssign.ReadWrite.All"
	PermissionVoiceLicenses = "LicenseAssignment.ReadWrite.All"
)

// Capability is an optional ability of a connection, granted or not; a
// missing one does not fail Validate.
type Capability struct {
	// Name is "voiceNumbers", "voicePolicies" or "voiceLicenses".
	Name string `json:"name"`
	// Permission is the Graph permission it needs.
	Permission string `json:"permission"`
	// Granted reports whether the customer granted it, as far as the last
	// Validate could see.
	Granted bool `json:"granted"`
	// Detail says what it allows, or what to grant.
	Detail string `json:"detail"`
	// Action is ActionGrantConsent when not granted.
	Action Action `json:"action,omitempty"`
}

// capabilities are the optional capabilities and what they allow.
var capabilities = []struct{ name, perm, what string }{
	{"voiceNumbers", PermissionVoiceNumbers, "assign and release Teams telephone numbers"},
	{"voicePolicies", PermissionVoicePolicies, "assign Teams voice policies (voice routing, dial plan, calling)"},
	{"voiceLicenses", PermissionVoiceLicenses, "assign Teams Phone and Calling Plan licenses"},
}

// capabilitiesOf judges the optional capabilities from the granted
// permissions (app roles or delegated scopes), mode saying how to grant.
func capabilitiesOf(granted []string, mode AuthMode) []Capability {
	how := "add the delegated permission %s to the provider app, then send a new invitation"
	if mode == ModeAppRegistration {
		how = "add the application permission %s to the app registration, then grant admin consent"
	}
	out := make([]Capability, 0, len(capabilities))
	for _, c := range capabilities {
		ok := slices.ContainsFunc(granted, func(g string) bool { return strings.EqualFold(g, c.perm) })
		cp := Capability{Name: c.name, Permission: c.perm, Granted: ok, Detail: "can " + c.what}
		if !ok {
			cp.Action = ActionGrantConsent
			cp.Detail = "to " + c.what + ", " + strings.Replace(how, "%s", c.perm, 1)
		}
		out = append(out, cp)
	}
	return out
}
