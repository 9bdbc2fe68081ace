package qoe

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantgate/tenantgate/m365access"
)

// The application permissions the QoE app needs.
const (
	RoleCallRecords = "CallRecords.Read.All"
	RolePstnCalls   = "CallRecords.Read.PstnCalls"
)

// Check is one step of a QoE validation.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	// Required checks decide Report.OK; the PSTN role is optional.
	Required bool   `json:"required"`
	Detail   string `json:"detail"`
	// Action is what a person must do when the check failed.
	Action string `json:"action,omitempty"`
}

// Report is the result of Validate.
type Report struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

func (r *Report) add(c Check) {
	r.Checks = append(r.Checks, c)
	if c.Required && !c.OK {
		r.OK = false
	}
}

// Validate checks customer's QoE integration: the QoE settings are
// saved, the QoE app gets a token in the customer's tenant, the token
// holds CallRecords.Read.All (and, optionally, CallRecords.Read.PstnCalls),
// and the subscription is active and known to Graph. Each failed check
// says which action fixes it. Only an unreadable store is an error.
func (s *Service) Validate(ctx context.Context, customer string) (*Report, error) {
	r := &Report{OK: true}
	appID, ok, err := s.qoeConfigured(ctx, customer)
	if err != nil {
		return nil, err
	}
	if !ok {
		r.add(Check{Name: "settings", Required: true, Detail: "no QoE app ID and client secret are saved",
			Action: "Save the QoE app's ID and client secret in the QoE integration settings"})
		return r, nil
	}
	r.add(Check{Name: "settings", OK: true, Required: true, Detail: "QoE app " + appID})
	ep, err := s.cfg.Access.Endpoints(ctx, customer)
	if err != nil {
		return nil, err
	}
	tok, err := s.cfg.Access.QoECredential(customer).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{ep.GraphScope()}})
	if err != nil {
		r.add(Check{Name: "token", Required: true, Detail: err.Error(), Action: tokenAction(err)})
		return r, nil
	}
	r.add(Check{Name: "token", OK: true, Required: true, Detail: "the QoE app got an app-only token in the customer's tenant"})
	roles := tokenRoles(tok.Token)
	if slices.Contains(roles, RoleCallRecords) {
		r.add(Check{Name: "callRecordsRole", OK: true, Required: true, Detail: RoleCallRecords + " is granted"})
	} else {
		r.add(Check{Name: "callRecordsRole", Required: true, Detail: "the token lacks " + RoleCallRecords + " (roles: " + strings.Join(roles, ", ") + ")",
			Action: "Grant admin consent for the application permission " + RoleCallRecords + " to the QoE app in the customer's tenant"})
	}
	if slices.Contains(roles, RolePstnCalls) {
		r.add(Check{Name: "pstnRole", OK: true, Detail: RolePstnCalls + " is granted: PSTN reports are pulled daily"})
	} else {
		r.add(Check{Name: "pstnRole", Detail: "the token lacks " + RolePstnCalls + ": no PSTN reports",
			Action: "Grant admin consent for " + RolePstnCalls + " to the QoE app to get Direct Routing and Calling Plan reports"})
	}
	st, err := s.Status(ctx, customer)
	if err != nil {
		return nil, err
	}
	sub := Check{Name: "subscription", Required: true}
	switch st.State {
	case StateActive, StateExpiring:
		g, err := s.graphFor(ctx, customer)
		if err == nil {
			_, err = g.getSubscription(ctx, st.SubscriptionID)
		}
		if err != nil {
			sub.Detail = "Graph does not confirm the subscription: " + err.Error()
			sub.Action = "Save the QoE settings again to recreate the subscription (the next renewal pass also does)"
		} else {
			sub.OK = true
			sub.Detail = "subscription " + st.SubscriptionID + " is " + string(st.State) + " until " + st.ExpiresAt.Format("2006-01-02 15:04 MST")
		}
	case StateFailed:
		sub.Detail = "the last create or renewal failed: " + st.LastError
		sub.Action = "Fix the cause above; the next renewal pass retries (or save the QoE settings again)"
	default:
		sub.Detail = "no active subscription (" + string(st.State) + ")"
		sub.Action = "Save the QoE settings again to create the subscription (the next renewal pass also does)"
	}
	r.add(sub)
	return r, nil
}

func tokenAction(err error) string {
	var e *m365access.Error
	if errors.As(err, &e) && e.Action != "" {
		return string(e.Action)
	}
	var fe *m365access.FlowError
	if errors.As(err, &fe) {
		return "Check the QoE app ID, its client secret and the customer's tenant"
	}
	return "Check the QoE app ID and its client secret (not expired), then validate again"
}

// tokenRoles reads the roles claim of a JWT access token without
// verifying it (Graph verifies; this only reports).
func tokenRoles(tok string) []string {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var claims struct {
		Roles []string `json:"roles"`
	}
	if json.Unmarshal(b, &claims) != nil {
		return nil
	}
	return claims.Roles
}
