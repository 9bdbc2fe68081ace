package m365access

// Action is what a person must do to fix a failure. Hosts show it next to
// the error and branch on it; the zero value means no action is known.
type Action string

// The actions an Error can carry.
const (
	// ActionNone: nothing a person can do is known.
	ActionNone Action = ""
	// ActionReInvite: the token connection ended (expired, revoked, user
	// gone or password reset); send the customer a new invitation.
	ActionReInvite Action = "reInvite"
	// ActionGrantConsent: the provider app lacks consent or permissions in
	// the tenant; a Global Admin must grant admin consent.
	ActionGrantConsent Action = "grantConsent"
	// ActionCompleteMFAOrSwitchToToken: the sign-in needs interaction
	// (MFA, Conditional Access); complete it through the token connection
	// or switch the customer to token authentication.
	ActionCompleteMFAOrSwitchToToken Action = "completeMFAOrSwitchToToken"
	// ActionRotateSecret: the client secret is wrong or expired; create a
	// new one and save it.
	ActionRotateSecret Action = "rotateSecret"
	// ActionRotateCertificate: the certificate credential is unknown to the
	// app or expired; upload a new one and save it.
	ActionRotateCertificate Action = "rotateCertificate"
	// ActionWaitAndRetry: a temporary condition; retrying later can help.
	ActionWaitAndRetry Action = "waitAndRetry"
	// ActionFixTenant: the tenant does not exist or is not the expected one.
	ActionFixTenant Action = "fixTenant"
	// ActionFixCredentials: the user name or password is wrong.
	ActionFixCredentials Action = "fixCredentials"
	// ActionFixSettings: the saved settings are incomplete or invalid.
	ActionFixSettings Action = "fixSettings"
	// ActionFixFilter: Graph rejected the user filter.
	ActionFixFilter Action = "fixFilter"
	// ActionRestartConnection: the sign-in transaction is unusable
	// (expired, reused, another browser); start the connection again.
	ActionRestartConnection Action = "restartConnection"
	// ActionFixAccount: Entra ID refuses the service account itself
	// (disabled, locked, password expired, not assigned to the app, or
	// its device fails a Conditional Access device policy); an
	// administrator of the customer's tenant must fix the account in
	// Entra ID. Retrying does not help. Error.Hint says what to fix.
	ActionFixAccount Action = "fixAccount"
	// ActionConfirmConsent: admin consent was reported granted and is not
	// confirmed through Graph yet (StateConsentPropagating); Validate once
	// Microsoft has propagated it. Past ConsentPropagationWindow the
	// customer needs ActionGrantConsent again.
	ActionConfirmConsent Action = "confirmConsent"
	// ActionEnableApp: the app is disabled in the customer's tenant; an
	// administrator must enable its enterprise application in Entra ID.
	ActionEnableApp Action = "enableApp"
)
