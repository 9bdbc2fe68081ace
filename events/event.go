package events

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"strings"
	"time"
)

// Type is an event's stable type, the "type" of its webhook payload.
type Type string

// The event types. They are part of the webhook contract: a type is never
// renamed or given another meaning.
const (
	// ConnectionConnected: the customer's first working connection.
	ConnectionConnected Type = "connection.connected"
	// ConnectionFailed: a working connection broke; Data.Action says
	// what a person must do.
	ConnectionFailed Type = "connection.failed"
	// ConnectionRecovered: a broken connection works again.
	ConnectionRecovered Type = "connection.recovered"
	// ConsentGranted: the customer's admin granted the app's permissions.
	ConsentGranted Type = "consent.granted"
	// ConsentMissing: the app lacks consent in the customer's tenant.
	ConsentMissing Type = "consent.missing"
	// SecretExpiring: a credential expires in Data.DaysLeft days (30, 7
	// or 1).
	SecretExpiring Type = "secret.expiring"
	// SecretExpired: a credential has expired.
	SecretExpired Type = "secret.expired"
	// SyncSucceeded: a user sync finished.
	SyncSucceeded Type = "sync.succeeded"
	// SyncFailed: a user sync failed.
	SyncFailed Type = "sync.failed"
	// QoESubscriptionFailed: the call-record subscription could not be
	// created or renewed.
	QoESubscriptionFailed Type = "qoe.subscription.failed"
	// CustomerOffboarded: everything held for the customer was erased.
	CustomerOffboarded Type = "customer.offboarded"
	// VoiceAssigned: a voice operation set a user's voice (Data.User,
	// Data.Number, Data.Operation).
	VoiceAssigned Type = "voice.assigned"
	// VoiceReleased: a voice operation released a user's numbers and
	// voice policies.
	VoiceReleased Type = "voice.released"
	// VoiceFailed: a voice operation ended failed or partial (Data.State,
	// Data.Error).
	VoiceFailed Type = "voice.failed"
	// VoiceRangeLow: a number range fell to its low threshold of free
	// numbers (Data.Range, Data.Free, Data.Numbers), once per crossing.
	VoiceRangeLow Type = "voice.range.low"
	// VoiceRangeExhausted: a number range has no free number left
	// (Data.Range, Data.Numbers), once per crossing.
	VoiceRangeExhausted Type = "voice.range.exhausted"
	// VoiceJoiners: after a user sync, a voice profile's joiners were
	// provisioned (Data.Profile, Data.Users, Data.Operation: the apply),
	// or, with Data.DryRun, would have been.
	VoiceJoiners Type = "voice.joiners"
	// VoiceLeavers: after a user sync, the users holding numbers of a
	// voice profile who were disabled or deleted were released
	// (Data.Profile, Data.Users), or, with Data.DryRun, would have been.
	VoiceLeavers Type = "voice.leavers"
)

// Types lists every event type.
var Types = []Type{
	ConnectionConnected, ConnectionFailed, ConnectionRecovered, ConsentGranted, ConsentMissing,
	SecretExpiring, SecretExpired, SyncSucceeded, SyncFailed, QoESubscriptionFailed, CustomerOffboarded,
	VoiceAssigned, VoiceReleased, VoiceFailed, VoiceRangeLow, VoiceRangeExhausted,
	VoiceJoiners, VoiceLeavers,
}

// Valid reports whether t is one of Types.
func (t Type) Valid() bool {
	for _, k := range Types {
		if t == k {
			return true
		}
	}
	return false
}

// Credential names a credential whose expiry events report.
type Credential string

// The credentials with an expiry.
const (
	CredentialAppSecret      Credential = "appSecret"
	CredentialAppCertificate Credential = "appCertificate"
	CredentialQoESecret      Credential = "qoeSecret"
	CredentialRefreshToken   Credential = "refreshToken"
	// The provider app's own credentials (CheckProviderExpiry), reported
	// under the customer ProviderCustomer.
	CredentialProviderSecret      Credential = "providerSecret"
	CredentialProviderCertificate Credential = "providerCertificate"
)

// ProviderCustomer is the customer of the events about the provider's
// own app (its secret or certificate expiring): an internal name no
// customer can have.
const ProviderCustomer = "_tenantgate.provider"

// Data is an event's payload data. Customer is always set; the other
// fields depend on the type and are omitted when empty. No field ever
// holds a secret, a token or a link.
type Data struct {
	// Customer is the host's customer ID.
	Customer string `json:"customer"`
	// From and To are the connection states of a transition.
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Action is what a person must do (connection.failed,
	// consent.missing, secret.*), an m365access.Action.
	Action string `json:"action,omitempty"`
	// Error is a failure's message, scrubbed (see Scrub).
	Error string `json:"error,omitempty"`
	// Credential, ExpiresAt and DaysLeft describe secret.* events.
	Credential Credential `json:"credential,omitempty"`
	ExpiresAt  *time.Time `json:"expiresAt,omitempty"`
	DaysLeft   *int       `json:"daysLeft,omitempty"`
	// Roles are the permissions granted (consent.granted) or missing
	// (consent.missing).
	Roles []string `json:"roles,omitempty"`
	// Users, Added, Changed, Removed and DurationMS describe a sync.
	Users      *int   `json:"users,omitempty"`
	Added      *int   `json:"added,omitempty"`
	Changed    *int   `json:"changed,omitempty"`
	Removed    *int   `json:"removed,omitempty"`
	DurationMS *int64 `json:"durationMs,omitempty"`
	// Subscription is a Graph subscription ID (qoe.subscription.failed).
	Subscription string `json:"subscription,omitempty"`
	// Operation, User (a user principal name), Number (E.164) and State
	// (the operation's final state) describe voice.* events.
	Operation string `json:"operation,omitempty"`
	User      string `json:"user,omitempty"`
	Number    string `json:"number,omitempty"`
	State     string `json:"state,omitempty"`
	// Range names a number range; Free is how many of its numbers are
	// free and Numbers how many the tenant holds in it (voice.range.*).
	Range   string `json:"range,omitempty"`
	Free    *int   `json:"free,omitempty"`
	Numbers *int   `json:"numbers,omitempty"`
	// Profile names a voice profile and DryRun says nothing was changed
	// (voice.joiners, voice.leavers).
	Profile string `json:"profile,omitempty"`
	DryRun  bool   `json:"dryRun,omitempty"`
}

// Event is one thing that happened to a customer.
type Event struct {
	// ID is unique; webhooks send it as webhook-id. Emit sets it when
	// empty.
	ID string `json:"id"`
	// Type is the event's type.
	Type Type `json:"type"`
	// Time is when it happened; Emit sets it when zero.
	Time time.Time `json:"timestamp"`
	// Data is the payload; Data.Customer is required.
	Data Data `json:"data"`
	// Key deduplicates: of the events of one customer with the same Key,
	// only the first is emitted, by any replica sharing the database.
	// Empty means ID (no deduplication). Keys name what happened once,
	// such as "state/42" for version 42 of the connection status.
	Key string `json:"-"`
}

// payload is the webhook body: {"type", "timestamp", "data"}.
type payload struct {
	Type      Type      `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      Data      `json:"data"`
}

// Payload returns the event's webhook body.
func (e Event) Payload() ([]byte, error) {
	return json.Marshal(payload{Type: e.Type, Timestamp: e.Time.UTC(), Data: e.Data})
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewID returns a new random event ID ("msg_" and 26 characters).
func NewID() string {
	var b [16]byte
	randRead(b[:])
	return "msg_" + strings.ToLower(idEncoding.EncodeToString(b[:]))
}

func intp(n int) *int { return &n }

// randRead fills b from crypto/rand, which never fails.
func randRead(b []byte) { _, _ = rand.Read(b) }
