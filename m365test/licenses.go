package m365test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Microsoft's published SKU IDs (product names and service plan
// identifiers for licensing) of the SKUs the fake knows. Every tenant
// subscribes to the first four; [Tenant.Subscribe] adds the others.
const (
	SkuE3          = "05e9a617-0261-4cee-bb44-138d3ef5d965" // Microsoft 365 E3, SPE_E3
	SkuTeamsPhone  = "e43b5b99-8dfb-405f-9987-dc307f34bcbd" // Microsoft Teams Phone Standard, MCOEV
	SkuCallingPlan = "0dab259f-bf13-4952-b7f8-7db8f131b28d" // Microsoft Teams Domestic Calling Plan, MCOPSTN1
	SkuAudioConf   = "0c266dff-15dd-4b49-8397-2bb16070ed52" // Microsoft 365 Audio Conferencing, MCOMEETADV
	// SkuCallingPlanIntl (MCOPSTN2, Domestic and International Calling
	// Plan) is mutually exclusive with SkuCallingPlan.
	SkuCallingPlanIntl = "d3b4fe1f-9992-4930-8acb-ca6ec609365e"
	// SkuE5 (SPE_E5) includes Teams Phone (the MCOEV service plan).
	SkuE5 = "06ebc4ee-1bb5-47dd-8120-11324bc54e06"
)

type skuIdx uint8

const (
	skuE3 skuIdx = iota
	skuPhone
	skuPSTN1
	skuMeetAdv
	skuPSTN2
	skuE5
	numSkus
)

type skuMask uint8

func (m skuMask) has(k skuIdx) bool { return m&(1<<k) != 0 }

type servicePlan struct{ id, name, service string }

var (
	planTeams      = servicePlan{"57ff2da0-773e-42df-b2af-ffb7a2317929", "TEAMS1", "TeamspaceAPI"}
	planSkype      = servicePlan{"0feaeb32-d00e-4d66-bd5a-43b5b83db82c", "MCOSTANDARD", "MicrosoftCommunicationsOnline"}
	planExchange   = servicePlan{"efb87545-963c-4e0d-99df-69c6916d9eb0", "EXCHANGE_S_ENTERPRISE", "exchange"}
	planSharePoint = servicePlan{"5dbe027f-2339-4123-9542-606e4d348a72", "SHAREPOINTENTERPRISE", "SharePoint"}
	planOffice     = servicePlan{"43de0ff5-c92c-492b-9116-175376d08c38", "OFFICESUBSCRIPTION", "MicrosoftOffice"}
	planPhone      = servicePlan{"4828c8ec-dc2e-4779-b502-87ac9ce28ab7", "MCOEV", "MicrosoftCommunicationsOnline"}
	planPSTN1      = servicePlan{"4ed3ff63-69d7-4fb7-b984-5aec7f605ca8", "MCOPSTN1", "MicrosoftCommunicationsOnline"}
	planPSTN2      = servicePlan{"5a10155d-f5c1-411a-a8ec-e99aae125390", "MCOPSTN2", "MicrosoftCommunicationsOnline"}
	planMeetAdv    = servicePlan{"3e26ee1f-8a5f-4d52-aee2-b81ce45c8f40", "MCOMEETADV", "MicrosoftCommunicationsOnline"}
)

// skus is the fake's SKU catalog, by skuIdx. The suites list a subset of
// their real service plans: those Teams Phone depends on and a few
// others.
var skus = [numSkus]struct {
	id, part string
	uuid     [16]byte
	plans    []servicePlan
}{
	skuE3:      {id: SkuE3, part: "SPE_E3", plans: []servicePlan{planTeams, planSkype, planExchange, planSharePoint, planOffice}},
	skuPhone:   {id: SkuTeamsPhone, part: "MCOEV", plans: []servicePlan{planPhone}},
	skuPSTN1:   {id: SkuCallingPlan, part: "MCOPSTN1", plans: []servicePlan{planPSTN1}},
	skuMeetAdv: {id: SkuAudioConf, part: "MCOMEETADV", plans: []servicePlan{planMeetAdv}},
	skuPSTN2:   {id: SkuCallingPlanIntl, part: "MCOPSTN2", plans: []servicePlan{planPSTN2}},
	skuE5:      {id: SkuE5, part: "SPE_E5", plans: []servicePlan{planTeams, planSkype, planExchange, planSharePoint, planOffice, planPhone, planMeetAdv}},
}

func init() {
	for k := range skus {
		u, ok := parseGUID(skus[k].id)
		if !ok {
			panic("m365test: bad SKU ID " + skus[k].id)
		}
		skus[k].uuid = u
	}
}

// exclusivePlans are pairs of service plans a user cannot hold together.
var exclusivePlans = [][2]string{{planPSTN1.id, planPSTN2.id}}

// skuByID finds a catalog SKU by its skuId (case-insensitive).
func skuByID(id string) (skuIdx, bool) {
	for k := range skus {
		if strings.EqualFold(skus[k].id, id) {
			return skuIdx(k), true
		}
	}
	return 0, false
}

// Teams feature bits, in featureTypes order.
const (
	featTeams = 1 << iota
	featAudioConf
	featPhone
	featCallingPlan
)

// featureSets are the shared featureTypes slices by feature bits.
var featureSets = func() (out [16][]string) {
	names := []string{"Teams", "AudioConferencing", "PhoneSystem", "CallingPlan"}
	for bits := range out {
		out[bits] = []string{}
		for j, n := range names {
			if bits&(1<<j) != 0 {
				out[bits] = append(out[bits], n)
			}
		}
	}
	return out
}()

// enabledPlan reports whether the user holds service plan id through an
// assigned SKU that does not disable it.
func (u *userVoice) enabledPlan(id string) bool {
	for k := range numSkus {
		if !u.skus.has(k) || slices.Contains(u.disabledOf(k), id) {
			continue
		}
		if slices.ContainsFunc(skus[k].plans, func(p servicePlan) bool { return p.id == id }) {
			return true
		}
	}
	return false
}

// skuFeatures are the Teams feature bits of each SKU with no plan
// disabled.
var skuFeatures = func() (out [numSkus]int) {
	for k := range numSkus {
		u := userVoice{skus: 1 << k}
		out[k] = u.planFeatures()
	}
	return out
}()

// features returns the Teams feature bits the user's licenses give.
func (u *userVoice) features() int {
	if u.lic != nil {
		return u.planFeatures()
	}
	f := 0
	for k := range numSkus {
		if u.skus.has(k) {
			f |= skuFeatures[k]
		}
	}
	return f
}

// planFeatures is features, plan by plan.
func (u *userVoice) planFeatures() int {
	f := 0
	if u.enabledPlan(planTeams.id) {
		f |= featTeams
	}
	if u.enabledPlan(planMeetAdv.id) {
		f |= featAudioConf
	}
	if u.enabledPlan(planPhone.id) {
		f |= featPhone
	}
	if u.enabledPlan(planPSTN1.id) || u.enabledPlan(planPSTN2.id) {
		f |= featCallingPlan
	}
	return f
}

// tenantLicenses serves the directory's license properties from the
// tenant's voice state.
type tenantLicenses struct{ t *Tenant }

func (l tenantLicenses) user(i int) userVoice {
	vs := l.t.voice
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	if i >= l.t.dir.N() {
		return userVoice{}
	}
	return vs.userLocked(i)
}

func (l tenantLicenses) AppendAssignedLicenses(dst []byte, i int) []byte {
	u := l.user(i)
	dst = append(dst, '[')
	first := true
	for k := range numSkus {
		if !u.skus.has(k) {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, `{"disabledPlans":[`...)
		for j, p := range u.disabledOf(k) {
			if j > 0 {
				dst = append(dst, ',')
			}
			dst = appendTeamsString(dst, p)
		}
		dst = append(dst, `],"skuId":`...)
		dst = appendTeamsString(dst, skus[k].id)
		dst = append(dst, '}')
	}
	return append(dst, ']')
}

func (l tenantLicenses) AppendAssignedPlans(dst []byte, i int) []byte {
	u := l.user(i)
	dst = append(dst, '[')
	first := true
	for k := range numSkus {
		if !u.skus.has(k) && !u.removed.has(k) {
			continue
		}
		for _, p := range skus[k].plans {
			status := "Enabled"
			if !u.skus.has(k) || slices.Contains(u.disabledOf(k), p.id) {
				status = "Deleted"
			}
			if !first {
				dst = append(dst, ',')
			}
			first = false
			dst = append(dst, `{"assignedDateTime":`...)
			dst = appendTeamsString(dst, u.sinceOf(k).UTC().Format(time.RFC3339))
			dst = append(dst, `,"capabilityStatus":`...)
			dst = appendTeamsString(dst, status)
			dst = append(dst, `,"service":`...)
			dst = appendTeamsString(dst, p.service)
			dst = append(dst, `,"servicePlanId":`...)
			dst = appendTeamsString(dst, p.id)
			dst = append(dst, '}')
		}
	}
	return append(dst, ']')
}

func (l tenantLicenses) HasSku(i int, sku [16]byte) bool {
	for k := range numSkus {
		if skus[k].uuid == sku {
			return l.user(i).skus.has(k)
		}
	}
	return false
}

func (l tenantLicenses) LicenseCount(i int) int {
	u := l.user(i)
	n := 0
	for k := range numSkus {
		if u.skus.has(k) {
			n++
		}
	}
	return n
}

// consumedLocked counts the units of each SKU assigned to the tenant's
// users (deleted users' licenses are released). vs.mu is held.
func (t *Tenant) consumedLocked() (out [numSkus]int) {
	vs := t.voice
	n := t.dir.N()
	for i := -1; i < n; i++ {
		if t.dir.Deleted(i) {
			continue
		}
		var m skuMask
		if u, ok := vs.users[i]; ok {
			m = u.skus
		} else if !vs.isGuest(i) {
			m = 1<<skuE3 | 1<<skuMeetAdv
			if i >= 0 && i%3 == 0 {
				m |= 1 << skuPhone
				if i%2 == 1 {
					m |= 1 << skuPSTN1
				}
			}
		}
		for k := range numSkus {
			if m.has(k) {
				out[k]++
			}
		}
	}
	return out
}

var (
	permSubscribedSkus = perms{
		delegated: []string{"LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All", "Organization.Read.All", "Directory.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All"},
		app:       []string{"LicenseAssignment.Read.All", "LicenseAssignment.ReadWrite.All", "Organization.Read.All", "Directory.Read.All", "Organization.ReadWrite.All", "Directory.ReadWrite.All"},
	}
	permAssignLicense = perms{
		delegated: []string{"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"},
		app:       []string{"LicenseAssignment.ReadWrite.All", "User.ReadWrite.All", "Directory.ReadWrite.All"},
	}
)

// handleSubscribedSkus is GET /v1.0/subscribedSkus.
func (s *Server) handleSubscribedSkus(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permSubscribedSkus)
	if !ok {
		return
	}
	t := p.tenant
	vs := t.voice
	vs.mu.RLock()
	consumed := t.consumedLocked()
	prepaid := vs.prepaid
	vs.mu.RUnlock()
	out := []byte(`{"@odata.context":`)
	out = appendJSONString(out, graphContext+"subscribedSkus")
	out = append(out, `,"value":[`...)
	first := true
	for k := range numSkus {
		if prepaid[k] == 0 {
			continue
		}
		if !first {
			out = append(out, ',')
		}
		first = false
		sk := &skus[k]
		out = append(out, `{"accountId":`...)
		out = appendTeamsString(out, t.ID)
		out = append(out, `,"accountName":`...)
		out = appendJSONString(out, t.DisplayName)
		out = append(out, `,"appliesTo":"User","capabilityStatus":"Enabled","consumedUnits":`...)
		out = strconv.AppendInt(out, int64(consumed[k]), 10)
		out = append(out, `,"id":`...)
		out = appendTeamsString(out, t.ID+"_"+sk.id)
		out = append(out, `,"skuId":`...)
		out = appendTeamsString(out, sk.id)
		out = append(out, `,"skuPartNumber":`...)
		out = appendTeamsString(out, sk.part)
		out = append(out, `,"subscriptionIds":[`...)
		out = appendTeamsString(out, stableGUID("subscription\x00"+t.ID+"\x00"+sk.id))
		out = append(out, `],"prepaidUnits":{"enabled":`...)
		out = strconv.AppendInt(out, int64(prepaid[k]), 10)
		out = append(out, `,"lockedOut":0,"suspended":0,"warning":0},"servicePlans":[`...)
		for j, pl := range sk.plans {
			if j > 0 {
				out = append(out, ',')
			}
			out = append(out, `{"appliesTo":"User","provisioningStatus":"Success","servicePlanId":`...)
			out = appendTeamsString(out, pl.id)
			out = append(out, `,"servicePlanName":`...)
			out = appendTeamsString(out, pl.name)
			out = append(out, '}')
		}
		out = append(out, "]}"...)
	}
	out = append(out, "]}"...)
	writeGraphJSON(w, out)
}

// assignLicenseBody is the body of POST /users/{id}/assignLicense. The
// raw messages let the handler tell a missing parameter from an empty one.
type assignLicenseBody struct {
	AddLicenses    json.RawMessage `json:"addLicenses"`
	RemoveLicenses json.RawMessage `json:"removeLicenses"`
}

type licenseToAdd struct {
	SkuID         *string  `json:"skuId"`
	DisabledPlans []string `json:"disabledPlans"`
}

func badLicenseRequest(format string, args ...any) *graphError {
	return &graphError{status: http.StatusBadRequest, code: "Request_BadRequest", msg: fmt.Sprintf(format, args...)}
}

// parseAssignLicense decodes and checks an assignLicense body against the
// catalog, as Graph does before it looks at the user.
func parseAssignLicense(body []byte) (add []licenseToAdd, addIdx []skuIdx, remove []skuIdx, ge *graphError) {
	var b assignLicenseBody
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&b); err != nil {
		return nil, nil, nil, badLicenseRequest("The request body is not valid JSON: %s", clipText(err.Error()))
	}
	var missing []string
	if b.AddLicenses == nil {
		missing = append(missing, "addLicenses")
	}
	if b.RemoveLicenses == nil {
		missing = append(missing, "removeLicenses")
	}
	if len(missing) > 0 {
		return nil, nil, nil, badLicenseRequest("One or more parameters of the operation 'assignLicense' are missing from the request payload. The missing parameters are: %s.", strings.Join(missing, ", "))
	}
	var rm []string
	if err := json.Unmarshal(b.AddLicenses, &add); err != nil {
		return nil, nil, nil, badLicenseRequest("Invalid addLicenses: %s", clipText(err.Error()))
	}
	if err := json.Unmarshal(b.RemoveLicenses, &rm); err != nil {
		return nil, nil, nil, badLicenseRequest("Invalid removeLicenses: %s", clipText(err.Error()))
	}
	for _, a := range add {
		if a.SkuID == nil {
			return nil, nil, nil, badLicenseRequest("Invalid addLicenses: every license needs a skuId.")
		}
		if _, ok := parseGUID(*a.SkuID); !ok {
			return nil, nil, nil, badLicenseRequest("Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details.")
		}
		for _, d := range a.DisabledPlans {
			if _, ok := parseGUID(d); !ok {
				return nil, nil, nil, badLicenseRequest("Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details.")
			}
		}
	}
	for _, id := range rm {
		if _, ok := parseGUID(id); !ok {
			return nil, nil, nil, badLicenseRequest("Cannot convert a primitive value to the expected type 'Edm.Guid'. See the inner exception for more details.")
		}
	}
	for _, a := range add {
		k, ok := skuByID(*a.SkuID)
		if !ok {
			return nil, nil, nil, badLicenseRequest("License %s does not correspond to a valid company License.", strings.ToLower(*a.SkuID))
		}
		addIdx = append(addIdx, k)
	}
	for _, id := range rm {
		k, ok := skuByID(id)
		if !ok {
			return nil, nil, nil, badLicenseRequest("License %s does not correspond to a valid company License.", strings.ToLower(id))
		}
		remove = append(remove, k)
	}
	return add, addIdx, remove, nil
}

// handleAssignLicense is POST /v1.0/users/{id}/assignLicense: it adds and
// removes licenses in one call and answers the user (200), or refuses the
// whole call: a SKU the tenant does not subscribe to, a user without
// usageLocation, a SKU without free units, mutually exclusive plans.
func (s *Server) handleAssignLicense(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permAssignLicense)
	if !ok {
		return
	}
	var raw json.RawMessage
	if err := readJSONBody(r, &raw); err != nil {
		s.writeGraphError(w, r, badLicenseRequest("The request body is not valid JSON."))
		return
	}
	add, addIdx, remove, ge := parseAssignLicense(raw)
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	t := p.tenant
	id := r.PathValue("id")
	u, found := t.dir.User(id)
	if !found {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "Request_ResourceNotFound",
			msg: fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", id)})
		return
	}
	now := s.Now()
	vs := t.voice
	vs.mu.Lock()
	ge = t.assignLicensesLocked(u.Index, u.UsageLocation, add, addIdx, remove, now)
	vs.mu.Unlock()
	if ge != nil {
		s.writeGraphError(w, r, ge)
		return
	}
	// A license change is a change of the user: the next /users/delta
	// round reports it.
	_ = t.dir.Update(u.ID, nil)
	u, _ = t.dir.User(u.ID)
	s.writeUser(w, r, p, u)
}

// assignLicensesLocked applies one assignLicense call to user i, or
// changes nothing and returns Graph's refusal. vs.mu is held.
func (t *Tenant) assignLicensesLocked(i int, usageLocation string, add []licenseToAdd, addIdx []skuIdx, remove []skuIdx, now time.Time) *graphError {
	vs := t.voice
	for j, k := range addIdx {
		if vs.prepaid[k] == 0 {
			return badLicenseRequest("License %s does not correspond to a valid company License.", skus[k].id)
		}
		for _, d := range add[j].DisabledPlans {
			if !slices.ContainsFunc(skus[k].plans, func(p servicePlan) bool { return strings.EqualFold(p.id, d) }) {
				return badLicenseRequest("The service plan %s is not part of license %s.", strings.ToLower(d), skus[k].id)
			}
		}
	}
	for _, k := range remove {
		if vs.prepaid[k] == 0 {
			return badLicenseRequest("License %s does not correspond to a valid company License.", skus[k].id)
		}
	}
	if len(addIdx) > 0 && usageLocation == "" {
		return badLicenseRequest("License assignment cannot be done for user with invalid usage location.")
	}
	cur := vs.userLocked(i)
	next := cur
	next.lic = cur.lic.clone()
	for _, k := range remove {
		next.skus &^= 1 << k
		next.lic.disabled[k] = nil
	}
	for j, k := range addIdx {
		next.skus |= 1 << k
		next.lic.disabled[k] = nil
		for _, d := range add[j].DisabledPlans {
			next.lic.disabled[k] = append(next.lic.disabled[k], strings.ToLower(d))
		}
	}
	for _, pair := range exclusivePlans {
		if next.enabledPlan(pair[0]) && next.enabledPlan(pair[1]) {
			return badLicenseRequest("License assignment failed because service plans %s and %s are mutually exclusive.", pair[0], pair[1])
		}
	}
	consumed := t.consumedLocked()
	for _, k := range addIdx {
		if !cur.skus.has(k) && consumed[k] >= vs.prepaid[k] {
			return badLicenseRequest("License assignment failed because there are no available licenses for %s (%s).", skus[k].part, skus[k].id)
		}
	}
	t.changeUserLocked(i, now, func(u *userVoice) {
		for k := range numSkus {
			was, is := cur.skus.has(k), next.skus.has(k)
			switch {
			case is && !was:
				next.lic.since[k] = now.UTC().Truncate(time.Second)
				u.removed &^= 1 << k
			case was && !is:
				u.removed |= 1 << k
			}
		}
		u.skus, u.lic = next.skus, next.lic
	})
	e := VoiceEvent{Time: now, Kind: "assignLicense", Status: "succeeded"}
	e.UserID, _ = t.dir.IdentityAt(i)
	for _, k := range addIdx {
		e.AddedSkus = append(e.AddedSkus, skus[k].id)
	}
	for _, k := range remove {
		e.RemovedSkus = append(e.RemovedSkus, skus[k].id)
	}
	vs.logLocked(e)
	return nil
}

// parseGUID parses a GUID in its 36-character form.
func parseGUID(s string) ([16]byte, bool) {
	var out [16]byte
	if !isGUID(s) {
		return out, false
	}
	h := strings.ReplaceAll(s, "-", "")
	for i := range out {
		v, err := strconv.ParseUint(h[2*i:2*i+2], 16, 8)
		if err != nil {
			return out, false
		}
		out[i] = byte(v)
	}
	return out, true
}

// SetLicenseUnits sets the enabled (prepaid) units of the tenant's
// subscription to skuID, one of the Sku constants: a test buys or cancels
// licenses (0 unsubscribes; assignments stay, as when a subscription
// lapses). It fails for a SKU the fake does not know or negative units.
func (t *Tenant) SetLicenseUnits(skuID string, enabled int) error {
	k, ok := skuByID(skuID)
	if !ok || enabled < 0 {
		return fmt.Errorf("m365test: SetLicenseUnits: unknown SKU %q or negative units %d", skuID, enabled)
	}
	t.voice.mu.Lock()
	defer t.voice.mu.Unlock()
	t.voice.prepaid[k] = enabled
	return nil
}
