package m365test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// TeamsUserConfiguration is a user's Teams Phone System configuration as
// Graph's /admin/teams/userConfigurations serves it (teamsUserConfiguration).
type TeamsUserConfiguration struct {
	ID                         string                  `json:"id"`
	UserPrincipalName          string                  `json:"userPrincipalName"`
	TenantID                   string                  `json:"tenantId"`
	AccountType                string                  `json:"accountType"`
	IsEnterpriseVoiceEnabled   bool                    `json:"isEnterpriseVoiceEnabled"`
	FeatureTypes               []string                `json:"featureTypes"`
	TelephoneNumbers           []TeamsTelephoneNumber  `json:"telephoneNumbers"`
	EffectivePolicyAssignments []TeamsPolicyAssignment `json:"effectivePolicyAssignments"`
	CreatedDateTime            time.Time               `json:"createdDateTime"`
	ModifiedDateTime           time.Time               `json:"modifiedDateTime"`
}

// TeamsTelephoneNumber is one number assigned to a Teams user.
type TeamsTelephoneNumber struct {
	TelephoneNumber    string `json:"telephoneNumber"`
	AssignmentCategory string `json:"assignmentCategory"` // primary, private, alternate
}

// TeamsPolicyAssignment is one effective policy of a Teams user.
type TeamsPolicyAssignment struct {
	PolicyType       string           `json:"policyType"`
	PolicyAssignment PolicyAssignment `json:"policyAssignment"`
}

// PolicyAssignment says which policy applies and how it was assigned.
type PolicyAssignment struct {
	DisplayName    string `json:"displayName"`
	AssignmentType string `json:"assignmentType"` // direct, group
	PolicyID       string `json:"policyId"`
	GroupID        string `json:"groupId,omitempty"`
}

// numberPrefixes are the telephone number prefixes by i % 10, in the
// order of the demo data's locations.
var numberPrefixes = [10]string{"+1206", "+4420", "+4930", "+331", "+3902", "+3491", "+3120", "+468", "+4822", "+813"}

// Shared parts of generated configurations, by variant: read-only, so a
// listing allocates only each voice user's number.
var (
	teamsNoNumbers  = []TeamsTelephoneNumber{}
	teamsNoPolicies = []TeamsPolicyAssignment{}
	// teamsPolicies[loc][0] are the policies of odd (Calling Plan) voice
	// users of location loc, [1] those of even (Direct Routing) ones.
	teamsPolicies = func() (out [10][2][]TeamsPolicyAssignment) {
		for loc, ul := range demoUsages {
			base := []TeamsPolicyAssignment{policyOf("TeamsCallingPolicy", "AllowCalling"), policyOf("TenantDialPlan", "DP-"+ul)}
			out[loc][0] = base
			out[loc][1] = append(slices.Clone(base), policyOf("OnlineVoiceRoutingPolicy", "VRP-"+ul))
		}
		return out
	}()
)

// demoUsages are the usage locations by i % 10.
var demoUsages = [10]string{"US", "GB", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "JP"}

// generatedTeams builds the demo configuration of generated user i (or of
// the Global Admin for i < 0) without its id and userPrincipalName, from
// the demo licenses, number and policies (voice.go): users with
// i % 3 == 0 are voice-enabled; odd voice users have a Calling Plan, even
// ones Direct Routing with an OnlineVoiceRoutingPolicy. Its slices are
// shared: clone before changing them.
func generatedTeams(tenantID string, i int) TeamsUserConfiguration {
	var c TeamsUserConfiguration
	if i < 0 {
		c = teamsAdminTemplate
	} else {
		c = teamsTemplates[i%10][teamsVariant(i)]
	}
	c.TenantID = tenantID
	if i >= 0 && i%3 == 0 {
		c.TelephoneNumbers = []TeamsTelephoneNumber{{TelephoneNumber: numberAt(i), AssignmentCategory: "primary"}}
	}
	return c
}

// teamsVariant is 0 for users who are not voice-enabled, 1 for Calling
// Plan voice users (odd i), 2 for Direct Routing ones (even i): the demo
// state of user i (defaultVoice) depends only on i % 10 and this.
func teamsVariant(i int) int {
	switch {
	case i%3 != 0:
		return 0
	case i%2 == 1:
		return 1
	}
	return 2
}

// teamsTemplates[loc][variant] and teamsAdminTemplate are the demo
// configurations without identity, tenant and number, derived once from
// the demo licenses and policies (teamsFrom of defaultVoice), so that a
// listing of 50,000 users derives nothing per user.
var teamsTemplates, teamsAdminTemplate = func() (out [10][3]TeamsUserConfiguration, admin TeamsUserConfiguration) {
	for i := 0; i < 60; i++ {
		u := defaultVoice(i)
		out[i%10][teamsVariant(i)] = teamsFrom("", i, &u, teamsNoNumbers)
	}
	u := defaultVoice(-1)
	return out, teamsFrom("", -1, &u, teamsNoNumbers)
}()

// teamsAt returns the configuration of the user at listing position pos
// (0 is the Global Admin, pos k+1 generated user k); ok is false for a
// user whose configuration was removed.
func (t *Tenant) teamsAt(pos int, withIdentity bool) (TeamsUserConfiguration, bool) {
	i := pos - 1
	t.teamsMu.RLock()
	o, ok := t.teams[i]
	t.teamsMu.RUnlock()
	if ok {
		if o == nil {
			return TeamsUserConfiguration{}, false
		}
		return cloneTeams(*o), true
	}
	c := t.voiceTeams(i, t.now)
	if withIdentity {
		c.ID, c.UserPrincipalName = t.dir.IdentityAt(i)
	}
	return c, true
}

func cloneTeams(c TeamsUserConfiguration) TeamsUserConfiguration {
	c.FeatureTypes = slices.Clone(c.FeatureTypes)
	c.TelephoneNumbers = slices.Clone(c.TelephoneNumbers)
	c.EffectivePolicyAssignments = slices.Clone(c.EffectivePolicyAssignments)
	return c
}

// TeamsUserConfiguration returns the Teams configuration of the tenant's
// user idOrUPN (object ID or user principal name), as Graph serves it.
func (s *Server) TeamsUserConfiguration(tenant, idOrUPN string) (TeamsUserConfiguration, error) {
	t, u, err := s.teamsUser("TeamsUserConfiguration", tenant, idOrUPN)
	if err != nil {
		return TeamsUserConfiguration{}, err
	}
	t.settleOps()
	c, ok := t.teamsAt(u.Index+1, true)
	if !ok {
		return TeamsUserConfiguration{}, fmt.Errorf("m365test: TeamsUserConfiguration: user %q has no Teams configuration", idOrUPN)
	}
	return cloneTeams(c), nil
}

// SetTeamsUserConfiguration replaces the Teams configuration of the
// tenant's user idOrUPN, as an admin changing numbers or policies in the
// Teams admin center does; nil removes it (the user then has none, and
// GET by ID answers 404). The id, userPrincipalName and tenantId are the
// user's whatever c says; modifiedDateTime becomes the server's time.
func (s *Server) SetTeamsUserConfiguration(tenant, idOrUPN string, c *TeamsUserConfiguration) error {
	t, u, err := s.teamsUser("SetTeamsUserConfiguration", tenant, idOrUPN)
	if err != nil {
		return err
	}
	t.teamsMu.Lock()
	defer t.teamsMu.Unlock()
	if c == nil {
		t.teams[u.Index] = nil
		return nil
	}
	cc := cloneTeams(*c)
	cc.ID, cc.UserPrincipalName, cc.TenantID = u.ID, u.UserPrincipalName, t.ID
	if cc.CreatedDateTime.IsZero() {
		cc.CreatedDateTime = teamsCreated
	}
	cc.ModifiedDateTime = s.Now().UTC()
	if cc.FeatureTypes == nil {
		cc.FeatureTypes = []string{}
	}
	if cc.TelephoneNumbers == nil {
		cc.TelephoneNumbers = []TeamsTelephoneNumber{}
	}
	if cc.EffectivePolicyAssignments == nil {
		cc.EffectivePolicyAssignments = []TeamsPolicyAssignment{}
	}
	t.teams[u.Index] = &cc
	return nil
}

func (s *Server) teamsUser(op, tenant, idOrUPN string) (*Tenant, directory.User, error) {
	t, ok := s.Tenant(tenant)
	if !ok {
		return nil, directory.User{}, fmt.Errorf("m365test: %s: unknown tenant %q", op, tenant)
	}
	u, ok := t.dir.User(idOrUPN)
	if !ok {
		return nil, directory.User{}, fmt.Errorf("m365test: %s: no user %q in tenant %s", op, idOrUPN, t.ID)
	}
	return t, u, nil
}

var permTeamsConfig = perms{
	delegated: []string{"TeamsUserConfiguration.Read.All"},
	app:       []string{"TeamsUserConfiguration.Read.All"},
}

// Page sizes of GET /admin/teams/userConfigurations. Microsoft documents
// none: the fake assumes Graph's common default of 100 and a $top of at
// most 999, like /users.
const (
	TeamsDefaultTop = 100
	TeamsMaxTop     = 999
)

// teamsProps are the teamsUserConfiguration properties, for $select.
var teamsProps = []string{"id", "userPrincipalName", "tenantId", "accountType", "isEnterpriseVoiceEnabled",
	"featureTypes", "telephoneNumbers", "effectivePolicyAssignments", "createdDateTime", "modifiedDateTime"}

// teamsPageScratch is the memory one userConfigurations page is rendered
// in, reused across requests: the fake renders every page of a 50,000-user
// listing, and allocating it anew made the fake's garbage collection a
// large part of a benchmark's CPU.
type teamsPageScratch struct {
	page []TeamsUserConfiguration
	out  []byte
}

var teamsScratch sync.Pool // *teamsPageScratch

// handleTeamsConfigs is GET /v1.0/admin/teams/userConfigurations.
//
// The $filter subset it accepts is an assumption (Graph documents no
// per-property filter support): terms joined by "and", each one of
// isEnterpriseVoiceEnabled eq true|false, accountType eq '...' and
// featureTypes/any(x:x eq '...'). Anything else is 400 BadRequest, as
// Graph answers a filter it does not support.
func (s *Server) handleTeamsConfigs(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permTeamsConfig)
	if !ok {
		return
	}
	p.tenant.settleOps()
	qv := r.URL.Query()
	bad := func(msg string) {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: msg})
	}
	for k := range qv {
		switch k {
		case "$top", "$select", "$filter", "$skiptoken", "$expand", "$orderby":
		default:
			if strings.HasPrefix(k, "$") {
				bad(fmt.Sprintf("Query option '%s' is not supported on userConfigurations.", k))
				return
			}
		}
	}
	top := TeamsDefaultTop
	if v := qv.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > TeamsMaxTop {
			bad(fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, TeamsMaxTop))
			return
		}
		top = n
	}
	sel, err := parseTeamsSelect(qv.Get("$select"))
	if err != nil {
		bad(err.Error())
		return
	}
	expand, err := parseTeamsExpand(qv.Get("$expand"))
	if err != nil {
		bad(err.Error())
		return
	}
	order, desc, err := parseTeamsOrderBy(qv.Get("$orderby"))
	if err != nil {
		bad(err.Error())
		return
	}
	f := qv.Get("$filter")
	match, err := parseTeamsFilter(f)
	if err != nil {
		bad("Invalid filter clause: " + err.Error())
		return
	}
	t := p.tenant
	if order != "" {
		s.teamsOrdered(w, r, t, qv, top, sel, expand, match, order, desc)
		return
	}
	start := 0
	if tok := qv.Get("$skiptoken"); tok != "" {
		if start, ok = t.decodeTeamsToken(tok, f); !ok {
			bad("The $skiptoken is not valid for this query: send the @odata.nextLink back unchanged.")
			return
		}
	}
	total := t.dir.Positions()
	sc, _ := teamsScratch.Get().(*teamsPageScratch)
	if sc == nil {
		sc = &teamsPageScratch{}
	}
	defer teamsScratch.Put(sc)
	page := sc.page[:0]
	defer func() { clear(page); sc.page = page[:0] }()
	next := 0
	for pos := start; pos < total; pos++ {
		if t.dir.Deleted(pos - 1) {
			continue // a deleted user's configuration goes with it
		}
		cfg, ok := t.teamsAt(pos, false)
		if !ok || !match(&cfg) {
			continue
		}
		if len(page) == top {
			next = pos
			break
		}
		if cfg.ID == "" {
			cfg.ID, cfg.UserPrincipalName = t.dir.IdentityAt(pos - 1)
		}
		page = append(page, cfg)
	}
	out := slices.Grow(sc.out[:0], 256+len(page)*600)
	defer func() { sc.out = out[:0] }()
	out = append(out, `{"@odata.context":`...)
	out = appendJSONString(out, graphContext+"admin/teams/userConfigurations")
	if next > 0 {
		nq := url.Values{}
		for k, v := range qv {
			nq[k] = v
		}
		nq.Set("$skiptoken", t.encodeTeamsToken(next, f))
		out = append(out, `,"@odata.nextLink":`...)
		out = appendJSONString(out, "https://"+r.Host+"/v1.0/admin/teams/userConfigurations?"+nq.Encode())
	}
	out = append(out, `,"value":[`...)
	for i := range page {
		if i > 0 {
			out = append(out, ',')
		}
		out = t.appendTeamsExpanded(out, &page[i], sel, expand)
	}
	out = append(out, "]}"...)
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// handleTeamsConfig is GET /v1.0/admin/teams/userConfigurations/{id}.
func (s *Server) handleTeamsConfig(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permTeamsConfig)
	if !ok {
		return
	}
	p.tenant.settleOps()
	sel, err := parseTeamsSelect(r.URL.Query().Get("$select"))
	if err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: err.Error()})
		return
	}
	expand, err := parseTeamsExpand(r.URL.Query().Get("$expand"))
	if err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: err.Error()})
		return
	}
	id := r.PathValue("id")
	t := p.tenant
	u, found := t.dir.User(id)
	var cfg TeamsUserConfiguration
	if found {
		cfg, found = t.teamsAt(u.Index+1, true)
	}
	if !found {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "NotFound",
			msg: fmt.Sprintf("The Teams user configuration for '%s' was not found.", id)})
		return
	}
	out := []byte(`{"@odata.context":`)
	out = appendJSONString(out, graphContext+"admin/teams/userConfigurations/$entity")
	out = append(out, ',')
	body := t.appendTeamsExpanded(nil, &cfg, sel, expand)
	out = append(out, body[1:]...)
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// parseTeamsExpand parses $expand: "user" (the teamsUserConfiguration's
// one navigation property; the list and get references list $expand).
func parseTeamsExpand(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return false, nil
	case "user":
		return true, nil
	}
	//lint:ignore ST1005 Graph's own message shape
	return false, fmt.Errorf("Could not find a navigation property named '%s' on type 'microsoft.graph.teamsAdministration.teamsUserConfiguration'.", v)
}

// parseTeamsOrderBy parses $orderby: one of userPrincipalName, id,
// accountType, createdDateTime, modifiedDateTime with asc or desc (the
// list reference names $orderby, not the properties: an assumption).
func parseTeamsOrderBy(v string) (prop string, desc bool, err error) {
	fields := strings.Fields(v)
	if len(fields) == 0 {
		return "", false, nil
	}
	if len(fields) > 2 || (len(fields) == 2 && !strings.EqualFold(fields[1], "asc") && !strings.EqualFold(fields[1], "desc")) {
		//lint:ignore ST1005 Graph's message style: the text is the answer's message
		return "", false, fmt.Errorf("Invalid $orderby '%s': one property, then asc or desc.", v)
	}
	for _, p := range []string{"userPrincipalName", "id", "accountType", "createdDateTime", "modifiedDateTime"} {
		if strings.EqualFold(p, fields[0]) {
			return p, len(fields) == 2 && strings.EqualFold(fields[1], "desc"), nil
		}
	}
	//lint:ignore ST1005 Graph's message style: the text is the answer's message
	return "", false, fmt.Errorf("Sorting on '%s' is not supported on userConfigurations.", fields[0])
}

// teamsSortKey is c's value of the $orderby property.
func teamsSortKey(c *TeamsUserConfiguration, prop string) string {
	switch prop {
	case "id":
		return strings.ToLower(c.ID)
	case "accountType":
		return c.AccountType
	case "createdDateTime":
		return c.CreatedDateTime.UTC().Format(time.RFC3339Nano)
	case "modifiedDateTime":
		return c.ModifiedDateTime.UTC().Format(time.RFC3339Nano)
	}
	return strings.ToLower(c.UserPrincipalName)
}

// teamsOrdered answers a userConfigurations list with $orderby: every
// matching configuration sorted (ties by ID), paged by offset.
func (s *Server) teamsOrdered(w http.ResponseWriter, r *http.Request, t *Tenant, qv url.Values, top int, sel []string, expand bool,
	match func(*TeamsUserConfiguration) bool, prop string, desc bool) {
	key := qv.Get("$filter") + "\x00" + qv.Get("$orderby")
	start := 0
	if tok := qv.Get("$skiptoken"); tok != "" {
		var ok bool
		if start, ok = t.decodeTeamsToken(tok, key); !ok {
			s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest",
				msg: "The $skiptoken is not valid for this query: send the @odata.nextLink back unchanged."})
			return
		}
	}
	var all []TeamsUserConfiguration
	for pos := range t.dir.Positions() {
		if t.dir.Deleted(pos - 1) {
			continue
		}
		cfg, ok := t.teamsAt(pos, false)
		if !ok || !match(&cfg) {
			continue
		}
		if cfg.ID == "" {
			cfg.ID, cfg.UserPrincipalName = t.dir.IdentityAt(pos - 1)
		}
		all = append(all, cfg)
	}
	slices.SortStableFunc(all, func(a, b TeamsUserConfiguration) int {
		c := strings.Compare(teamsSortKey(&a, prop), teamsSortKey(&b, prop))
		if desc {
			c = -c
		}
		if c == 0 {
			c = strings.Compare(a.ID, b.ID)
		}
		return c
	})
	start = min(start, len(all))
	end := min(start+top, len(all))
	out := []byte(`{"@odata.context":`)
	out = appendJSONString(out, graphContext+"admin/teams/userConfigurations")
	if end < len(all) {
		nq := url.Values{}
		for k, v := range qv {
			nq[k] = v
		}
		nq.Set("$skiptoken", t.encodeTeamsToken(end, key))
		out = append(out, `,"@odata.nextLink":`...)
		out = appendJSONString(out, "https://"+r.Host+"/v1.0/admin/teams/userConfigurations?"+nq.Encode())
	}
	out = append(out, `,"value":[`...)
	for i := start; i < end; i++ {
		if i > start {
			out = append(out, ',')
		}
		out = t.appendTeamsExpanded(out, &all[i], sel, expand)
	}
	out = append(out, "]}"...)
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// appendTeamsExpanded appends c as appendTeams does, with the user (its
// default properties) when expand is set.
func (t *Tenant) appendTeamsExpanded(dst []byte, c *TeamsUserConfiguration, sel []string, expand bool) []byte {
	dst = appendTeams(dst, c, sel)
	if !expand {
		return dst
	}
	dst = dst[:len(dst)-1]
	if dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = append(dst, `"user":`...)
	if u, ok := t.dir.User(c.ID); ok {
		b, _, _ := u.AppendSelected(nil, nil)
		dst = append(dst, b...)
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, '}')
}

func parseTeamsSelect(v string) ([]string, error) {
	return parseSelectOf(v, teamsProps, "teamsUserConfiguration")
}

// parseSelectOf resolves $select v against props, the properties of the
// teamsAdministration type typ (case-insensitive), in Graph's spelling.
func parseSelectOf(v string, props []string, typ string) ([]string, error) {
	if v == "" {
		return nil, nil
	}
	var sel []string
	for _, f := range strings.Split(v, ",") {
		f = strings.TrimSpace(f)
		i := slices.IndexFunc(props, func(p string) bool { return strings.EqualFold(p, f) })
		if i < 0 {
			//lint:ignore ST1005 Graph's own message, word for word
			return nil, fmt.Errorf("Could not find a property named '%s' on type 'microsoft.graph.teamsAdministration.%s'.", clipText(f), typ)
		}
		sel = append(sel, props[i])
	}
	return sel, nil
}

// appendTeams appends c as JSON with the properties sel (all when empty),
// in Graph's property order.
func appendTeams(dst []byte, c *TeamsUserConfiguration, sel []string) []byte {
	if len(sel) == 0 {
		sel = teamsProps
	}
	dst = append(dst, '{')
	for i, p := range teamsProps {
		if len(sel) != len(teamsProps) && !slices.Contains(sel, p) {
			continue
		}
		if len(dst) > 0 && dst[len(dst)-1] != '{' {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, p...)
		dst = append(dst, '"', ':')
		switch i {
		case 0:
			dst = appendTeamsString(dst, c.ID)
		case 1:
			dst = appendTeamsString(dst, c.UserPrincipalName)
		case 2:
			dst = appendTeamsString(dst, c.TenantID)
		case 3:
			dst = appendTeamsString(dst, c.AccountType)
		case 4:
			dst = strconv.AppendBool(dst, c.IsEnterpriseVoiceEnabled)
		case 5:
			dst = append(dst, '[')
			for j, f := range c.FeatureTypes {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendTeamsString(dst, f)
			}
			dst = append(dst, ']')
		case 6:
			dst = append(dst, '[')
			for j, n := range c.TelephoneNumbers {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `{"telephoneNumber":`...)
				dst = appendTeamsString(dst, n.TelephoneNumber)
				dst = append(dst, `,"assignmentCategory":`...)
				dst = appendTeamsString(dst, n.AssignmentCategory)
				dst = append(dst, '}')
			}
			dst = append(dst, ']')
		case 7:
			dst = append(dst, '[')
			for j, a := range c.EffectivePolicyAssignments {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = append(dst, `{"policyType":`...)
				dst = appendTeamsString(dst, a.PolicyType)
				dst = append(dst, `,"policyAssignment":{"displayName":`...)
				dst = appendTeamsString(dst, a.PolicyAssignment.DisplayName)
				dst = append(dst, `,"assignmentType":`...)
				dst = appendTeamsString(dst, a.PolicyAssignment.AssignmentType)
				dst = append(dst, `,"policyId":`...)
				dst = appendTeamsString(dst, a.PolicyAssignment.PolicyID)
				dst = append(dst, `,"groupId":`...)
				if a.PolicyAssignment.GroupID == "" {
					dst = append(dst, "null"...)
				} else {
					dst = appendTeamsString(dst, a.PolicyAssignment.GroupID)
				}
				dst = append(dst, "}}"...)
			}
			dst = append(dst, ']')
		case 8:
			dst = appendTeamsString(dst, c.CreatedDateTime.UTC().Format(time.RFC3339))
		case 9:
			dst = appendTeamsString(dst, c.ModifiedDateTime.UTC().Format(time.RFC3339))
		}
	}
	return append(dst, '}')
}

// appendTeamsString appends s as a JSON string, copying plain printable
// ASCII directly.
func appendTeamsString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendJSONString(dst, s)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}

// parseTeamsFilter parses the $filter subset of userConfigurations into a
// predicate.
func parseTeamsFilter(f string) (func(*TeamsUserConfiguration) bool, error) {
	if strings.TrimSpace(f) == "" {
		return func(*TeamsUserConfiguration) bool { return true }, nil
	}
	var preds []func(*TeamsUserConfiguration) bool
	sc := &teamsScanner{s: f}
	for {
		pred, err := sc.term()
		if err != nil {
			return nil, err
		}
		preds = append(preds, pred)
		sc.space()
		if sc.done() {
			break
		}
		if !sc.word("and") {
			return nil, fmt.Errorf("only 'and' may join terms; found '%s' at position %d", clipText(sc.rest()), sc.i)
		}
	}
	return func(c *TeamsUserConfiguration) bool {
		for _, p := range preds {
			if !p(c) {
				return false
			}
		}
		return true
	}, nil
}

type teamsScanner struct {
	s string
	i int
}

func (sc *teamsScanner) rest() string { return sc.s[min(sc.i, len(sc.s)):] }
func (sc *teamsScanner) done() bool   { return sc.i >= len(sc.s) }

func (sc *teamsScanner) space() {
	for sc.i < len(sc.s) && sc.s[sc.i] == ' ' {
		sc.i++
	}
}

// word consumes w (case-insensitive) followed by a space or the end.
func (sc *teamsScanner) word(w string) bool {
	sc.space()
	r := sc.rest()
	if len(r) < len(w) || !strings.EqualFold(r[:len(w)], w) {
		return false
	}
	if len(r) > len(w) && r[len(w)] != ' ' && r[len(w)] != '(' {
		return false
	}
	sc.i += len(w)
	return true
}

// lit consumes a literal: true, false or a quoted string.
func (sc *teamsScanner) lit() (string, bool, error) {
	sc.space()
	r := sc.rest()
	if strings.HasPrefix(r, "'") {
		var b strings.Builder
		for j := 1; j < len(r); j++ {
			if r[j] == '\'' {
				if j+1 < len(r) && r[j+1] == '\'' {
					b.WriteByte('\'')
					j++
					continue
				}
				sc.i += j + 1
				return b.String(), true, nil
			}
			b.WriteByte(r[j])
		}
		return "", false, fmt.Errorf("unterminated string at position %d", sc.i)
	}
	for _, w := range []string{"true", "false"} {
		if sc.word(w) {
			return w, false, nil
		}
	}
	return "", false, fmt.Errorf("expected a literal at position %d", sc.i)
}

func (sc *teamsScanner) term() (func(*TeamsUserConfiguration) bool, error) {
	sc.space()
	start := sc.i
	switch {
	case sc.word("isEnterpriseVoiceEnabled"):
		if !sc.word("eq") {
			break
		}
		v, quoted, err := sc.lit()
		if err != nil || quoted {
			return nil, fmt.Errorf("isEnterpriseVoiceEnabled takes true or false at position %d", sc.i)
		}
		want := v == "true"
		return func(c *TeamsUserConfiguration) bool { return c.IsEnterpriseVoiceEnabled == want }, nil
	case sc.word("accountType"):
		if !sc.word("eq") {
			break
		}
		v, quoted, err := sc.lit()
		if err != nil || !quoted {
			return nil, fmt.Errorf("accountType takes a quoted value at position %d", sc.i)
		}
		return func(c *TeamsUserConfiguration) bool { return c.AccountType == v }, nil
	default:
		r := sc.rest()
		const pre = "featureTypes/any("
		if len(r) < len(pre) || !strings.EqualFold(r[:len(pre)], pre) {
			break
		}
		sc.i += len(pre)
		raw, _, found := strings.Cut(sc.rest(), ":")
		v := strings.TrimSpace(raw)
		if !found || v == "" || strings.ContainsAny(v, " ()'") {
			break
		}
		sc.i += len(raw) + 1
		if !sc.word(v) || !sc.word("eq") {
			break
		}
		val, quoted, err := sc.lit()
		if err != nil || !quoted {
			break
		}
		sc.space()
		if !strings.HasPrefix(sc.rest(), ")") {
			break
		}
		sc.i++
		return func(c *TeamsUserConfiguration) bool { return slices.Contains(c.FeatureTypes, val) }, nil
	}
	return nil, fmt.Errorf("'%s' is not supported on userConfigurations (supported: isEnterpriseVoiceEnabled eq true|false, accountType eq '...', featureTypes/any(x:x eq '...'), joined by and)",
		clipText(sc.s[start:]))
}

func clipText(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

// encodeTeamsToken returns the skip token of listing position pos for the
// filter f: the position and a MAC binding it to the tenant and filter.
func (t *Tenant) encodeTeamsToken(pos int, f string) string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(pos))
	copy(b[8:], t.teamsMAC(pos, f))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (t *Tenant) decodeTeamsToken(tok, f string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(b) != 24 {
		return 0, false
	}
	pos := binary.BigEndian.Uint64(b[:8])
	if pos > uint64(t.dir.Positions()) || !hmac.Equal(b[8:], t.teamsMAC(int(pos), f)) {
		return 0, false
	}
	return int(pos), true
}

func (t *Tenant) teamsMAC(pos int, f string) []byte {
	m := hmac.New(sha256.New, []byte("tenantgate m365test teams skiptoken\x00"+t.ID))
	fmt.Fprintf(m, "%d\x00%s", pos, f)
	return m.Sum(nil)[:16]
}
