package voice

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/internal/graphhttp"
	"github.com/tenantgate/tenantgate/internal/testdb"
	"github.com/tenantgate/tenantgate/m365access"
)

// stubGraph is a small Graph of one tenant for voice's own tests, shaped
// as the Graph v1.0 reference pages document (m365test carries the full
// fake): users with licenses, subscribed SKUs, Teams user configurations,
// numberAssignments with long-running assign/unassign operations that
// finish after opPolls reads, getPolicyId and policy assignments.
type stubGraph struct {
	mu       sync.Mutex
	srv      *httptest.Server
	users    map[string]*stubUser // by ID
	skus     []sku
	numbers  []graphNumber
	policies map[string]string // type/name -> id
	ops      map[string]*stubOp
	opPolls  int
	// badPolicies answers every policy assignment 400 (not retryable).
	badPolicies bool
	forbidden   map[string]bool // path fragment -> 403
	// onPoll, when set, runs (once) as an operation is polled.
	onPoll   func()
	requests map[string]int // "METHOD kind" -> count
}

type stubUser struct {
	id, upn, usage string
	enabled        bool
	licenses       []string
	policies       map[string]string
}

type stubOp struct {
	polls          int
	number, target string
	assign         bool
}

func newStub(t *testing.T, n int) *stubGraph {
	g := &stubGraph{users: map[string]*stubUser{}, policies: map[string]string{}, ops: map[string]*stubOp{}, opPolls: 1,
		forbidden: map[string]bool{}, requests: map[string]int{}}
	g.skus = []sku{{SkuID: "sku-e3", SkuPartNumber: "SPE_E3"}, {SkuID: "sku-ev", SkuPartNumber: "MCOEV"}, {SkuID: "sku-cp", SkuPartNumber: "MCOPSTN1"}}
	g.skus[0].PrepaidUnits.Enabled = n + 10
	g.skus[1].PrepaidUnits.Enabled = n/3 + 5
	g.skus[2].PrepaidUnits.Enabled = n/6 + 5
	for i := range n {
		u := &stubUser{id: fmt.Sprintf("00000000-0000-0000-0000-%012d", i), upn: fmt.Sprintf("user%05d@contoso.test", i), usage: "IT",
			enabled: i%20 != 19, licenses: []string{"sku-e3"}, policies: map[string]string{}}
		num := graphNumber{ID: strconv.Itoa(i), TelephoneNumber: fmt.Sprintf("+3902%07d", i), NumberType: "directRouting",
			ActivationState: "activated", AssignmentStatus: "unassigned", Capabilities: []string{"userAssignment"}, IsoCountryCode: "IT", City: "Milan"}
		if i%2 == 1 {
			num.NumberType, num.LocationID = "callingPlan", "loc-milan"
		}
		if i%3 == 0 {
			u.licenses = append(u.licenses, "sku-ev")
			u.policies["TenantDialPlan"] = "DP-IT"
			if i%2 == 0 {
				u.policies["OnlineVoiceRoutingPolicy"] = "VRP-IT"
			} else {
				u.licenses = append(u.licenses, "sku-cp")
			}
			num.AssignmentStatus, num.AssignmentTargetID, num.AssignmentCategory = "userAssigned", u.id, "primary"
		}
		g.users[u.id] = u
		g.numbers = append(g.numbers, num)
	}
	for _, t := range []string{"OnlineVoiceRoutingPolicy", "TenantDialPlan"} {
		for _, n := range []string{"Global", "VRP-IT", "DP-IT"} {
			g.policies[t+"/"+n] = "pid-" + t + "-" + n
		}
	}
	g.srv = httptest.NewTLSServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *stubGraph) count(k string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.requests[k]
}

func (g *stubGraph) consumed() {
	for i := range g.skus {
		g.skus[i].ConsumedUnits = 0
	}
	for _, u := range g.users {
		for _, l := range u.licenses {
			for i := range g.skus {
				if g.skus[i].SkuID == l {
					g.skus[i].ConsumedUnits++
				}
			}
		}
	}
}

func graphErr(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": msg}})
}

var (
	reOp     = regexp.MustCompile(`/operations\('([^']+)'\)$`)
	reFilter = regexp.MustCompile(`^(\w+) eq '([^']*)'$`)
	rePolicy = regexp.MustCompile(`getPolicyId\(type='([^']*)',name='([^']*)'\)$`)
)

func (g *stubGraph) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/v1.0")
	kind := p
	switch {
	case strings.HasPrefix(p, "/users/") && strings.HasSuffix(p, "/assignLicense"):
		kind = "assignLicense"
	case strings.HasPrefix(p, "/users/"):
		kind = "user"
	case strings.HasPrefix(p, "/admin/teams/userConfigurations/"):
		kind = "teamsConfig"
	case reOp.MatchString(p):
		kind = "operation"
	case strings.Contains(p, "getPolicyId"):
		kind = "getPolicyId"
	default:
		kind = p[strings.LastIndex(p, "/")+1:]
	}
	g.requests[r.Method+" "+kind]++
	for frag := range g.forbidden {
		if strings.Contains(p, frag) {
			graphErr(w, 403, "Forbidden", "Missing role permissions on the request.")
			return
		}
	}
	if r.Header.Get("Authorization") != "Bearer stub-token" {
		graphErr(w, 401, "InvalidAuthenticationToken", "no token")
		return
	}
	var body map[string]any
	if r.Method == http.MethodPost {
		var rd io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" { // Graph's pipeline compresses bodies
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				graphErr(w, 400, "BadRequest", "gzip")
				return
			}
			rd = zr
		}
		_ = json.NewDecoder(rd).Decode(&body)
	}
	str := func(k string) string { s, _ := body[k].(string); return s }
	const base = "/admin/teams/telephoneNumberManagement/numberAssignments"
	switch {
	case kind == "user":
		key, _ := url.PathUnescape(strings.TrimPrefix(p, "/users/"))
		for _, u := range g.users {
			if u.id == key || strings.EqualFold(u.upn, key) {
				lic := []map[string]any{}
				for _, l := range u.licenses {
					lic = append(lic, map[string]any{"skuId": l, "disabledPlans": []string{}})
				}
				writeStub(w, 200, map[string]any{"id": u.id, "userPrincipalName": u.upn, "accountEnabled": u.enabled, "usageLocation": u.usage, "assignedLicenses": lic})
				return
			}
		}
		graphErr(w, 404, "Request_ResourceNotFound", "Resource '"+key+"' does not exist.")
	case kind == "assignLicense":
		u := g.users[strings.Split(p, "/")[2]]
		for _, a := range body["addLicenses"].([]any) {
			id := a.(map[string]any)["skuId"].(string)
			g.consumed()
			for _, k := range g.skus {
				if k.SkuID == id && k.free() <= 0 {
					graphErr(w, 400, "Request_BadRequest", "Subscription "+id+" does not have any available licenses.")
					return
				}
			}
			u.licenses = append(u.licenses, id)
		}
		for _, id := range body["removeLicenses"].([]any) {
			u.licenses = removeString(u.licenses, id.(string))
		}
		writeStub(w, 200, map[string]any{"id": u.id})
	case p == "/subscribedSkus":
		g.consumed()
		writeStub(w, 200, map[string]any{"value": g.skus})
	case kind == "teamsConfig":
		u := g.users[strings.TrimPrefix(p, "/admin/teams/userConfigurations/")]
		if u == nil {
			graphErr(w, 404, "NotFound", "no user")
			return
		}
		c := map[string]any{"id": u.id, "isEnterpriseVoiceEnabled": false, "telephoneNumbers": []any{}}
		for _, n := range g.numbers {
			if n.AssignmentTargetID == u.id {
				c["isEnterpriseVoiceEnabled"] = true
				c["telephoneNumbers"] = []any{map[string]any{"telephoneNumber": n.TelephoneNumber, "assignmentCategory": n.AssignmentCategory}}
			}
		}
		var eff []any
		for t, name := range u.policies {
			eff = append(eff, map[string]any{"policyType": t, "policyAssignment": map[string]any{"displayName": name, "assignmentType": "direct", "policyId": g.policies[t+"/"+name]}})
		}
		c["effectivePolicyAssignments"] = eff
		writeStub(w, 200, c)
	case p == base:
		q := r.URL.Query()
		top, _ := strconv.Atoi(q.Get("$top"))
		skip, _ := strconv.Atoi(q.Get("$skip"))
		var out []graphNumber
		for _, n := range g.numbers {
			if f := q.Get("$filter"); f != "" {
				m := reFilter.FindStringSubmatch(f)
				if m == nil {
					graphErr(w, 400, "BadRequest", "filter")
					return
				}
				v := map[string]string{"telephoneNumber": n.TelephoneNumber, "assignmentTargetId": n.AssignmentTargetID}[m[1]]
				if v != m[2] {
					continue
				}
			}
			out = append(out, n)
		}
		out = out[min(skip, len(out)):]
		out = out[:min(top, len(out))]
		writeStub(w, 200, map[string]any{"value": out})
	case p == base+"/assignNumber" || p == base+"/unassignNumber":
		id := fmt.Sprintf("op%d", len(g.ops)+1)
		g.ops[id] = &stubOp{number: str("telephoneNumber"), target: str("assignmentTargetId"), assign: strings.HasSuffix(p, "/assignNumber")}
		w.Header().Set("Location", g.srv.URL+"/v1.0/admin/teams/telephoneNumberManagement/operations('"+id+"')")
		w.WriteHeader(http.StatusAccepted)
	case kind == "operation":
		op := g.ops[reOp.FindStringSubmatch(p)[1]]
		if op == nil {
			graphErr(w, 404, "NotFound", "no operation")
			return
		}
		op.polls++
		if g.onPoll != nil {
			g.onPoll()
			g.onPoll = nil
		}
		status, detail := "running", ""
		if op.polls >= g.opPolls {
			status = "succeeded"
			for i := range g.numbers {
				n := &g.numbers[i]
				if n.TelephoneNumber != op.number {
					continue
				}
				switch {
				case op.assign && n.AssignmentStatus != "unassigned" && n.AssignmentTargetID != op.target:
					status, detail = "failed", "The telephone number is already assigned to another user."
				case op.assign:
					n.AssignmentStatus, n.AssignmentTargetID, n.AssignmentCategory = "userAssigned", op.target, "primary"
				default:
					n.AssignmentStatus, n.AssignmentTargetID, n.AssignmentCategory = "unassigned", "", ""
				}
			}
		}
		writeStub(w, 200, map[string]any{"id": "x", "status": status, "numbers": []any{map[string]any{"status": status, "statusDetail": detail}}})
	case kind == "getPolicyId":
		m := rePolicy.FindStringSubmatch(p)
		id, ok := g.policies[m[1]+"/"+m[2]]
		if !ok {
			writeStub(w, 200, map[string]any{"value": []any{}})
			return
		}
		writeStub(w, 200, map[string]any{"value": []any{map[string]any{"name": m[2], "policyId": id}}})
	case kind == "assign" || kind == "unassign":
		if g.badPolicies {
			graphErr(w, 400, "BadRequest", "policy type not supported")
			return
		}
		for _, v := range body["value"].([]any) {
			pr := v.(map[string]any)
			u := g.users[pr["userId"].(string)]
			t := pr["policyType"].(string)
			if kind == "unassign" {
				delete(u.policies, t)
				continue
			}
			for k, id := range g.policies {
				if id == pr["policyId"] {
					u.policies[t] = strings.TrimPrefix(k, t+"/")
				}
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		graphErr(w, 404, "NotFound", "no route "+p)
	}
}

func removeString(ss []string, s string) []string {
	out := ss[:0]
	for _, x := range ss {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func writeStub(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// stubAccess is the Access of the stub's tenant.
type stubAccess struct{ url string }

func (a stubAccess) GetSettings(context.Context, string) (m365access.Settings, error) {
	return m365access.Settings{}, nil
}
func (a stubAccess) Endpoints(context.Context, string) (m365access.CloudEndpoints, error) {
	return m365access.CloudEndpoints{GraphEndpoint: a.url, GraphResource: "https://graph.microsoft.com"}, nil
}
func (a stubAccess) Credential(string) azcore.TokenCredential {
	return graphhttp.StaticCredential{Token: "stub-token", ExpiresOn: time.Now().Add(time.Hour)}
}

// newStubService is a Service on db against g, its jobs on River.
func newStubService(t *testing.T, db testdb.DB, g *stubGraph, mod func(*Config)) *Service {
	t.Helper()
	st, err := NewStore(context.Background(), db.DB, db.Dialect)
	require.NoError(t, err)
	cfg := Config{Access: stubAccess{url: g.srv.URL}, Store: st, HTTPClient: g.srv.Client(),
		PollInterval: 5 * time.Millisecond, PollMaxInterval: 20 * time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	s, err := New(cfg)
	require.NoError(t, err)
	w := river.NewWorkers()
	require.NoError(t, s.AddWorkers(w))
	require.NoError(t, s.UseInserter(context.Background(), testdb.River(t, db, w)))
	return s
}
