package m365test

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pstnPageSize is the page size of the PSTN report functions.
const pstnPageSize = 1000

// maxReportRange is the longest date range the report functions accept.
const maxReportRange = 90 * 24 * time.Hour

var permPstn = perms{app: []string{"CallRecords.Read.PstnCalls"}}

// DirectRoutingCall is a row of getDirectRoutingCalls: a call through
// one of the tenant's Session Border Controllers.
type DirectRoutingCall struct {
	// ID is the row's ID; empty generates one.
	ID string
	// UserPrincipalName is the Teams user of the call.
	UserPrincipalName string
	// Start is when the call was invited; End when it ended (or failed).
	Start, End time.Time
	// Duration is the connected time; zero for failed calls.
	Duration time.Duration
	// Successful tells whether the call connected.
	Successful bool
	// FinalSIPCode is the SIP response that ended the call (200 for a
	// completed call).
	FinalSIPCode int
	// FinalSIPCodePhrase is its reason phrase.
	FinalSIPCodePhrase string
	// TrunkFQDN is the SBC's fully qualified domain name.
	TrunkFQDN string
	// CallerNumber and CalleeNumber are E.164 numbers.
	CallerNumber, CalleeNumber string
	// CallType is e.g. "ByotIn" or "ByotOut".
	CallType string
}

// PstnCall is a row of getPstnCalls: a Calling Plan call.
type PstnCall struct {
	// ID is the row's ID; empty generates one.
	ID string
	// UserPrincipalName is the Teams user of the call.
	UserPrincipalName string
	// Start and End bound the call.
	Start, End time.Time
	// CallType is e.g. "user_out" or "user_in".
	CallType string
	// CallerNumber and CalleeNumber are E.164 numbers.
	CallerNumber, CalleeNumber string
}

// AddDirectRoutingCalls stores Direct Routing report rows in tenant.
func (s *Server) AddDirectRoutingCalls(tenant string, calls ...DirectRoutingCall) error {
	t, ok := s.Tenant(tenant)
	if !ok {
		return fmt.Errorf("m365test: AddDirectRoutingCalls: unknown tenant %q", tenant)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range calls {
		if c.ID == "" {
			c.ID = newID()
		}
		t.direct = append(t.direct, c)
	}
	return nil
}

// AddPstnCalls stores Calling Plan report rows in tenant.
func (s *Server) AddPstnCalls(tenant string, calls ...PstnCall) error {
	t, ok := s.Tenant(tenant)
	if !ok {
		return fmt.Errorf("m365test: AddPstnCalls: unknown tenant %q", tenant)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range calls {
		if c.ID == "" {
			c.ID = newID()
		}
		t.pstn = append(t.pstn, c)
	}
	return nil
}

// DemoDirectRoutingCall returns Direct Routing call j of the demo: user
// (3j mod n) calls out through sbc1.{domain} (even j) or sbc2.{domain}
// (odd j), starting at start; it completes (SIP 200, 60 + j%120 seconds)
// except when j%10 == 9 (486 Busy Here) or j%20 == 13 (503 Service
// Unavailable).
func DemoDirectRoutingCall(t *Tenant, j int, start time.Time) DirectRoutingCall {
	upn := t.AdminUPN()
	if n := t.Users(); n > 0 {
		upn = fmt.Sprintf("user%05d@%s", (3*j)%n, t.Domain())
	}
	c := DirectRoutingCall{
		UserPrincipalName: upn, Start: start, CallType: "ByotOut",
		TrunkFQDN:    fmt.Sprintf("sbc%d.%s", 1+j%2, t.Domain()),
		CallerNumber: fmt.Sprintf("+1206%07d", (3*j)%10_000_000), CalleeNumber: fmt.Sprintf("+1425%07d", j%10_000_000),
		FinalSIPCode: 200, FinalSIPCodePhrase: "BYE", Successful: true,
		Duration: time.Duration(60+j%120) * time.Second,
	}
	switch {
	case j%10 == 9:
		c.FinalSIPCode, c.FinalSIPCodePhrase, c.Successful, c.Duration = 486, "Busy Here", false, 0
	case j%20 == 13:
		c.FinalSIPCode, c.FinalSIPCodePhrase, c.Successful, c.Duration = 503, "Service Unavailable", false, 0
	}
	c.End = start.Add(c.Duration)
	return c
}

// PlaceDirectRoutingCalls adds the tenant's next n demo Direct Routing
// calls (see [DemoDirectRoutingCall]), each starting now.
func (s *Server) PlaceDirectRoutingCalls(tenant string, n int) error {
	t, ok := s.Tenant(tenant)
	if !ok {
		return fmt.Errorf("m365test: PlaceDirectRoutingCalls: unknown tenant %q", tenant)
	}
	s.mu.Lock()
	j0 := len(t.direct)
	now := s.nowLocked()
	s.mu.Unlock()
	calls := make([]DirectRoutingCall, n)
	for i := range calls {
		calls[i] = DemoDirectRoutingCall(t, j0+i, now)
	}
	return s.AddDirectRoutingCalls(tenant, calls...)
}

// reportFunction parses "getDirectRoutingCalls(fromDateTime=..,toDateTime=..)"
// or getPstnCalls, as Graph's function call syntax in a path segment.
func reportFunction(seg string) (fn string, args map[string]string, ok bool) {
	name, rest, found := strings.Cut(seg, "(")
	if !found || !strings.HasSuffix(rest, ")") {
		return "", nil, false
	}
	name = strings.TrimPrefix(name, "microsoft.graph.callRecords.")
	if name != "getDirectRoutingCalls" && name != "getPstnCalls" {
		return "", nil, false
	}
	args = map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(rest, ")"), ",") {
		k, v, _ := strings.Cut(kv, "=")
		args[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(v), "'")
	}
	return name, args, true
}

func parseReportTime(v string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02", v)
}

// handleReport serves getDirectRoutingCalls and getPstnCalls.
func (s *Server) handleReport(w http.ResponseWriter, r *http.Request, c *call, fn string, args map[string]string) {
	p, ok := s.graphAuth(w, r, c, permPstn)
	if !ok {
		return
	}
	bad := func(msg string) {
		s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: "BadRequest", msg: msg})
	}
	from, err1 := parseReportTime(args["fromDateTime"])
	to, err2 := parseReportTime(args["toDateTime"])
	if err1 != nil || err2 != nil {
		bad("fromDateTime and toDateTime are required DateTimeOffset parameters.")
		return
	}
	if !to.After(from) || to.Sub(from) > maxReportRange {
		bad("The date range must be positive and at most 90 days.")
		return
	}
	skip := 0
	if v := r.URL.Query().Get("$skip"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			bad("The $skip value is not valid.")
			return
		}
		skip = n
	}
	var rows []any
	s.mu.Lock()
	if fn == "getDirectRoutingCalls" {
		for _, dc := range p.tenant.direct {
			if dc.Start.Before(from) || !dc.Start.Before(to) {
				continue
			}
			var failure any
			if !dc.Successful {
				failure = graphTime(dc.End)
			}
			rows = append(rows, map[string]any{
				"id": dc.ID, "correlationId": dc.ID, "userPrincipalName": dc.UserPrincipalName, "userId": p.tenant.UserID(dc.UserPrincipalName),
				"userDisplayName": p.tenant.userDisplayName(dc.UserPrincipalName),
				"startDateTime":   graphTime(dc.Start), "inviteDateTime": graphTime(dc.Start), "failureDateTime": failure,
				"endDateTime": graphTime(dc.End), "duration": int(dc.Duration / time.Second), "callType": dc.CallType,
				"successfulCall": dc.Successful, "callerNumber": dc.CallerNumber, "calleeNumber": dc.CalleeNumber,
				"mediaPathLocation": "USWE", "signalingLocation": "USWE", "finalSipCode": dc.FinalSIPCode,
				"callEndSubReason": 0, "finalSipCodePhrase": dc.FinalSIPCodePhrase,
				"trunkFullyQualifiedDomainName": dc.TrunkFQDN, "mediaBypassEnabled": false,
			})
		}
	} else {
		for _, pc := range p.tenant.pstn {
			if pc.Start.Before(from) || !pc.Start.Before(to) {
				continue
			}
			usage := p.tenant.usageLocation(pc.UserPrincipalName)
			rows = append(rows, map[string]any{
				"id": pc.ID, "callId": pc.ID, "userPrincipalName": pc.UserPrincipalName, "userId": p.tenant.UserID(pc.UserPrincipalName),
				"startDateTime": graphTime(pc.Start), "endDateTime": graphTime(pc.End), "duration": int(pc.End.Sub(pc.Start) / time.Second),
				"callType": pc.CallType, "callerNumber": pc.CallerNumber, "calleeNumber": pc.CalleeNumber,
				"charge": 0, "currency": "USD", "licenseCapability": "MCOPSTNU", "operator": "Microsoft",
				// The rest of pstnCallLogRow (v1.0 CSDL; the getPstnCalls
				// reference's example row): a Calling Plan user's call,
				// counted in the user's country, Microsoft's duration.
				"userDisplayName": p.tenant.userDisplayName(pc.UserPrincipalName), "connectionCharge": 0,
				"usageCountryCode": usage, "tenantCountryCode": "US", "destinationContext": nil,
				"destinationName": countryName(usage), "conferenceId": nil, "inventoryType": "Subscriber",
				"callDurationSource": "microsoft",
			})
		}
	}
	s.mu.Unlock()
	end := min(skip+pstnPageSize, len(rows))
	page := []any{}
	if skip < end {
		page = rows[skip:end]
	}
	// The row types the functions return (getPstnCalls reference:
	// "#Collection(microsoft.graph.callRecords.pstnCallLogRow)").
	rowType := "pstnCallLogRow"
	if fn == "getDirectRoutingCalls" {
		rowType = "directRoutingLogRow"
	}
	body := map[string]any{"@odata.context": graphContext + "Collection(microsoft.graph.callRecords." + rowType + ")",
		"@odata.count": len(rows), "value": page}
	if end < len(rows) {
		body["@odata.nextLink"] = "https://" + GraphHost + "/v1.0/communications/callRecords/" + url.PathEscape(r.PathValue("id")) + "?$skip=" + strconv.Itoa(end)
	}
	writeJSON(w, http.StatusOK, body)
}

// userDisplayName is the displayName of the tenant's user upn, or nil.
func (t *Tenant) userDisplayName(upn string) any {
	if u, ok := t.dir.User(upn); ok && u.DisplayName != "" {
		return u.DisplayName
	}
	return nil
}

// usageLocation is the usageLocation of the tenant's user upn ("US"
// when it has none).
func (t *Tenant) usageLocation(upn string) string {
	if u, ok := t.dir.User(upn); ok && u.UsageLocation != "" {
		return u.UsageLocation
	}
	return "US"
}

// countryName names the demo data's usage locations in English, as
// pstnCallLogRow.destinationName does.
func countryName(code string) string {
	names := map[string]string{"US": "United States", "GB": "United Kingdom", "DE": "Germany", "FR": "France",
		"IT": "Italy", "ES": "Spain", "NL": "Netherlands", "SE": "Sweden", "PL": "Poland", "JP": "Japan"}
	if n, ok := names[code]; ok {
		return n
	}
	return code
}
