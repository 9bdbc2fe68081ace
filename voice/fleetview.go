package voice

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/internal/cursor"
	"github.com/tenantgate/tenantgate/usersync"
)

// CustomerVoice is one customer's voice at a glance, for the fleet view
// (GET /voice): kept per customer, the users part after each user sync
// (Summarize), the ranges part after each range check (a refresh, an
// operation's end), the running operations counted when read.
type CustomerVoice struct {
	Customer string `json:"customer"`
	// Name is the customer's display name, when FleetQuery.Name gives one.
	Name string `json:"name,omitempty"`
	// Users counts the voice users (a Teams Phone license or Enterprise
	// Voice) at the last summary; Ready those ready to call the PSTN;
	// NotReady the others by their first failed check (CheckAccountEnabled,
	// CheckUsageLocation, ...); NotReadyTotal their sum.
	Users         int            `json:"users"`
	Ready         int            `json:"ready"`
	NotReady      map[string]int `json:"notReady"`
	NotReadyTotal int            `json:"notReadyTotal"`
	// SummarizedAt is when the users were counted; nil before the first
	// summary.
	SummarizedAt *time.Time `json:"summarizedAt"`
	// Ranges are the customer's ranges with their free numbers and level
	// as last checked, at RangesAt.
	Ranges   []RangeFree `json:"ranges"`
	RangesAt *time.Time  `json:"rangesAt"`
	// Running counts the customer's operations queued or running.
	Running int `json:"running"`
}

// RangeFree is a range's free numbers as last checked.
type RangeFree struct {
	Name       string     `json:"name"`
	Type       NumberType `json:"type"`
	Numbers    int        `json:"numbers"`
	Free       int        `json:"free"`
	Reserved   int        `json:"reserved"`
	Quarantine int        `json:"quarantined"`
	// Level is ok, low or exhausted; "" when the tenant holds none of the
	// range's numbers.
	Level RangeLevel `json:"level"`
}

// The sort orders of FleetQuery.
const (
	FleetSortCustomer = "customer" // by customer ID (the default)
	FleetSortNotReady = "notReady" // most users not ready first
	FleetSortFree     = "free"     // fewest free numbers in a range first
	FleetSortUsers    = "users"    // most voice users first
	FleetSortRunning  = "running"  // most operations running first
)

// FleetQuery pages the fleet view.
type FleetQuery struct {
	// Search keeps customers whose ID or name contains it, in any case.
	Search string
	// Name, when set, gives a customer's display name (searched, sorted
	// with the ID, and returned).
	Name func(customer string) string
	// NotReady keeps customers with users not ready; Low those with a
	// range low or exhausted; Running those with operations queued or
	// running.
	NotReady, Low, Running bool
	// Sort is one of the FleetSort orders; "" means FleetSortCustomer.
	Sort string
	// Visible, when set, keeps the customers it accepts (the caller's
	// authorization), before paging.
	Visible func(customer string) bool
	// Limit is the page size: default 50, at most 500.
	Limit int
	// After is the Next of the previous page.
	After string
}

// FleetPage is a page of the fleet view.
type FleetPage struct {
	Customers []CustomerVoice `json:"customers"`
	Next      string          `json:"next,omitempty"`
	// Total counts the customers the query keeps, on every page.
	Total int `json:"total"`
}

// fleetKey is a customer's sort value under sort, ascending.
func fleetKey(sort string, c *CustomerVoice) int {
	switch sort {
	case FleetSortNotReady:
		return -c.NotReadyTotal
	case FleetSortUsers:
		return -c.Users
	case FleetSortRunning:
		return -c.Running
	case FleetSortFree:
		least := int(^uint(0) >> 2) // no range: last
		for _, r := range c.Ranges {
			if r.Level != "" {
				least = min(least, r.Free)
			}
		}
		return least
	}
	return 0
}

// Fleet returns a page of every customer's voice at a glance: the
// customers voice has a summary or ranges of, filtered, sorted and paged
// (a cursor that is refused by a query with other filters or order).
func (s *Service) Fleet(ctx context.Context, q FleetQuery) (FleetPage, error) {
	if q.Sort == "" {
		q.Sort = FleetSortCustomer
	}
	if !slices.Contains([]string{FleetSortCustomer, FleetSortNotReady, FleetSortFree, FleetSortUsers, FleetSortRunning}, q.Sort) {
		return FleetPage{}, refuse(CodeInvalid, "sort", "sort must be customer, notReady, free, users or running")
	}
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	limit = min(limit, 500)
	scope := cursor.Scope(strings.ToLower(q.Search), strconv.FormatBool(q.NotReady), strconv.FormatBool(q.Low), strconv.FormatBool(q.Running), q.Sort)
	var afterKey int
	var afterCustomer string
	if q.After != "" {
		parts, err := cursor.Decode(q.After, "voice-fleet", scope, 2)
		if err != nil {
			return FleetPage{}, refuse(CodeInvalid, "after", "not a cursor of this listing with these filters")
		}
		if afterKey, err = strconv.Atoi(parts[0]); err != nil {
			return FleetPage{}, refuse(CodeInvalid, "after", "not a cursor of this listing with these filters")
		}
		afterCustomer = parts[1]
	}
	all, err := s.cfg.Store.summaries(ctx)
	if err != nil {
		return FleetPage{}, err
	}
	running, err := s.cfg.Store.runningByCustomer(ctx)
	if err != nil {
		return FleetPage{}, err
	}
	search := strings.ToLower(strings.TrimSpace(q.Search))
	kept := make([]CustomerVoice, 0, len(all))
	for _, c := range all {
		c.Running = running[c.Customer]
		if q.Name != nil {
			if n := q.Name(c.Customer); n != c.Customer {
				c.Name = n
			}
		}
		low := false
		for _, r := range c.Ranges {
			low = low || r.Level == RangeLow || r.Level == RangeExhausted
		}
		switch {
		case search != "" && !strings.Contains(strings.ToLower(c.Customer), search) && !strings.Contains(strings.ToLower(c.Name), search),
			q.NotReady && c.NotReadyTotal == 0, q.Low && !low, q.Running && c.Running == 0,
			q.Visible != nil && !q.Visible(c.Customer):
			continue
		}
		kept = append(kept, c)
	}
	slices.SortFunc(kept, func(a, b CustomerVoice) int {
		return cmp.Or(cmp.Compare(fleetKey(q.Sort, &a), fleetKey(q.Sort, &b)), strings.Compare(a.Customer, b.Customer))
	})
	page := FleetPage{Customers: []CustomerVoice{}, Total: len(kept)}
	start := 0
	if q.After != "" {
		start = len(kept)
		for i := range kept {
			if k := fleetKey(q.Sort, &kept[i]); k > afterKey || (k == afterKey && kept[i].Customer > afterCustomer) {
				start = i
				break
			}
		}
	}
	end := min(start+limit, len(kept))
	page.Customers = append(page.Customers, kept[start:end]...)
	if end < len(kept) && end > start {
		last := &kept[end-1]
		page.Next = cursor.Encode("voice-fleet", scope, strconv.Itoa(fleetKey(q.Sort, last)), last.Customer)
	}
	return page, nil
}

// voiceUsersFilter selects the users the summary counts.
const voiceUsersFilter = "FeatureTypes -contains 'PhoneSystem' -or EnterpriseVoiceEnabled -eq $true"

// Summarize counts customer's voice users, ready and not ready by their
// first failed check, from one filtered read of Microsoft (the users
// with Teams Phone or Enterprise Voice, joined with their Teams
// configuration, as a user sync reads them) and the stored inventory
// (number types, activation, emergency locations); the fleet view shows
// it. The after-sync job calls it.
func (s *Service) Summarize(ctx context.Context, customer string) (CustomerVoice, error) {
	g, err := s.graphFor(ctx, customer)
	if err != nil {
		return CustomerVoice{}, err
	}
	users, err := s.usersSource(ctx, g)
	if err != nil {
		return CustomerVoice{}, err
	}
	inv, err := s.cfg.Store.assignedNumbers(ctx, customer)
	if err != nil {
		return CustomerVoice{}, err
	}
	q, err := usersync.CompileFilter(voiceUsersFilter)
	if err != nil {
		return CustomerVoice{}, err
	}
	at := s.now().UTC()
	cv := CustomerVoice{Customer: customer, NotReady: map[string]int{}, SummarizedAt: &at}
	err = users.Read(ctx, customer, q, func(p usersync.Page) error {
		for i := range p.Users {
			u := &p.Users[i]
			if q.Match != nil && !q.Match(u) {
				continue
			}
			cv.Users++
			if c := firstFailedCheck(u, inv); c != "" {
				cv.NotReady[c]++
				cv.NotReadyTotal++
			} else {
				cv.Ready++
			}
		}
		return nil
	})
	if err != nil {
		return CustomerVoice{}, err
	}
	if err := s.cfg.Store.putUserSummary(ctx, cv, at); err != nil {
		return CustomerVoice{}, fmt.Errorf("voice: store the summary of %q: %w", customer, err)
	}
	return cv, nil
}

// firstFailedCheck is the name of the first readiness check u fails ("":
// ready), in the order of UserVoice's checks, judged from what a sync
// reads: Teams feature types stand for the licenses, the inventory for
// the number's type, activation and emergency location.
func firstFailedCheck(u *usersync.User, inv map[string]numberRow) string {
	t := u.Teams
	if t == nil {
		t = &usersync.TeamsConfig{}
	}
	has := func(f string) bool {
		return slices.ContainsFunc(t.FeatureTypes, func(x string) bool { return strings.EqualFold(x, f) })
	}
	switch {
	case !u.AccountEnabled:
		return CheckAccountEnabled
	case u.UsageLocation == "":
		return CheckUsageLocation
	case !has("PhoneSystem"):
		return CheckPhoneLicense
	case !t.EnterpriseVoiceEnabled:
		return CheckEnterpriseVoice
	}
	var primary string
	for _, n := range t.TelephoneNumbers {
		if primary == "" || strings.EqualFold(n.Category, "primary") {
			primary = n.Number
		}
	}
	if primary == "" {
		return CheckPrimaryNumber
	}
	row, known := inv[canonicalLine(primary)]
	if known && row.Activation != "" && row.Activation != "activated" {
		return CheckPrimaryNumber
	}
	switch {
	case known && NumberType(row.Type) == DirectRouting && t.Policies[PolicyVoiceRouting] == "":
		return CheckVoiceRouting
	case known && NumberType(row.Type) == CallingPlan && !has("CallingPlan"):
		return CheckCallingPlanLicense
	case known && NumberType(row.Type) == CallingPlan && row.LocationID == "":
		return CheckEmergencyLocation
	}
	return ""
}

// canonicalLine turns a LineUri-style number (tel:+39...) into E.164.
func canonicalLine(n string) string {
	n = strings.TrimPrefix(strings.TrimPrefix(n, "tel:"), "TEL:")
	if i := strings.IndexByte(n, ';'); i >= 0 {
		n = n[:i]
	}
	if !strings.HasPrefix(n, "+") {
		n = "+" + n
	}
	return n
}

// rangeFreeOf is the fleet view's part of a range's stats.
func (s *Service) rangeFreeOf(st RangeStats) RangeFree {
	return RangeFree{Name: st.Name, Type: st.Type, Numbers: st.Numbers, Free: st.Free, Reserved: st.Reserved, Quarantine: st.Quarantined, Level: s.Level(st)}
}

// ---- store

// putUserSummary stores the users part of cv.
func (s *Store) putUserSummary(ctx context.Context, cv CustomerVoice, at time.Time) error {
	b, err := json.Marshal(userSummary{Users: cv.Users, Ready: cv.Ready, NotReady: cv.NotReady})
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_summaries (customer, users, users_at, ranges, ranges_at) VALUES (?, ?, ?, '', 0)
		ON CONFLICT (customer) DO UPDATE SET users = excluded.users, users_at = excluded.users_at`), cv.Customer, string(b), nanos(at))
	return err
}

// putRangeSummary stores the ranges part of customer's summary.
func (s *Store) putRangeSummary(ctx context.Context, customer string, rs []RangeFree, at time.Time) error {
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_summaries (customer, users, users_at, ranges, ranges_at) VALUES (?, '', 0, ?, ?)
		ON CONFLICT (customer) DO UPDATE SET ranges = excluded.ranges, ranges_at = excluded.ranges_at`), customer, string(b), nanos(at))
	return err
}

// userSummary is the stored users part of a CustomerVoice.
type userSummary struct {
	Users    int            `json:"users"`
	Ready    int            `json:"ready"`
	NotReady map[string]int `json:"notReady"`
}

// summaries reads every customer's summary.
func (s *Store) summaries(ctx context.Context) ([]CustomerVoice, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT customer, users, users_at, ranges, ranges_at FROM tenantgate_voice_summaries`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []CustomerVoice
	for rows.Next() {
		var c CustomerVoice
		var users, ranges string
		var usersAt, rangesAt int64
		if err := rows.Scan(&c.Customer, &users, &usersAt, &ranges, &rangesAt); err != nil {
			return nil, err
		}
		c.NotReady, c.Ranges = map[string]int{}, []RangeFree{}
		if users != "" {
			var us userSummary
			if err := json.Unmarshal([]byte(users), &us); err != nil {
				return nil, err
			}
			c.Users, c.Ready = us.Users, us.Ready
			for k, n := range us.NotReady {
				c.NotReady[k] = n
				c.NotReadyTotal += n
			}
			t := fromNanos(usersAt).UTC()
			c.SummarizedAt = &t
		}
		if ranges != "" {
			if err := json.Unmarshal([]byte(ranges), &c.Ranges); err != nil {
				return nil, err
			}
			t := fromNanos(rangesAt).UTC()
			c.RangesAt = &t
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// runningByCustomer counts each customer's operations queued or running.
func (s *Store) runningByCustomer(ctx context.Context) (map[string]int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT customer, count(*) FROM tenantgate_voice_operations WHERE state IN ('queued', 'running') GROUP BY customer`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var c string
		var n int
		if err := rows.Scan(&c, &n); err != nil {
			return nil, err
		}
		out[c] = n
	}
	return out, rows.Err()
}

// assignedNumbers maps customer's assigned numbers to their rows.
func (s *Store) assignedNumbers(ctx context.Context, customer string) (map[string]numberRow, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT number, number_type, activation_state, location_id FROM tenantgate_voice_numbers
		WHERE customer = ? AND assignment_status <> 'unassigned'`), customer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]numberRow{}
	for rows.Next() {
		var n numberRow
		if err := rows.Scan(&n.Number, &n.Type, &n.Activation, &n.LocationID); err != nil {
			return nil, err
		}
		out[n.Number] = n
	}
	return out, rows.Err()
}
