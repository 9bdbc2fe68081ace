package voice

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxPlanCSVRows bounds the rows of a plan's CSV.
const MaxPlanCSVRows = 50_000

// CodeMalformedCSV: a plan's CSV cannot be read (Field names the line
// and column); nothing was planned.
const CodeMalformedCSV Code = "malformedCsv"

// The CSV columns besides the policy types.
var csvColumns = []string{"user", "number", "range", "numberType", "licenses", "locationId", "category"}

// csvRow is one row of a plan's CSV.
type csvRow struct {
	Line       int               `json:"line"`
	User       string            `json:"user"`
	Number     string            `json:"number,omitempty"`
	Range      string            `json:"range,omitempty"`
	NumberType string            `json:"numberType,omitempty"`
	Licenses   string            `json:"licenses,omitempty"`
	LocationID string            `json:"locationId,omitempty"`
	Category   string            `json:"category,omitempty"`
	Policies   map[string]string `json:"policies,omitempty"`
}

func malformed(line int, detail string) *Error {
	f := "csv"
	if line > 0 {
		f = fmt.Sprintf("csv line %d", line)
	}
	return &Error{Code: CodeMalformedCSV, Field: f, Detail: detail}
}

// isPolicyColumn reports a header naming a Teams policy type
// (OnlineVoiceRoutingPolicy, TenantDialPlan, TeamsCallingPolicy, ...).
func isPolicyColumn(h string) bool {
	if h == "" || len(h) > 64 || strings.Trim(h, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
		return false
	}
	return strings.HasSuffix(h, "Policy") || strings.HasSuffix(h, "DialPlan")
}

// parseCSV reads a plan's CSV: a header row naming the columns (user
// required; number, range, numberType, licenses, locationId, category
// and policy types such as OnlineVoiceRoutingPolicy, in any order,
// case-insensitive for the fixed ones), then one user a row. It refuses
// (CodeMalformedCSV) what is not such a CSV; a row's bad values are left
// to the plan, which names them per row.
func parseCSV(r io.Reader) ([]csvRow, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, malformed(0, "the CSV is empty: give a header row (user,number,range,...) and one user a row")
	}
	if err != nil {
		return nil, csvErr(err)
	}
	cols := make([]string, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if !utf8.ValidString(h) {
			return nil, malformed(1, "the header is not UTF-8")
		}
		name := ""
		for _, c := range csvColumns {
			if strings.EqualFold(h, c) {
				name = c
			}
		}
		if name == "" && isPolicyColumn(h) {
			name = "policy:" + h
		}
		if name == "" {
			return nil, malformed(1, fmt.Sprintf("unknown column %q: the columns are %s and policy types (OnlineVoiceRoutingPolicy, TenantDialPlan, TeamsCallingPolicy)",
				clipInput(h), strings.Join(csvColumns, ", ")))
		}
		if seen[strings.ToLower(name)] {
			return nil, malformed(1, fmt.Sprintf("column %q appears twice", clipInput(h)))
		}
		seen[strings.ToLower(name)] = true
		cols[i] = name
	}
	if !seen["user"] {
		return nil, malformed(1, "the header has no user column (a user principal name or object ID a row)")
	}
	var rows []csvRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		if len(rows) >= MaxPlanCSVRows {
			return nil, malformed(line, fmt.Sprintf("more than %d rows: split the CSV", MaxPlanCSVRows))
		}
		row := csvRow{Line: line}
		for i, v := range rec {
			v = strings.TrimSpace(v)
			if !utf8.ValidString(v) {
				return nil, malformed(line, "the row is not UTF-8")
			}
			if len(v) > 512 {
				return nil, malformed(line, fmt.Sprintf("the %s value is longer than 512 characters", strings.TrimPrefix(cols[i], "policy:")))
			}
			switch c := cols[i]; c {
			case "user":
				row.User = v
			case "number":
				row.Number = v
			case "range":
				row.Range = v
			case "numberType":
				row.NumberType = v
			case "licenses":
				row.Licenses = v
			case "locationId":
				row.LocationID = v
			case "category":
				row.Category = v
			default:
				if v != "" {
					if row.Policies == nil {
						row.Policies = map[string]string{}
					}
					row.Policies[strings.TrimPrefix(c, "policy:")] = v
				}
			}
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return nil, malformed(0, "the CSV has a header but no rows")
	}
	return rows, nil
}

func csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		what := pe.Err.Error()
		if errors.Is(pe.Err, csv.ErrFieldCount) {
			what = "the row has a different number of fields than the header"
		}
		return malformed(pe.Line, what)
	}
	return malformed(0, "the CSV cannot be read")
}

// request turns the row into a SetRequest, or the row's error.
func (r csvRow) request() (SetRequest, *PlanItemError) {
	req := SetRequest{Number: r.Number, Range: r.Range, NumberType: NumberType(r.NumberType), Licenses: strings.ToLower(r.Licenses),
		LocationID: r.LocationID, Category: strings.ToLower(r.Category), Policies: r.Policies}
	if req.Licenses == "none" {
		req.Licenses = ""
	}
	if strings.EqualFold(r.NumberType, "") {
		req.NumberType = ""
	}
	for _, t := range []NumberType{DirectRouting, CallingPlan, OperatorConnect} {
		if strings.EqualFold(r.NumberType, string(t)) {
			req.NumberType = t
		}
	}
	if r.Number == "" && r.Range == "" && req.NumberType != "" {
		req.Number = "next"
	}
	if err := checkSet(&req); err != nil {
		e, _ := AsError(err)
		f := strings.TrimPrefix(e.Field, "/")
		d := e.Detail
		if f == "number" {
			d = "malformed number: " + d
		}
		return req, &PlanItemError{Code: e.Code, Field: f, Detail: d, Action: e.Action}
	}
	return req, nil
}

// PlanCSV makes a plan from a CSV (see the admin API: a header row, one
// user a row, "next" numbers with a range). A CSV that cannot be read is
// refused with CodeMalformedCSV naming the line; each row's problem
// (unknown user, malformed number, number taken, unknown policy, range
// exhausted, too few license units) is its item's error. It changes
// nothing at Microsoft.
func (s *Service) PlanCSV(ctx context.Context, customer string, r io.Reader, actor string) (*Plan, error) {
	rows, err := parseCSV(r)
	if err != nil {
		return nil, err
	}
	return s.makePlan(ctx, customer, newPlanID(), planSource{Kind: "csv", Rows: rows}, actor)
}

// csvRead is one row's user as read from Microsoft.
type csvRead struct {
	u     planUser
	found bool
	err   error
}

// planRows plans each row in order, reading the rows' users from
// Microsoft a few at a time.
func (s *Service) planRows(ctx context.Context, pl *planner, rows []csvRow, w *planWriter) error {
	if err := pl.readSKUs(ctx); err != nil {
		return err
	}
	const chunk = 64
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		reads := make([]csvRead, len(part))
		var wg sync.WaitGroup
		sem := make(chan struct{}, 8)
		for i, row := range part {
			if row.User == "" {
				continue
			}
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer func() { <-sem; wg.Done() }()
				reads[i] = pl.readUser(ctx, row.User)
			}()
		}
		wg.Wait()
		for i, row := range part {
			it := PlanItem{Row: row.Line, User: row.User}
			rd := reads[i]
			req, rowErr := row.request()
			switch {
			case row.User == "":
				it = itemError(it, CodeUnknownUser, "user", "the row names no user: give a user principal name or object ID", "")
			case rd.err != nil:
				if _, ok := AsError(rd.err); !ok {
					return rd.err
				}
				e, _ := AsError(rd.err)
				it = itemError(it, e.Code, "user", e.Detail, e.Action)
			case !rd.found:
				it = itemError(it, CodeUnknownUser, "user", "the tenant has no user "+clipInput(row.User)+": check the spelling, or sync if the user was just created", "")
			case rowErr != nil:
				it.UserID, it.User, it.Current = rd.u.ID, rd.u.UPN, rd.u.current()
				it.Status, it.Error = PlanError, rowErr
			default:
				var work *plan
				var err error
				it, work, err = pl.decide(ctx, row.Line, rd.u, req)
				if err != nil {
					return err
				}
				if err := w.add(ctx, it, work); err != nil {
					return err
				}
				continue
			}
			if err := w.add(ctx, it, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// readUser reads one user (object ID or UPN) and its Teams configuration.
func (pl *planner) readUser(ctx context.Context, key string) csvRead {
	if strings.ContainsAny(key, "/?#\\ ") || len(key) > 256 {
		return csvRead{err: &Error{Code: CodeUnknownUser, Detail: "not a user principal name or object ID: " + clipInput(key)}}
	}
	gu, ok, err := pl.g.user(ctx, key)
	if err != nil || !ok {
		return csvRead{err: err}
	}
	tc, _, err := pl.g.teamsConfig(ctx, gu.ID)
	if err != nil {
		return csvRead{err: err}
	}
	u := planUser{ID: gu.ID, UPN: gu.UserPrincipalName, Enabled: gu.AccountEnabled == nil || *gu.AccountEnabled,
		UsageLocation: gu.UsageLocation, EV: tc.IsEnterpriseVoiceEnabled, Policies: map[string]string{}}
	st := userState{user: gu, skus: pl.skus}
	u.Phone, u.PSTN = st.has(planPhoneSystem), st.has(planCallingPlan)
	for _, n := range tc.TelephoneNumbers {
		num, err := ParseNumber(n.TelephoneNumber)
		if err != nil {
			num = n.TelephoneNumber
		}
		u.Numbers = append(u.Numbers, TelephoneNumberRef{Number: num, Category: n.AssignmentCategory})
	}
	for _, p := range tc.EffectivePolicyAssignments {
		if name, _ := tc.policy(p.PolicyType); name != "" {
			u.Policies[p.PolicyType] = name
		}
	}
	return csvRead{u: u, found: true}
}
