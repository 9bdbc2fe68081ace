package m365test

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// principal is the verified caller of a Graph request.
type principal struct {
	tenant    *Tenant
	clientID  string
	delegated bool
	user      directory.User // delegated only
	scopes    map[string]bool
	roles     map[string]bool
}

// perms are the permissions any one of which allows an endpoint.
type perms struct {
	delegated []string
	app       []string
	forbidden func(*principal) *graphError // the 403 answer; nil: errForbidden
	anyCaller bool                         // any authenticated caller (an app reading itself)
}

func (p *principal) allowed(need perms) bool {
	if need.anyCaller {
		return true
	}
	list, have := need.app, p.roles
	if p.delegated {
		list, have = need.delegated, p.scopes
	}
	for _, n := range list {
		if have[strings.ToLower(n)] {
			return true
		}
	}
	return false
}

func unauthorized(msg string) *graphError {
	return &graphError{status: http.StatusUnauthorized, code: "InvalidAuthenticationToken", msg: msg}
}

var errForbidden = &graphError{status: http.StatusForbidden, code: "Authorization_RequestDenied", msg: "Insufficient privileges to complete the operation."}

// verifyBearer checks the request's bearer token: signature, expiry,
// audience and tenant.
func (s *Server) verifyBearer(r *http.Request) (*principal, *graphError) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || tok == "" {
		return nil, unauthorized("Access token is empty.")
	}
	j, opaque := s.opaqueClaims(tok)
	if !opaque {
		var err error
		if j, err = parseJWS(tok); err != nil {
			return nil, unauthorized("IDX14100: JWT is not well formed.")
		}
		if kid, _ := j.header["kid"].(string); kid != s.signer.kid || j.header["alg"] != "RS256" {
			return nil, unauthorized("Access token validation failure. Invalid signing key.")
		}
		if err := j.verifyRSA(&s.signer.key.PublicKey); err != nil {
			return nil, unauthorized("Access token validation failure. Invalid signature.")
		}
	}
	now := s.Now()
	exp, ok := j.unix("exp")
	if !ok || !now.Before(time.Unix(exp, 0)) {
		return nil, unauthorized("Lifetime validation failed, the token is expired.")
	}
	if nbf, ok := j.unix("nbf"); ok && now.Add(5*time.Minute).Before(time.Unix(nbf, 0)) {
		return nil, unauthorized("Lifetime validation failed, the token is not yet valid.")
	}
	if aud := j.str("aud"); aud != graphAudience && aud != graphAudience+"/" && aud != GraphAppID {
		return nil, unauthorized("Access token validation failure. Invalid audience.")
	}
	t, ok := s.Tenant(j.str("tid"))
	if !ok || j.str("iss") != "https://sts.windows.net/"+t.ID+"/" {
		return nil, unauthorized("Access token validation failure. Invalid issuer or tenant.")
	}
	if ge := s.rel.revokedToken(t.ID, j.str("uti")); ge != nil {
		return nil, ge
	}
	p := &principal{tenant: t, clientID: j.str("appid"), scopes: map[string]bool{}, roles: map[string]bool{}}
	if j.str("idtyp") == "user" {
		p.delegated = true
		u, ok := t.dir.User(j.str("oid"))
		if !ok {
			return nil, unauthorized("Access token validation failure. The user does not exist in the tenant.")
		}
		p.user = u
		for _, sc := range strings.Fields(j.str("scp")) {
			p.scopes[strings.ToLower(sc)] = true
		}
	}
	for _, rl := range j.strs("roles") {
		p.roles[strings.ToLower(rl)] = true
	}
	return p, nil
}

// graphAuth authenticates and authorizes a Graph request, then applies
// injected faults. It reports false when it has answered.
func (s *Server) graphAuth(w http.ResponseWriter, r *http.Request, c *call, need perms) (*principal, bool) {
	p, ge := s.verifyBearer(r)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return nil, false
	}
	c.tenant, c.clientID = p.tenant.ID, p.clientID
	if t := s.throttle.Load(); t != nil {
		if ge := t.admit(r, p.clientID, p.tenant.ID); ge != nil {
			s.writeGraphError(w, r, ge)
			return nil, false
		}
	}
	if s.applyFault(w, r, c, true) {
		return nil, false
	}
	if !p.allowed(need) {
		if need.forbidden != nil {
			s.writeGraphError(w, r, need.forbidden(p))
			return nil, false
		}
		s.writeGraphError(w, r, errForbidden)
		return nil, false
	}
	return p, true
}

var (
	permUsers = perms{
		delegated: []string{"User.Read.All", "User.ReadBasic.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		app:       []string{"User.Read.All", "User.ReadBasic.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	permMe  = perms{delegated: []string{"User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}}
	permOrg = perms{
		delegated: []string{"User.Read", "Organization.Read.All", "Directory.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All"},
		app:       []string{"Organization.Read.All", "Directory.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All"},
	}
	permMail  = perms{delegated: []string{"Mail.Send"}, app: []string{"Mail.Send"}}
	permCalls = perms{app: []string{"CallRecords.Read.All"}}
)

const graphContext = "https://" + GraphHost + "/v1.0/$metadata#"

// handleOrganization is GET /v1.0/organization.
func (s *Server) handleOrganization(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permOrg)
	if !ok {
		return
	}
	t := p.tenant
	domains := make([]map[string]any, len(t.Domains))
	for i, d := range t.Domains {
		domains[i] = map[string]any{"capabilities": "Email, OfficeCommunicationsOnline", "isDefault": i == 0,
			"isInitial": strings.HasSuffix(strings.ToLower(d), ".onmicrosoft.com"), "name": d, "type": "Managed"}
	}
	// The v1.0 organization resource's properties (organization resource
	// type); those the fake keeps no value for answer null or [].
	org := map[string]any{
		"id":                   t.ID,
		"deletedDateTime":      nil,
		"businessPhones":       []string{},
		"city":                 nil,
		"country":              nil,
		"countryLetterCode":    "US",
		"createdDateTime":      nil,
		"defaultUsageLocation": nil,
		"displayName":          t.DisplayName,
		"isMultipleDataLocationsForServicesEnabled": nil,
		"marketingNotificationEmails":               []string{},
		"onPremisesLastSyncDateTime":                nil,
		"onPremisesSyncEnabled":                     nil,
		"partnerTenantType":                         nil,
		"postalCode":                                nil,
		"preferredLanguage":                         "en",
		"securityComplianceNotificationMails":       []string{},
		"securityComplianceNotificationPhones":      []string{},
		"state":                                     nil,
		"street":                                    nil,
		"technicalNotificationMails":                []string{t.AdminUPN()},
		"tenantType":                                "AAD",
		"directorySizeQuota":                        nil,
		"privacyProfile":                            nil,
		"assignedPlans":                             []any{},
		"provisionedPlans":                          []any{},
		"verifiedDomains":                           domains,
	}
	if p.delegated && !p.allowed(permOrgFull) {
		// "If the User.Read permission is used, the app can read only
		// the id, displayName, and verifiedDomains properties ... All
		// other properties return null" (organization get reference).
		for k, v := range org {
			switch k {
			case "id", "displayName", "verifiedDomains":
			default:
				if _, ok := v.([]string); ok {
					org[k] = []string{}
				} else if _, ok := v.([]any); ok {
					org[k] = []any{}
				} else {
					org[k] = nil
				}
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"@odata.context": graphContext + "organization", "value": []any{org}})
}

// permOrgFull reads every organization property (User.Read reads three).
var permOrgFull = perms{delegated: []string{"Organization.Read.All", "Directory.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All"}}

// permSignInActivity allows $select=signInActivity (user resource
// reference: "requires the AuditLog.Read.All permission"; without it Graph
// answers 403 Authorization_RequestDenied).
var permSignInActivity = perms{delegated: []string{"AuditLog.Read.All"}, app: []string{"AuditLog.Read.All"}}

// selectRefused answers 403 when $select names a property the caller's
// permissions do not reach, and reports whether it answered.
func (s *Server) selectRefused(w http.ResponseWriter, r *http.Request, p *principal) bool {
	for _, f := range strings.Split(r.URL.Query().Get("$select"), ",") {
		if strings.EqualFold(strings.TrimSpace(f), "signInActivity") && !p.allowed(permSignInActivity) {
			s.writeGraphError(w, r, errForbidden)
			return true
		}
	}
	return false
}

func (s *Server) writeUser(w http.ResponseWriter, r *http.Request, p *principal, u directory.User) {
	if s.selectRefused(w, r, p) {
		return
	}
	// As Graph: the $select properties, or the default set without one.
	var names []string
	if sel := r.URL.Query().Get("$select"); sel != "" {
		names = strings.Split(sel, ",")
	}
	b, got, err := p.tenant.dir.AppendUser(nil, u, names)
	if err != nil {
		var qe *directory.QueryError
		if errors.As(err, &qe) {
			s.writeGraphError(w, r, &graphError{status: qe.Status, code: qe.Code, msg: qe.Message})
			return
		}
	}
	ctx := graphContext + "users/$entity"
	if len(names) > 0 {
		ctx = graphContext + "users(" + strings.Join(got, ",") + ")/$entity"
	}
	out := make([]byte, 0, len(b)+80+len(ctx))
	out = append(out, `{"@odata.context":`...)
	out = appendJSONString(out, ctx)
	if len(b) > 2 {
		out = append(out, ',')
	}
	out = append(out, b[1:]...)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// handleMe is GET /v1.0/me.
func (s *Server) handleMe(w http.ResponseWriter, r *http.Request, c *call) {
	p, ge := s.verifyBearer(r)
	if ge == nil && !p.delegated {
		ge = &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "/me request is only valid with delegated authentication flow."}
	}
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	p, ok := s.graphAuth(w, r, c, permMe)
	if !ok {
		return
	}
	s.writeUser(w, r, p, p.user)
}

// handleUser is GET /v1.0/users/{id | userPrincipalName}, and
// /v1.0/users/$count.
func (s *Server) handleUser(w http.ResponseWriter, r *http.Request, c *call) {
	if r.PathValue("id") == "$count" {
		s.handleUsersCount(w, r, c)
		return
	}
	s.serveUser(w, r, c, r.PathValue("id"))
}

// serveUser answers GET /v1.0/users/{id} and /v1.0/users('{id}').
func (s *Server) serveUser(w http.ResponseWriter, r *http.Request, c *call, id string) {
	p, ge := s.verifyBearer(r)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	need := permUsers
	if p.delegated && (strings.EqualFold(id, p.user.ID) || strings.EqualFold(id, p.user.UserPrincipalName)) {
		need = permMe
	}
	p, ok := s.graphAuth(w, r, c, need)
	if !ok {
		return
	}
	u, found := p.tenant.dir.User(id)
	if !found {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "Request_ResourceNotFound",
			msg: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)})
		return
	}
	s.writeUser(w, r, p, u)
}

// handleUsers is GET /v1.0/users, served by the tenant's directory.
func (s *Server) handleUsers(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permUsers)
	if !ok {
		return
	}
	if s.selectRefused(w, r, p) {
		return
	}
	qv := r.URL.Query()
	if qv.Has("$skip") {
		// Graph's answer, as reported in msgraph-metadata#135 (the user
		// list reference: "$skip isn't supported").
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: directory.CodeRequestBadRequest, msg: "'$skip' is not supported by the service."})
		return
	}
	q := directory.Query{
		Filter:              qv.Get("$filter"),
		SkipToken:           qv.Get("$skiptoken"),
		OrderBy:             qv.Get("$orderby"),
		ConsistencyEventual: strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual"),
		Now:                 s.Now(),
		SkipTokenLifetime:   s.opts.SkipTokenLifetime,
	}
	if s.opts.AdvancedQueryLag > 0 {
		q.IndexAsOf = q.Now.Add(-s.opts.AdvancedQueryLag)
	}
	if sel := qv.Get("$select"); sel != "" {
		for _, f := range strings.Split(sel, ",") {
			q.Select = append(q.Select, strings.TrimSpace(f))
		}
	}
	if top := qv.Get("$top"); top != "" {
		n, err := strconv.Atoi(top)
		if err != nil {
			s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: fmt.Sprintf("Invalid $top value '%s'.", top)})
			return
		}
		if n == 0 {
			n = -1 // 0 is refused like any out-of-range size
		}
		q.Top = n
	}
	if q.Top > maxSignInActivityTop && selects(q.Select, "signInActivity") {
		// User list reference, example 11: with $select=signInActivity
		// "the maximum page size for $top is 120. Requests with $top set
		// higher than 120 will return pages with up to 120 users."
		q.Top = maxSignInActivityTop
	}
	switch strings.ToLower(qv.Get("$count")) {
	case "", "false":
	case "true":
		q.Count = true
	default:
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: "Invalid $count value."})
		return
	}
	// $search: "property:value" clauses, word-prefix matched, with
	// ConsistencyLevel: eventual (user list reference, "Use $search to
	// get users with display names that contain the letters 'wa'").
	q.Search = qv.Get("$search")
	if !s.opts.NoQueryLimits && q.Filter != "" && q.SkipToken == "" {
		// Graph's query-size limits, judged on the first page's request
		// (a next link is Graph's own URL).
		if expr, err := directory.ParseFilter(q.Filter); err == nil {
			urlLen := len("https://"+GraphHost) + len(r.RequestURI)
			if err := expr.CheckLimits(q.Count && q.ConsistencyEventual, urlLen); err != nil {
				var qe *directory.QueryError
				if errors.As(err, &qe) {
					s.writeGraphError(w, r, &graphError{status: qe.Status, code: qe.Code, msg: qe.Message})
					return
				}
			}
		}
	}
	res, err := p.tenant.dir.Query(q)
	if err != nil {
		var qe *directory.QueryError
		if errors.As(err, &qe) {
			s.writeGraphError(w, r, &graphError{status: qe.Status, code: qe.Code, msg: qe.Message})
			return
		}
		s.writeGraphError(w, r, &graphError{status: http.StatusInternalServerError, code: "generalException", msg: "Internal error."})
		return
	}
	out := make([]byte, 0, 512+len(res.Users)*400)
	out = append(out, `{"@odata.context":`...)
	ctx := graphContext + "users"
	if qv.Get("$select") != "" {
		ctx += "(" + strings.Join(res.Select, ",") + ")"
	}
	out = appendJSONString(out, ctx)
	if res.Count >= 0 && q.SkipToken == "" { // Graph sends the count on the first page only
		out = append(out, `,"@odata.count":`...)
		out = strconv.AppendInt(out, int64(res.Count), 10)
	}
	if res.NextSkipToken != "" && !s.rel.cutNextLink(p.tenant.ID) {
		next := url.Values{}
		for k, v := range qv {
			next[k] = v
		}
		next.Set("$skiptoken", res.NextSkipToken)
		out = append(out, `,"@odata.nextLink":`...)
		out = appendJSONString(out, "https://"+r.Host+"/v1.0/users?"+next.Encode())
	}
	out = append(out, `,"value":`...)
	out = res.AppendValue(out)
	out = append(out, '}')
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}

// handleUsersCount is GET /v1.0/users/$count: the number of users (that
// match $filter) as text/plain. The user list reference ("Example: Get
// only a count of users") and the advanced query page: $count as a URL
// segment needs ConsistencyLevel: eventual; without it Graph answers 400
// Request_BadRequest.
func (s *Server) handleUsersCount(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permUsers)
	if !ok {
		return
	}
	if !strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: directory.CodeRequestBadRequest, msg: "$count is not currently supported."})
		return
	}
	q := directory.Query{Filter: r.URL.Query().Get("$filter"), Top: 1, Count: true, ConsistencyEventual: true, Now: s.Now()}
	if s.opts.AdvancedQueryLag > 0 {
		q.IndexAsOf = q.Now.Add(-s.opts.AdvancedQueryLag)
	}
	res, err := p.tenant.dir.Query(q)
	if err != nil {
		var qe *directory.QueryError
		if errors.As(err, &qe) {
			s.writeGraphError(w, r, &graphError{status: qe.Status, code: qe.Code, msg: qe.Message})
			return
		}
		s.writeGraphError(w, r, &graphError{status: http.StatusInternalServerError, code: "generalException", msg: "Internal error."})
		return
	}
	b := strconv.AppendInt(nil, int64(res.Count), 10)
	w.Header().Set("Content-Type", "text/plain")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// readJSONBody decodes a request body, gzip-compressed or not (Kiota
// compresses request bodies by default).
func readJSONBody(r *http.Request, v any) error {
	var body io.Reader = http.MaxBytesReader(nil, r.Body, 4<<20)
	if strings.EqualFold(r.Header.Get("Content-Encoding"), "gzip") {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return err
		}
		defer zr.Close()
		body = zr
	}
	return json.NewDecoder(body).Decode(v)
}

// appendJSONString appends s as a JSON string (strconv's Go quoting is not
// JSON for control and non-ASCII characters).
func appendJSONString(out []byte, s string) []byte {
	b, _ := json.Marshal(s)
	return append(out, b...)
}

// maxSignInActivityTop is the largest page of users with signInActivity.
const maxSignInActivityTop = 120

// selects reports whether sel names prop (case-insensitive).
func selects(sel []string, prop string) bool {
	for _, s := range sel {
		if strings.EqualFold(s, prop) {
			return true
		}
	}
	return false
}
