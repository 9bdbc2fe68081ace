package voice

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/internal/telemetry"
	"github.com/tenantgate/tenantgate/m365access"
)

// The Graph permissions each provisioning step needs (application
// and delegated alike).
const (
	permNumbersRead     = "TeamsTelephoneNumber.Read.All"
	permNumbersWrite    = m365access.PermissionVoiceNumbers
	permPolicyAssign    = m365access.PermissionVoicePolicies
	permLicenseAssign   = m365access.PermissionVoiceLicenses
	permTeamsUserConfig = m365access.TeamsPermission
)

// Permissions is the set of Graph permissions voice uses beyond the
// read-only m365access.DefaultAppPermissions: number assignment,
// voice policy assignment and license assignment. Add them to
// ProviderConfig.AppPermissions (or the delegated scopes) of a provider
// that provisions Teams Phone; m365access.VoicePermissions is the same
// set.
var Permissions = m365access.VoicePermissions

// maxGraphBody bounds a Graph answer read into memory.
const maxGraphBody = 16 << 20

// numbersPage is the page size of inventory reads ($top, Graph's most).
const numbersPage = 1000

// maxPages bounds one listing.
const maxPages = 10_000

const numbersPath = "/admin/teams/telephoneNumberManagement/numberAssignments"

// graph calls Microsoft Graph v1.0 for one customer, with the customer's
// token connection or app registration (m365access.Manager.Credential).
type graph struct {
	s        *Service
	customer string
	ep       m365access.CloudEndpoints
}

func (s *Service) graphFor(ctx context.Context, customer string) (*graph, error) {
	st, err := s.cfg.Access.GetSettings(ctx, customer)
	if err != nil {
		return nil, err
	}
	if st.Cloud != "" && st.Cloud != m365access.CloudGlobal {
		return nil, &Error{Code: CodeUnsupportedCloud, Detail: "Microsoft Graph's Teams Phone provisioning exists in the global service only, not in " + string(st.Cloud) + "; use Teams PowerShell for this customer"}
	}
	ep, err := s.cfg.Access.Endpoints(ctx, customer)
	if err != nil {
		return nil, err
	}
	return &graph{s: s, customer: customer, ep: ep}, nil
}

func (g *graph) url(path string) string { return g.ep.GraphEndpoint + "/v1.0" + path }

// host is the Graph endpoint's host name, without a port.
func (g *graph) host() string {
	if u, err := url.Parse(g.ep.GraphEndpoint); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return g.ep.GraphHost()
}

// response is what do keeps of an answer besides its body.
type response struct {
	status   int
	location string
	retry    time.Duration
}

// do sends one request (body as JSON when not nil) and decodes a 2xx
// answer into out (when not nil). perm names the permission the request
// needs: a 403 becomes a *Error with CodePermissionMissing naming it.
// Other failures are *m365access.Error.
func (g *graph) do(ctx context.Context, op, perm, method, rawURL string, body, out any) (response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return response{}, err
		}
		rd = bytes.NewReader(b)
	}
	ctx = telemetry.WithCustomer(ctx, g.customer)
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return response{}, fmt.Errorf("voice: %s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if err := graphhttp.Authorize(ctx, req, g.s.cfg.Access.Credential(g.customer), []string{g.ep.GraphScope()}, []string{g.host()}); err != nil {
		return response{}, fmt.Errorf("voice: %s for customer %q: %w", op, g.customer, err)
	}
	g.s.stats.requests.Add(1)
	if method != http.MethodGet {
		g.s.stats.writes.Add(1)
	}
	resp, err := g.s.http.Load().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, ctx.Err()
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL may carry a filter; the cause is enough
		}
		return response{}, &m365access.Error{Op: op, Customer: g.customer, Retryable: true, Err: err}
	}
	defer resp.Body.Close()
	r := response{status: resp.StatusCode, location: resp.Header.Get("Location")}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s > 0 {
		r.retry = time.Duration(s) * time.Second
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, graphhttp.MaxErrorBody))
		ge := m365access.ParseGraphError(op, g.customer, resp.StatusCode, resp.Header, b)
		if resp.StatusCode == http.StatusForbidden && perm != "" {
			return r, &Error{Code: CodePermissionMissing, Action: ActionGrantConsent, Permissions: []string{perm},
				Detail: "Microsoft Graph refused to " + op + ": the customer has not granted " + perm + " to the provider's app; grant consent again with it", Err: ge}
		}
		return r, ge
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, graphhttp.MaxErrorBody))
		return r, nil
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphBody+1))
	if err != nil {
		return r, &m365access.Error{Op: op, Customer: g.customer, HTTPStatus: resp.StatusCode, Retryable: true, Err: err}
	}
	if len(b) > maxGraphBody {
		return r, &m365access.Error{Op: op, Customer: g.customer, HTTPStatus: resp.StatusCode, Err: errors.New("the answer is larger than 16 MiB")}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return r, &m365access.Error{Op: op, Customer: g.customer, HTTPStatus: resp.StatusCode, Err: fmt.Errorf("decode the answer: %w", err)}
	}
	return r, nil
}

// graphStatus returns the HTTP status of a Graph failure, 0 if err is none.
func graphStatus(err error) int {
	var e *m365access.Error
	if errors.As(err, &e) {
		return e.HTTPStatus
	}
	return 0
}

// graphDetail is Microsoft's code and message of a Graph failure, for the
// operation's step detail (never a token: Graph's messages hold none).
func graphDetail(err error) string {
	var e *m365access.Error
	if errors.As(err, &e) && e.HTTPStatus != 0 {
		d := "HTTP " + strconv.Itoa(e.HTTPStatus)
		if e.GraphCode != "" {
			d += " " + e.GraphCode
		}
		if e.Description != "" {
			d += ": " + e.Description
		}
		return d
	}
	if ve, ok := AsError(err); ok {
		return ve.Detail
	}
	return err.Error()
}

// retryable reports a failure a later attempt may not meet.
func retryable(err error) bool {
	var e *m365access.Error
	if errors.As(err, &e) {
		return e.Retryable || e.HTTPStatus == http.StatusTooManyRequests || e.HTTPStatus >= 500
	}
	return false
}

// checkNext accepts a nextLink only on the customer's Graph host.
func (g *graph) checkNext(link string) error {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || !strings.EqualFold(u.Host, strings.TrimPrefix(g.ep.GraphEndpoint, "https://")) {
		return fmt.Errorf("voice: a nextLink or operation Location left the Graph host %s", g.host())
	}
	return nil
}

// graphNumber is a numberAssignment.
type graphNumber struct {
	ID                 string   `json:"id"`
	TelephoneNumber    string   `json:"telephoneNumber"`
	NumberType         string   `json:"numberType"`
	ActivationState    string   `json:"activationState"`
	AssignmentStatus   string   `json:"assignmentStatus"`
	AssignmentTargetID string   `json:"assignmentTargetId"`
	AssignmentCategory string   `json:"assignmentCategory"`
	LocationID         string   `json:"locationId"`
	IsoCountryCode     string   `json:"isoCountryCode"`
	City               string   `json:"city"`
	Capabilities       []string `json:"capabilities"`
}

// listNumbers reads the numberAssignments matching filter ("" for all),
// page by page ($top 1,000): it follows @odata.nextLink when Graph sends
// one, else asks the next $skip while pages come full. fn gets each page.
func (g *graph) listNumbers(ctx context.Context, filter string, fn func([]graphNumber) error) error {
	q := url.Values{}
	q.Set("$top", strconv.Itoa(numbersPage))
	if filter != "" {
		q.Set("$filter", filter)
	}
	base := g.url(numbersPath)
	next := base + "?" + q.Encode()
	skip := 0
	for pages := 0; next != ""; pages++ {
		if pages >= maxPages {
			return fmt.Errorf("voice: the number inventory of customer %q has more than %d pages", g.customer, maxPages)
		}
		var page struct {
			Value    []graphNumber `json:"value"`
			NextLink string        `json:"@odata.nextLink"`
		}
		if _, err := g.do(ctx, "list telephone numbers", permNumbersRead, http.MethodGet, next, nil, &page); err != nil {
			return err
		}
		if err := fn(page.Value); err != nil {
			return err
		}
		switch {
		case page.NextLink != "":
			if err := g.checkNext(page.NextLink); err != nil {
				return err
			}
			next = page.NextLink
		case len(page.Value) >= numbersPage:
			skip += len(page.Value)
			q.Set("$skip", strconv.Itoa(skip))
			next = base + "?" + q.Encode()
		default:
			next = ""
		}
	}
	return nil
}

// numbersWhere returns every numberAssignment matching filter.
func (g *graph) numbersWhere(ctx context.Context, filter string) ([]graphNumber, error) {
	var out []graphNumber
	err := g.listNumbers(ctx, filter, func(p []graphNumber) error { out = append(out, p...); return nil })
	return out, err
}

// odataString quotes s as an OData string literal.
func odataString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// number reads one number's assignment; ok is false when the tenant has
// no such number.
func (g *graph) number(ctx context.Context, number string) (graphNumber, bool, error) {
	ns, err := g.numbersWhere(ctx, "telephoneNumber eq "+odataString(number))
	if err != nil || len(ns) == 0 {
		return graphNumber{}, false, err
	}
	return ns[0], true, nil
}

// userNumbers reads the numbers assigned to the user with object ID id.
func (g *graph) userNumbers(ctx context.Context, id string) ([]graphNumber, error) {
	return g.numbersWhere(ctx, "assignmentTargetId eq "+odataString(id))
}

// numberAction posts assignNumber or unassignNumber and returns the
// operation's Location (and Retry-After, when sent).
func (g *graph) numberAction(ctx context.Context, action string, body any) (string, time.Duration, error) {
	r, err := g.do(ctx, action, permNumbersWrite, http.MethodPost, g.url(numbersPath+"/"+action), body, nil)
	if err != nil {
		return "", 0, err
	}
	if r.location == "" {
		if r.status == http.StatusOK || r.status == http.StatusNoContent {
			return "", 0, nil // done at once
		}
		return "", 0, &m365access.Error{Op: action, Customer: g.customer, HTTPStatus: r.status, Err: errors.New("202 Accepted without a Location")}
	}
	if err := g.checkNext(r.location); err != nil {
		return "", 0, err
	}
	return r.location, r.retry, nil
}

// numberOperation is a long-running telephone number operation.
type numberOperation struct {
	ID      string `json:"id"`
	Status  string `json:"status"`
	Numbers []struct {
		ResourceLocation string `json:"resourceLocation"`
		Status           string `json:"status"`
		StatusDetail     string `json:"statusDetail"`
	} `json:"numbers"`
}

// detail is the operation's numbers' status details.
func (o numberOperation) detail() string {
	var ds []string
	for _, n := range o.Numbers {
		if n.StatusDetail != "" {
			ds = append(ds, n.StatusDetail)
		}
	}
	return strings.Join(ds, "; ")
}

func (g *graph) operation(ctx context.Context, location string) (numberOperation, time.Duration, error) {
	var op numberOperation
	r, err := g.do(ctx, "follow a telephone number operation", permNumbersRead, http.MethodGet, location, nil, &op)
	return op, r.retry, err
}

// graphUser is the Entra user as voice needs it.
type graphUser struct {
	ID                string `json:"id"`
	UserPrincipalName string `json:"userPrincipalName"`
	AccountEnabled    *bool  `json:"accountEnabled"`
	UsageLocation     string `json:"usageLocation"`
	AssignedLicenses  []struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	} `json:"assignedLicenses"`
}

// user reads a user by object ID or UPN; ok is false when there is none.
func (g *graph) user(ctx context.Context, key string) (graphUser, bool, error) {
	var u graphUser
	_, err := g.do(ctx, "read a user", "", http.MethodGet,
		g.url("/users/"+url.PathEscape(key)+"?$select=id,userPrincipalName,accountEnabled,usageLocation,assignedLicenses"), nil, &u)
	if graphStatus(err) == http.StatusNotFound {
		return graphUser{}, false, nil
	}
	return u, err == nil, err
}

// teamsConfig is a teamsUserConfiguration.
type teamsConfig struct {
	ID                       string   `json:"id"`
	IsEnterpriseVoiceEnabled bool     `json:"isEnterpriseVoiceEnabled"`
	FeatureTypes             []string `json:"featureTypes"`
	TelephoneNumbers         []struct {
		TelephoneNumber    string `json:"telephoneNumber"`
		AssignmentCategory string `json:"assignmentCategory"`
	} `json:"telephoneNumbers"`
	EffectivePolicyAssignments []struct {
		PolicyType       string `json:"policyType"`
		PolicyAssignment struct {
			DisplayName    string `json:"displayName"`
			AssignmentType string `json:"assignmentType"`
			PolicyID       string `json:"policyId"`
			GroupID        string `json:"groupId"`
		} `json:"policyAssignment"`
	} `json:"effectivePolicyAssignments"`
}

// policy returns the effective policy of type t: its name ("" for
// Global) and whether it is a direct assignment.
func (c teamsConfig) policy(t string) (name string, direct bool) {
	for _, p := range c.EffectivePolicyAssignments {
		if strings.EqualFold(p.PolicyType, t) {
			if strings.EqualFold(p.PolicyAssignment.DisplayName, "Global") {
				return "", false
			}
			return p.PolicyAssignment.DisplayName, strings.EqualFold(p.PolicyAssignment.AssignmentType, "direct")
		}
	}
	return "", false
}

func (g *graph) teamsConfig(ctx context.Context, id string) (teamsConfig, bool, error) {
	var c teamsConfig
	_, err := g.do(ctx, "read a Teams user configuration", permTeamsUserConfig, http.MethodGet,
		g.url("/admin/teams/userConfigurations/"+url.PathEscape(id)), nil, &c)
	if graphStatus(err) == http.StatusNotFound {
		return teamsConfig{}, false, nil
	}
	return c, err == nil, err
}

// sku is a subscribedSku.
type sku struct {
	SkuID         string `json:"skuId"`
	SkuPartNumber string `json:"skuPartNumber"`
	ConsumedUnits int    `json:"consumedUnits"`
	PrepaidUnits  struct {
		Enabled int `json:"enabled"`
	} `json:"prepaidUnits"`
	ServicePlans []struct {
		ServicePlanName string `json:"servicePlanName"`
	} `json:"servicePlans"`
}

// free is how many units are not consumed.
func (k sku) free() int { return k.PrepaidUnits.Enabled - k.ConsumedUnits }

// provides reports whether the SKU carries the service plan (or is it).
func (k sku) provides(plan string) bool {
	if strings.EqualFold(k.SkuPartNumber, plan) {
		return true
	}
	for _, p := range k.ServicePlans {
		if strings.EqualFold(p.ServicePlanName, plan) {
			return true
		}
	}
	return false
}

func (g *graph) skus(ctx context.Context) ([]sku, error) {
	var page struct {
		Value []sku `json:"value"`
	}
	_, err := g.do(ctx, "read the subscribed SKUs", permLicenseAssign, http.MethodGet,
		g.url("/subscribedSkus?$select=skuId,skuPartNumber,consumedUnits,prepaidUnits,servicePlans"), nil, &page)
	return page.Value, err
}

func (g *graph) assignLicense(ctx context.Context, userID string, add, remove []string) error {
	type addLicense struct {
		SkuID         string   `json:"skuId"`
		DisabledPlans []string `json:"disabledPlans"`
	}
	body := struct {
		Add    []addLicense `json:"addLicenses"`
		Remove []string     `json:"removeLicenses"`
	}{Add: []addLicense{}, Remove: []string{}}
	for _, id := range add {
		body.Add = append(body.Add, addLicense{SkuID: id, DisabledPlans: []string{}})
	}
	body.Remove = append(body.Remove, remove...)
	_, err := g.do(ctx, "assign licenses", permLicenseAssign, http.MethodPost, g.url("/users/"+url.PathEscape(userID)+"/assignLicense"), body, nil)
	return err
}

// policyID resolves a policy name to its ID with getPolicyId; ok is
// false when the tenant has no such policy.
func (g *graph) policyID(ctx context.Context, policyType, name string) (string, bool, error) {
	var page struct {
		Value []struct {
			Name     string `json:"name"`
			PolicyID string `json:"policyId"`
		} `json:"value"`
	}
	path := "/admin/teams/policy/getPolicyId(type=" + odataString(policyType) + ",name=" + odataString(name) + ")"
	_, err := g.do(ctx, "resolve a policy name", permPolicyAssign, http.MethodGet, g.url(escapePath(path)), nil, &page)
	switch {
	case graphStatus(err) == http.StatusNotFound:
		return "", false, nil
	case graphStatus(err) == http.StatusBadRequest:
		return "", false, &Error{Code: CodePolicyTypeRefused, Field: "/policies/" + policyType, Detail: "Microsoft Graph refused the policy type " + policyType + ": " + graphDetail(err), Err: err}
	case err != nil:
		return "", false, err
	}
	for _, p := range page.Value {
		if p.PolicyID != "" {
			return p.PolicyID, true, nil
		}
	}
	return "", false, nil
}

// escapePath escapes a path's characters that cannot stand in a URL
// (spaces in policy names) and keeps OData's ( ) ' , = as they are.
func escapePath(p string) string {
	return (&url.URL{Path: p}).EscapedPath()
}

// policyPair is one user-policy pair of userAssignments/assign or
// unassign.
type policyPair struct {
	UserID     string `json:"userId"`
	PolicyType string `json:"policyType"`
	PolicyID   string `json:"policyId,omitempty"`
}

// assignPolicies posts pairs to userAssignments/assign (or unassign).
func (g *graph) assignPolicies(ctx context.Context, action string, pairs []policyPair) error {
	if len(pairs) == 0 {
		return nil
	}
	_, err := g.do(ctx, action+" policies", permPolicyAssign, http.MethodPost,
		g.url("/admin/teams/policy/userAssignments/"+action), map[string]any{"value": pairs}, nil)
	if graphStatus(err) == http.StatusBadRequest {
		types := make([]string, len(pairs))
		for i, p := range pairs {
			types[i] = p.PolicyType
		}
		return &Error{Code: CodePolicyTypeRefused, Field: "/policies", Detail: "Microsoft Graph refused to " + action + " " + strings.Join(types, ", ") + ": " + graphDetail(err), Err: err}
	}
	return err
}
