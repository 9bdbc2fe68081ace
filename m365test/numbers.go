package m365test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// Page sizes of GET .../telephoneNumberManagement/numberAssignments, as
// Microsoft documents them.
const (
	NumbersDefaultTop = 500
	NumbersMaxTop     = 1000
)

// callingPlanOperatorID is the operatorId of Microsoft Calling Plan
// numbers (the value Get-CsPhoneNumberAssignment shows for them).
const callingPlanOperatorID = "2b24d246-a9ee-428b-96bc-fb9d9a053c8d"

// numberLocOrder lists the locations in ascending order of their number
// prefix, so that walking it (and k within a location) lists numbers by
// telephoneNumber, as Teams does.
var numberLocOrder = func() []int {
	out := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	slices.SortFunc(out, func(a, b int) int { return strings.Compare(numberPrefixes[a], numberPrefixes[b]) })
	return out
}()

// numberProps are the numberAssignment properties, in output order.
var numberProps = []string{"id", "telephoneNumber", "operatorId", "numberType", "assignmentTargetId", "assignmentCategory",
	"assignmentStatus", "activationState", "isoCountryCode", "city", "capabilities", "locationId", "civicAddressId",
	"networkSiteId", "numberSource", "portInStatus", "supportedCustomerActions", "reverseNumberLookupOptions"}

// numberEnums are the enum members (CSDL v1.0) of the enum-typed
// numberAssignment properties and collections.
var numberEnums = map[string][]string{
	"numberType":                 {"internalError", "directRouting", "callingPlan", "operatorConnect", "unknownFutureValue"},
	"activationState":            {"activated", "assignmentPending", "assignmentFailed", "updatePending", "updateFailed", "unknownFutureValue"},
	"assignmentCategory":         {"primary", "private", "alternate", "unknownFutureValue"},
	"assignmentStatus":           {"unassigned", "internalError", "userAssigned", "conferenceAssigned", "voiceApplicationAssigned", "thirdPartyAppAssigned", "policyAssigned", "unknownFutureValue"},
	"numberSource":               {"online", "onPremises", "unknownFutureValue"},
	"portInStatus":               {"completed", "firmOrderCommitmentAccepted", "unknownFutureValue"},
	"capabilities":               {"conferenceAssignment", "voiceApplicationAssignment", "userAssignment", "teamsPhoneMobile", "unknownFutureValue"},
	"supportedCustomerActions":   {"locationUpdate", "release", "unknownFutureValue"},
	"reverseNumberLookupOptions": {"skipInternalVoip", "unknownFutureValue"},
}

// numberCollections are the collection-valued properties.
var numberCollections = []string{"capabilities", "supportedCustomerActions", "reverseNumberLookupOptions"}

// numberView is number k as the API shows it.
type numberView struct {
	k   int
	rec numberRec
	t   *Tenant
}

func (n *numberView) callingPlan() bool { return n.k%2 == 1 }

// str returns a scalar property; ok is false for null.
func (n *numberView) str(prop string) (string, bool) {
	switch prop {
	case "id":
		return n.t.numberID(n.k), true
	case "telephoneNumber":
		return numberAt(n.k), true
	case "operatorId":
		if n.callingPlan() {
			return callingPlanOperatorID, true
		}
		return "", true
	case "numberType":
		if n.callingPlan() {
			return "callingPlan", true
		}
		return "directRouting", true
	case "assignmentTargetId":
		if n.rec.target == noUser {
			return "", false
		}
		id, _ := n.t.dir.IdentityAt(n.rec.target)
		return id, true
	case "assignmentCategory":
		return n.rec.category, n.rec.category != ""
	case "assignmentStatus":
		if n.rec.target == noUser {
			return "unassigned", true
		}
		return "userAssigned", true
	case "activationState":
		return n.rec.activation, true
	case "isoCountryCode":
		return demoUsages[n.k%10], true
	case "city":
		return demoCities[n.k%10], true
	case "locationId":
		return n.rec.locationID, n.rec.locationID != ""
	case "networkSiteId":
		return n.rec.networkSiteID, n.rec.networkSiteID != ""
	case "numberSource":
		if n.callingPlan() {
			return "online", true
		}
		return "onPremises", true
	}
	return "", false // civicAddressId, portInStatus
}

// list returns a collection property.
func (n *numberView) list(prop string) []string {
	switch prop {
	case "capabilities":
		if n.rec.caps != nil {
			return n.rec.caps
		}
		return []string{"userAssignment"}
	case "supportedCustomerActions":
		if n.callingPlan() {
			return []string{"locationUpdate", "release"}
		}
		return []string{}
	case "reverseNumberLookupOptions":
		if n.rec.rnl == nil {
			return []string{}
		}
		return n.rec.rnl
	}
	return nil
}

// appendJSON appends the number with the properties sel (all when empty).
func (n *numberView) appendJSON(dst []byte, sel []string) []byte {
	if len(sel) == 0 {
		sel = numberProps
	}
	dst = append(dst, '{')
	first := true
	for _, p := range numberProps {
		if len(sel) != len(numberProps) && !slices.Contains(sel, p) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		dst = append(dst, p...)
		dst = append(dst, '"', ':')
		if slices.Contains(numberCollections, p) {
			dst = append(dst, '[')
			for j, v := range n.list(p) {
				if j > 0 {
					dst = append(dst, ',')
				}
				dst = appendTeamsString(dst, v)
			}
			dst = append(dst, ']')
			continue
		}
		if v, ok := n.str(p); ok {
			dst = appendTeamsString(dst, v)
		} else {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, '}')
}

// numberID is the opaque, stable ID of number k: a GUID whose last four
// bytes carry k under a tenant mask and whose others are a MAC of the
// tenant and k, so that it decodes without an index.
func (t *Tenant) numberID(k int) string {
	var b [16]byte
	mac := sha256.Sum256([]byte("tenantgate m365test number\x00" + t.ID + "\x00" + strconv.Itoa(k)))
	copy(b[:12], mac[:12])
	mask := sha256.Sum256([]byte("tenantgate m365test number mask\x00" + t.ID))
	binary.BigEndian.PutUint32(b[12:], uint32(k)^binary.BigEndian.Uint32(mask[:4]))
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// numberByID returns the inventory index of the number whose ID is id.
func (t *Tenant) numberByID(id string) (int, bool) {
	b, ok := parseGUID(id)
	if !ok {
		return 0, false
	}
	mask := sha256.Sum256([]byte("tenantgate m365test number mask\x00" + t.ID))
	k := int(binary.BigEndian.Uint32(b[12:]) ^ binary.BigEndian.Uint32(mask[:4]))
	if k < 0 || k >= t.dir.N() || t.voice.isGuest(k) || !strings.EqualFold(t.numberID(k), id) {
		return 0, false
	}
	return k, true
}

// numberIndex returns the inventory index of telephone number tel (with
// its +), or false when the tenant holds no such number.
func (t *Tenant) numberIndex(tel string) (int, bool) {
	for loc, pre := range numberPrefixes {
		digits, ok := strings.CutPrefix(tel, pre)
		if !ok || len(digits) != 7 {
			continue
		}
		k, err := strconv.Atoi(digits)
		if err != nil || k < 0 || k%10 != loc || k >= t.dir.N() || digits[0] == '+' || digits[0] == '-' || t.voice.isGuest(k) {
			continue
		}
		return k, true
	}
	return 0, false
}

var permNumbersRead = perms{
	delegated: []string{"TeamsTelephoneNumber.Read.All", "TeamsTelephoneNumber.ReadWrite.All"},
	app:       []string{"TeamsTelephoneNumber.Read.All", "TeamsTelephoneNumber.ReadWrite.All"},
	forbidden: teamsForbidden("TeamsTelephoneNumber.Read.All", "TeamsTelephoneNumber.ReadWrite.All"),
}

// numberTerm is one term of a numberAssignments $filter: prop eq value
// (null when isNull), or coll/any(x:x eq value).
type numberTerm struct {
	prop   string
	value  string
	isNull bool
	any    bool
	target int // assignmentTargetId eq: the user's index (noUser: none)
}

// parseNumberFilter parses the numberAssignments $filter: terms joined by
// "and", each `property eq 'value'` (or eq null) on any property but id
// and city, or `collection/any(x:x eq 'value')` on capabilities,
// supportedCustomerActions and reverseNumberLookupOptions. Enum values
// must be members of their enum.
func parseNumberFilter(f string, t *Tenant) ([]numberTerm, error) {
	if strings.TrimSpace(f) == "" {
		return nil, nil
	}
	sc := &teamsScanner{s: f}
	var terms []numberTerm
	for {
		term, err := numberFilterTerm(sc, t)
		if err != nil {
			return nil, err
		}
		terms = append(terms, term)
		sc.space()
		if sc.done() {
			return terms, nil
		}
		if !sc.word("and") {
			return nil, fmt.Errorf("only 'and' may join terms; found '%s' at position %d", clipText(sc.rest()), sc.i)
		}
	}
}

func numberFilterTerm(sc *teamsScanner, t *Tenant) (numberTerm, error) {
	sc.space()
	start := sc.i
	r := sc.rest()
	end := 0
	for end < len(r) && (r[end] >= 'a' && r[end] <= 'z' || r[end] >= 'A' && r[end] <= 'Z') {
		end++
	}
	name := r[:end]
	i := slices.IndexFunc(numberProps, func(p string) bool { return strings.EqualFold(p, name) })
	if i < 0 {
		//lint:ignore ST1005 OData's own message, word for word
		return numberTerm{}, fmt.Errorf("Could not find a property named '%s' on type 'microsoft.graph.teamsAdministration.numberAssignment'.", clipText(name))
	}
	prop := numberProps[i]
	if prop == "id" || prop == "city" {
		return numberTerm{}, fmt.Errorf("filtering on '%s' is not supported on numberAssignments", prop)
	}
	sc.i += end
	term := numberTerm{prop: prop, target: noUser}
	if slices.Contains(numberCollections, prop) {
		// collection/any(x:x eq 'value')
		rest := sc.rest()
		if !strings.HasPrefix(rest, "/any(") {
			return numberTerm{}, fmt.Errorf("'%s' is a collection: use %s/any(x:x eq '...') at position %d", prop, prop, start)
		}
		sc.i += len("/any(")
		raw, _, found := strings.Cut(sc.rest(), ":")
		v := strings.TrimSpace(raw)
		if !found || v == "" || strings.ContainsAny(v, " ()'/") {
			return numberTerm{}, fmt.Errorf("expected a range variable and ':' in %s/any at position %d", prop, sc.i)
		}
		sc.i += len(raw) + 1
		if !sc.word(v) || !sc.word("eq") {
			return numberTerm{}, fmt.Errorf("only %s/any(%s:%s eq '...') is supported at position %d", prop, v, v, start)
		}
		val, quoted, err := sc.lit()
		if err != nil || !quoted {
			return numberTerm{}, fmt.Errorf("%s/any takes a quoted value at position %d", prop, sc.i)
		}
		sc.space()
		if !strings.HasPrefix(sc.rest(), ")") {
			return numberTerm{}, fmt.Errorf("expected ')' at position %d", sc.i)
		}
		sc.i++
		if err := checkNumberEnum(prop, val); err != nil {
			return numberTerm{}, err
		}
		term.value, term.any = val, true
		return term, nil
	}
	if !sc.word("eq") {
		return numberTerm{}, fmt.Errorf("only eq is supported on %s at position %d", prop, sc.i)
	}
	sc.space()
	if sc.word("null") {
		term.isNull = true
		return term, nil
	}
	val, quoted, err := sc.lit()
	if err != nil || !quoted {
		return numberTerm{}, fmt.Errorf("%s takes a quoted value or null at position %d", prop, sc.i)
	}
	if err := checkNumberEnum(prop, val); err != nil {
		return numberTerm{}, err
	}
	term.value = val
	if prop == "assignmentTargetId" {
		if u, ok := t.dir.User(val); ok && isGUID(val) {
			term.target = u.Index
		}
	}
	return term, nil
}

func checkNumberEnum(prop, val string) error {
	members, ok := numberEnums[prop]
	if !ok || slices.Contains(members, val) {
		return nil
	}
	//lint:ignore ST1005 OData's own message, word for word
	return fmt.Errorf("The string '%s' is not a valid enumeration type constant.", clipText(val))
}

func (term *numberTerm) match(n *numberView) bool {
	if term.any {
		return slices.Contains(n.list(term.prop), term.value)
	}
	if term.prop == "assignmentTargetId" && !term.isNull {
		return n.rec.target != noUser && n.rec.target == term.target
	}
	v, ok := n.str(term.prop)
	if term.isNull {
		return !ok
	}
	return ok && strings.EqualFold(v, term.value)
}

// handleNumberAssignments is GET
// /v1.0/admin/teams/telephoneNumberManagement/numberAssignments: the
// inventory by ascending telephoneNumber, $filter, $select, $top (default
// 500, at most 1,000) and $skip. Graph documents paging by $skip only, so
// the fake sends no @odata.nextLink: a client pages until a short page.
func (s *Server) handleNumberAssignments(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permNumbersRead)
	if !ok {
		return
	}
	qv := r.URL.Query()
	bad := func(msg string) {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: msg})
	}
	for k := range qv {
		switch k {
		case "$top", "$skip", "$select", "$filter":
		default:
			if strings.HasPrefix(k, "$") {
				bad(fmt.Sprintf("Query option '%s' is not supported on numberAssignments.", k))
				return
			}
		}
	}
	top, skip := NumbersDefaultTop, 0
	if v := qv.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > NumbersMaxTop {
			bad(fmt.Sprintf("Invalid page size specified: '%s'. Must be between 1 and %d inclusive.", v, NumbersMaxTop))
			return
		}
		top = n
	}
	if v := qv.Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad(fmt.Sprintf("Invalid value '%s' for $skip: it must be a non-negative integer.", v))
			return
		}
		skip = n
	}
	sel, err := parseNumberSelect(qv.Get("$select"))
	if err != nil {
		bad(err.Error())
		return
	}
	t := p.tenant
	t.settleOps()
	terms, err := parseNumberFilter(qv.Get("$filter"), t)
	if err != nil {
		bad("Invalid filter clause: " + err.Error())
		return
	}
	page := t.listNumbers(terms, skip, top)
	out := make([]byte, 0, 256+len(page)*700)
	out = append(out, `{"@odata.context":`...)
	out = appendJSONString(out, graphContext+"admin/teams/telephoneNumberManagement/numberAssignments")
	out = append(out, `,"value":[`...)
	for i := range page {
		if i > 0 {
			out = append(out, ',')
		}
		out = page[i].appendJSON(out, sel)
	}
	out = append(out, "]}"...)
	writeGraphJSON(w, out)
}

// listNumbers returns the numbers matching terms, skipping skip of them,
// at most top.
func (t *Tenant) listNumbers(terms []numberTerm, skip, top int) []numberView {
	n := t.dir.N()
	vs := t.voice
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	var page []numberView
	// telephoneNumber eq: one number at most.
	for _, term := range terms {
		if term.prop == "telephoneNumber" && !term.isNull && !term.any {
			k, ok := t.numberIndex(term.value)
			if !ok {
				return nil
			}
			v := numberView{k: k, rec: vs.numberLocked(t.ID, k), t: t}
			for i := range terms {
				if !terms[i].match(&v) {
					return nil
				}
			}
			if skip > 0 {
				return nil
			}
			return []numberView{v}
		}
	}
	for _, loc := range numberLocOrder {
		for k := loc; k < n; k += 10 {
			if k >= vs.n0 && vs.isGuest(k) { // guests come after the tenant's first users
				continue
			}
			v := numberView{k: k, rec: vs.numberLocked(t.ID, k), t: t}
			ok := true
			for i := range terms {
				if !terms[i].match(&v) {
					ok = false
					break
				}
			}
			if !ok {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			page = append(page, v)
			if len(page) == top {
				return page
			}
		}
	}
	return page
}

func parseNumberSelect(v string) ([]string, error) {
	return parseSelectOf(v, numberProps, "numberAssignment")
}

// handleNumberAssignment is GET .../numberAssignments/{id}.
func (s *Server) handleNumberAssignment(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permNumbersRead)
	if !ok {
		return
	}
	sel, err := parseNumberSelect(r.URL.Query().Get("$select"))
	if err != nil {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: err.Error()})
		return
	}
	t := p.tenant
	t.settleOps()
	id := r.PathValue("id")
	k, found := t.numberByID(id)
	if !found {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "NotFound",
			msg: fmt.Sprintf("The number assignment '%s' was not found.", id)})
		return
	}
	t.voice.mu.RLock()
	v := numberView{k: k, rec: t.voice.numberLocked(t.ID, k), t: t}
	t.voice.mu.RUnlock()
	out := []byte(`{"@odata.context":`)
	out = appendJSONString(out, graphContext+"admin/teams/telephoneNumberManagement/numberAssignments/$entity")
	out = append(out, ',')
	out = append(out, v.appendJSON(nil, sel)[1:]...)
	writeGraphJSON(w, out)
}
