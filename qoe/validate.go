package qoe

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

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
// saved, the QoE app gets a token in the customer's tenant, Graph lets it
// list call records (CallRecords.Read.All) and, optionally, read the PSTN
// report (CallRecords.Read.PstnCalls): the token itself is never decoded,
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
	if _, err := s.cfg.Access.QoECredential(customer).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{ep.GraphScope()}}); err != nil {
		r.add(Check{Name: "token", Required: true, Detail: err.Error(), Action: tokenAction(err)})
		return r, nil
	}
	r.add(Check{Name: "token", OK: true, Required: true, Detail: "the QoE app got an app-only token in the customer's tenant"})
	// The token is opaque: what it may do is Graph's answer, never its
	// claims.
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC().Truncate(time.Second)
	calls, err := g.probe(ctx, "check "+RoleCallRecords, g.url("/communications/callRecords?$filter="+url.QueryEscape("startDateTime ge "+now.Format(time.RFC3339))))
	switch {
	case err != nil:
		r.add(Check{Name: "callRecordsRole", Required: true, Detail: "checking " + RoleCallRecords + " failed: " + err.Error(), Action: tokenAction(err)})
	case calls:
		r.add(Check{Name: "callRecordsRole", OK: true, Required: true, Detail: RoleCallRecords + " is granted (Graph lists call records)"})
	default:
		r.add(Check{Name: "callRecordsRole", Required: true, Detail: "Graph refuses to list call records (403): " + RoleCallRecords + " is not granted",
			Action: "Grant admin consent for the application permission " + RoleCallRecords + " to the QoE app in the customer's tenant"})
	}
	pstn, err := g.probe(ctx, "check "+RolePstnCalls, g.url("/communications/callRecords/getPstnCalls(fromDateTime="+now.Add(-time.Minute).Format(time.RFC3339)+",toDateTime="+now.Format(time.RFC3339)+")"))
	switch {
	case err != nil:
		r.add(Check{Name: "pstnRole", Detail: "checking " + RolePstnCalls + " failed: " + err.Error(), Action: tokenAction(err)})
	case pstn:
		r.add(Check{Name: "pstnRole", OK: true, Detail: RolePstnCalls + " is granted: PSTN reports are pulled daily"})
	default:
		r.add(Check{Name: "pstnRole", Detail: "Graph refuses the PSTN report (403): " + RolePstnCalls + " is not granted, so no PSTN reports",
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

// probe makes one Graph request that needs a permission: true when Graph
// answers it, false on 403 (not granted), an error otherwise. Access
// tokens are opaque: a permission is checked by what Graph allows.
func (g *graph) probe(ctx context.Context, op, rawURL string) (bool, error) {
	err := g.do(ctx, op, http.MethodGet, rawURL, nil, nil)
	var e *m365access.Error
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &e) && e.HTTPStatus == http.StatusForbidden:
		return false, nil
	default:
		return false, err
	}
}
