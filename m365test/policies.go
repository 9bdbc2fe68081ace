package m365test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Teams policy types the fake keeps assignments of, in
// effectivePolicyAssignments order.
const (
	polCalling = iota
	polDialPlan
	polVoiceRouting
	numPolicyTypes
)

// policyTypes are the policy type names Graph uses, by index.
var policyTypes = [numPolicyTypes]string{"TeamsCallingPolicy", "TenantDialPlan", "OnlineVoiceRoutingPolicy"}

// policyNames are the policies each tenant has, by type: Global and the
// demo data's named ones.
var policyNames = func() (out [numPolicyTypes][]string) {
	out[polCalling] = []string{"Global", "AllowCalling", "DisallowCalling"}
	out[polDialPlan] = []string{"Global"}
	out[polVoiceRouting] = []string{"Global"}
	for _, ul := range demoUsages {
		out[polDialPlan] = append(out[polDialPlan], "DP-"+ul)
		out[polVoiceRouting] = append(out[polVoiceRouting], "VRP-"+ul)
	}
	return out
}()

// policyTypeIndex resolves a policy type name, case-insensitively.
func policyTypeIndex(typ string) (int, bool) {
	for k, n := range policyTypes {
		if strings.EqualFold(n, typ) {
			return k, true
		}
	}
	return 0, false
}

// policyByName finds the policy name of type k, case-insensitively.
func policyByName(k int, name string) (string, bool) {
	i := slices.IndexFunc(policyNames[k], func(n string) bool { return strings.EqualFold(n, name) })
	if i < 0 {
		return "", false
	}
	return policyNames[k][i], true
}

// policyByID finds the policy of type k whose ID is id.
func policyByID(k int, id string) (string, bool) {
	for _, n := range policyNames[k] {
		if strings.EqualFold(policyOf(policyTypes[k], n).PolicyAssignment.PolicyID, id) {
			return n, true
		}
	}
	return "", false
}

// policyIDs caches the stable policy IDs by type and name.
var policyIDs sync.Map

// policyOf is the direct assignment of policy name of type typ.
func policyOf(typ, name string) TeamsPolicyAssignment {
	key := typ + ":" + name
	id, ok := policyIDs.Load(key)
	if !ok {
		id, _ = policyIDs.LoadOrStore(key, stableGUID("policy:"+key))
	}
	return TeamsPolicyAssignment{PolicyType: typ, PolicyAssignment: PolicyAssignment{
		DisplayName: name, AssignmentType: "direct", PolicyID: id.(string)}}
}

// MaxPolicyAssignments is the most user-policy pairs one assign or
// unassign call takes. Microsoft documents no maximum; 20 is the fake's
// assumption (Graph's other batch-like actions take about as many).
const MaxPolicyAssignments = 20

// permTeamsPolicies allows getPolicyId and userAssignments assign and
// unassign.
var permTeamsPolicies = perms{
	delegated: []string{"TeamsPolicyUserAssign.ReadWrite.All"},
	app:       []string{"TeamsPolicyUserAssign.ReadWrite.All"},
	forbidden: teamsForbidden("TeamsPolicyUserAssign.ReadWrite.All"),
}

// teamsForbidden is the 403 the Teams administration APIs answer a token
// without the permission: code Forbidden, naming the permissions the API
// needs and those the token has.
func teamsForbidden(need ...string) func(*principal) *graphError {
	return func(p *principal) *graphError {
		have := p.roles
		if p.delegated {
			have = p.scopes
		}
		var names []string
		for n := range have {
			names = append(names, n)
		}
		slices.Sort(names)
		kind := "Roles"
		if p.delegated {
			kind = "Scopes"
		}
		return &graphError{status: http.StatusForbidden, code: "Forbidden",
			msg: fmt.Sprintf("Missing role permissions on the request. API requires one of '%s'. %s on the request '%s'.",
				strings.Join(need, ", "), kind, strings.Join(names, ", "))}
	}
}

// parsePolicyIDArgs parses the key segment
// getPolicyId(type='{type}',name='{name}') (already path-decoded): both
// parameters, in either order, as quoted strings with ” for a quote.
func parsePolicyIDArgs(seg string) (typ, name string, ge *graphError) {
	rest, ok := strings.CutPrefix(seg, "getPolicyId(")
	if !ok || !strings.HasSuffix(rest, ")") {
		return "", "", badBody("Resource not found for the segment '%s'.", seg)
	}
	rest = rest[:len(rest)-1]
	sc := &teamsScanner{s: rest}
	got := map[string]string{}
	for !sc.done() {
		sc.space()
		var key string
		for _, k := range []string{"type", "name"} {
			r := sc.rest()
			if len(r) > len(k) && strings.EqualFold(r[:len(k)], k) && strings.TrimLeft(r[len(k):], " ")[0] == '=' {
				key = k
				sc.i += len(k)
				sc.space()
				sc.i++ // '='
				break
			}
		}
		if key == "" {
			return "", "", badBody("The parameters of function 'getPolicyId' must be type and name: found '%s'.", clipText(sc.rest()))
		}
		if _, dup := got[key]; dup {
			return "", "", badBody("The parameter '%s' of function 'getPolicyId' is given twice.", key)
		}
		v, quoted, lerr := sc.lit()
		if lerr != nil || !quoted {
			return "", "", badBody("The parameter '%s' of function 'getPolicyId' must be a quoted string.", key)
		}
		got[key] = v
		sc.space()
		if !sc.done() {
			if sc.rest()[0] != ',' {
				return "", "", badBody("Expected ',' between the parameters of function 'getPolicyId', found '%s'.", clipText(sc.rest()))
			}
			sc.i++
		}
	}
	var missing []string
	for _, k := range []string{"type", "name"} {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return "", "", badBody("The function 'getPolicyId' needs the parameters type and name; missing: %s.", strings.Join(missing, ", "))
	}
	return got["type"], got["name"], nil
}

// handleGetPolicyID is GET
// /v1.0/admin/teams/policy/getPolicyId(type='{type}',name='{name}'): a
// collection of policyIdentifierDetail (empty when the type has no such
// policy).
func (s *Server) handleGetPolicyID(w http.ResponseWriter, r *http.Request, c *call) {
	seg := r.PathValue("fn")
	if dec, err := url.PathUnescape(seg); err == nil {
		seg = dec
	}
	if !strings.HasPrefix(seg, "getPolicyId(") {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest",
			msg: "Resource not found for the segment '" + seg + "'."})
		return
	}
	if _, ok := s.graphAuth(w, r, c, permTeamsPolicies); !ok {
		return
	}
	typ, name, ge := parsePolicyIDArgs(seg)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	k, ok := policyTypeIndex(typ)
	if !ok {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest",
			msg: fmt.Sprintf("The policy type '%s' is not supported.", typ)})
		return
	}
	out := []byte(`{"@odata.context":`)
	out = appendJSONString(out, graphContext+"Collection(microsoft.graph.teamsAdministration.policyIdentifierDetail)")
	out = append(out, `,"value":[`...)
	if n, found := policyByName(k, name); found {
		id := policyOf(policyTypes[k], n).PolicyAssignment.PolicyID
		out = append(out, `{"id":`...)
		out = appendTeamsString(out, id)
		out = append(out, `,"name":`...)
		out = appendJSONString(out, n)
		out = append(out, `,"policyId":`...)
		out = appendTeamsString(out, id)
		out = append(out, '}')
	}
	out = append(out, "]}"...)
	writeGraphJSON(w, out)
}

// policyAssignmentBody is the body of userAssignments/assign and
// /unassign.
type policyAssignmentBody struct {
	Value *[]struct {
		UserID     string `json:"userId"`
		PolicyType string `json:"policyType"`
		PolicyID   string `json:"policyId"`
	} `json:"value"`
}

// handlePolicyAssign is POST
// /v1.0/admin/teams/policy/userAssignments/assign (unassign false) and
// .../unassign (true): every pair is checked before any applies; 204.
func (s *Server) handlePolicyAssign(unassign bool) func(http.ResponseWriter, *http.Request, *call) {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		p, ok := s.graphAuth(w, r, c, permTeamsPolicies)
		if !ok {
			return
		}
		bad := func(status int, code, format string, args ...any) {
			s.writeGraphError(w, r, &graphError{status: status, code: code, msg: fmt.Sprintf(format, args...)})
		}
		var b policyAssignmentBody
		if err := readJSONBody(r, &b); err != nil {
			bad(http.StatusBadRequest, "BadRequest", "The request body is not valid JSON: %s", clipText(err.Error()))
			return
		}
		if b.Value == nil || len(*b.Value) == 0 {
			bad(http.StatusBadRequest, "BadRequest", "The parameter 'value' is required and must hold at least one assignment.")
			return
		}
		if len(*b.Value) > MaxPolicyAssignments {
			bad(http.StatusBadRequest, "BadRequest", "At most %d assignments are accepted in one request; found %d.", MaxPolicyAssignments, len(*b.Value))
			return
		}
		t := p.tenant
		type change struct {
			user int
			typ  int
			name string
		}
		var changes []change
		for j, a := range *b.Value {
			if a.UserID == "" || a.PolicyType == "" || (!unassign && a.PolicyID == "") {
				bad(http.StatusBadRequest, "BadRequest", "Assignment %d lacks userId, policyType or policyId.", j)
				return
			}
			k, ok := policyTypeIndex(a.PolicyType)
			if !ok {
				bad(http.StatusBadRequest, "BadRequest", "The policy type '%s' is not supported.", a.PolicyType)
				return
			}
			if t.voice.refusesPolicyType(policyTypes[k]) {
				bad(http.StatusBadRequest, "BadRequest", "Assigning policies of type '%s' is not supported through this API.", policyTypes[k])
				return
			}
			if _, isGUID := parseGUID(a.UserID); !isGUID {
				bad(http.StatusBadRequest, "BadRequest", "The userId '%s' is not a valid object ID.", a.UserID)
				return
			}
			u, found := t.dir.User(a.UserID)
			if !found {
				bad(http.StatusNotFound, "NotFound", "The user '%s' was not found in the tenant.", a.UserID)
				return
			}
			name := ""
			if !unassign {
				n, found := policyByID(k, a.PolicyID)
				if !found {
					bad(http.StatusNotFound, "NotFound", "The policy '%s' of type '%s' was not found.", a.PolicyID, policyTypes[k])
					return
				}
				if n != "Global" {
					name = n
				}
			}
			changes = append(changes, change{user: u.Index, typ: k, name: name})
		}
		now := s.Now()
		vs := t.voice
		vs.mu.Lock()
		kind := "assignPolicy"
		if unassign {
			kind = "unassignPolicy"
		}
		for _, ch := range changes {
			t.changeUserLocked(ch.user, now, func(u *userVoice) { u.pol[ch.typ] = ch.name })
			id, _ := t.dir.IdentityAt(ch.user)
			vs.logLocked(VoiceEvent{Time: now, Kind: kind, UserID: id, PolicyType: policyTypes[ch.typ], PolicyName: ch.name, Status: "succeeded"})
		}
		vs.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}
}

// refusesPolicyType reports whether VoiceControls.RefusePolicyTypes names typ.
func (vs *voiceState) refusesPolicyType(typ string) bool {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	return slices.ContainsFunc(vs.cfg.RefusePolicyTypes, func(t string) bool { return strings.EqualFold(t, typ) })
}
