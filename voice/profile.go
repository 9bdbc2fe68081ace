package voice

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"maps"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/usersync"
)

// Profile is a named voice setup of a customer: what a kind of user gets
// (a number from a range or of a number type, licenses, voice policies,
// an emergency location), optionally which users are of that kind (a
// filter in the Get-CsOnlineUser language of usersync/filter), and
// whether new and leaving users are handled by it after each user sync.
type Profile struct {
	// Name identifies the profile within the customer: 1 to 64 letters,
	// digits, spaces, '-', '_' or '.'.
	Name string `json:"name"`
	// Range names the range numbers come from ("next": its lowest free
	// number); NumberType, without Range, takes them from the customer's
	// ranges of that type, in order. Neither: the profile sets no number.
	Range      string     `json:"range,omitempty"`
	NumberType NumberType `json:"numberType,omitempty"`
	// Licenses "auto" assigns the licenses the number type needs (Teams
	// Phone, and a Calling Plan for Calling Plan numbers) to users who
	// lack them; empty assigns none (users without them are errors).
	Licenses string `json:"licenses,omitempty"`
	// Policies maps a policy type to a policy name ("Global" removes the
	// direct assignment).
	Policies map[string]string `json:"policies,omitempty"`
	// LocationID is the emergency location sent with a number; empty
	// means the range's.
	LocationID string `json:"locationId,omitempty"`
	// Filter selects the profile's users (usersync/filter); empty means
	// a plan must name them (a filter or a CSV).
	Filter string `json:"filter,omitempty"`
	// Joiners provisions, after each user sync, the users the filter
	// matches that have no number; Leavers releases users who were
	// disabled or deleted. Both off by default; DryRun only reports what
	// they would do.
	Joiners bool `json:"joiners"`
	Leavers bool `json:"leavers"`
	DryRun  bool `json:"dryRun"`
	// Updated is when the profile was last saved.
	Updated time.Time `json:"updatedAt"`
}

// maxProfiles bounds how many profiles a customer has.
const maxProfiles = 200

// setRequest is the SetRequest the profile asks of one user, the number
// left to the plan.
func (p *Profile) setRequest() SetRequest {
	r := SetRequest{Range: p.Range, NumberType: p.NumberType, LocationID: p.LocationID, Licenses: p.Licenses, Category: "primary"}
	if len(p.Policies) > 0 {
		r.Policies = maps.Clone(p.Policies)
	}
	if p.Range != "" || p.NumberType != "" {
		r.Number = "next"
	}
	return r
}

// checkProfile validates p's form and returns it in canonical form.
func checkProfile(p Profile, ranges []Range) (Profile, error) {
	p.Name = strings.TrimSpace(p.Name)
	if p.Name == "" || len(p.Name) > 64 || strings.Trim(p.Name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.") != "" {
		return p, refuse(CodeInvalid, "/name", "1 to 64 letters, digits, spaces, '-', '_' or '.'")
	}
	if p.NumberType != "" && !p.NumberType.Valid() {
		return p, refuse(CodeInvalid, "/numberType", "must be directRouting, callingPlan or operatorConnect")
	}
	if p.Range != "" {
		r, ok := findRange(ranges, p.Range)
		if !ok {
			return p, refuse(CodeUnknownRange, "/range", "the customer has no range "+clipInput(p.Range))
		}
		p.Range = r.Name
		if p.NumberType != "" && p.NumberType != r.Type {
			return p, refuse(CodeInvalid, "/numberType", "range "+r.Name+" holds "+string(r.Type)+" numbers, not "+string(p.NumberType))
		}
		p.NumberType = r.Type
	} else if p.NumberType != "" && !hasRangeOfType(ranges, p.NumberType) {
		return p, refuse(CodeUnknownRange, "/numberType", "the customer has no range of "+string(p.NumberType)+" numbers")
	}
	req := SetRequest{Policies: p.Policies, Licenses: p.Licenses, LocationID: p.LocationID}
	if err := checkSet(&req); err != nil {
		return p, err
	}
	if req.Licenses == "none" {
		req.Licenses = ""
	}
	p.Licenses = req.Licenses
	if len(p.LocationID) > 256 {
		return p, refuse(CodeInvalid, "/locationId", "at most 256 characters")
	}
	p.Filter = strings.TrimSpace(p.Filter)
	if p.Filter != "" {
		if _, err := usersync.CompileFilter(p.Filter); err != nil {
			return p, &Error{Code: CodeInvalid, Field: "/filter", Detail: "the filter is not valid: " + err.Error(), Err: err}
		}
	}
	if (p.Joiners || p.Leavers) && p.Filter == "" {
		return p, refuse(CodeInvalid, "/filter", "joiners and leavers need a filter: the users the profile is for")
	}
	if p.Range == "" && p.NumberType == "" && len(p.Policies) == 0 && p.Licenses == "" {
		return p, refuse(CodeInvalid, "/range", "the profile sets nothing: give a range or number type, licenses or policies")
	}
	return p, nil
}

func hasRangeOfType(rs []Range, t NumberType) bool {
	for _, r := range rs {
		if r.Type == t {
			return true
		}
	}
	return false
}

// Profiles lists customer's voice profiles by name.
func (s *Service) Profiles(ctx context.Context, customer string) ([]Profile, error) {
	return s.cfg.Store.profiles(ctx, customer)
}

// Profile returns one of customer's voice profiles.
func (s *Service) Profile(ctx context.Context, customer, name string) (Profile, error) {
	return s.cfg.Store.profile(ctx, customer, name)
}

// PutProfile creates or replaces customer's profile p.Name. A bad
// profile is refused with an *Error naming the field, and nothing
// changes.
func (s *Service) PutProfile(ctx context.Context, customer string, p Profile, actor string) (Profile, error) {
	ranges, err := s.cfg.Store.ranges(ctx, customer)
	if err != nil {
		return Profile{}, err
	}
	p, err = checkProfile(p, ranges)
	if err != nil {
		return Profile{}, err
	}
	p.Updated = s.now().UTC()
	if err := s.cfg.Store.putProfile(ctx, customer, p); err != nil {
		return Profile{}, err
	}
	s.auditCustomer(ctx, customer, actor, "voice.profile.put", "profile "+p.Name+" saved")
	return p, nil
}

// DeleteProfile removes customer's profile name; a missing one is an
// *Error with CodeNotFound.
func (s *Service) DeleteProfile(ctx context.Context, customer, name, actor string) error {
	ok, err := s.cfg.Store.deleteProfile(ctx, customer, name)
	if err != nil {
		return err
	}
	if !ok {
		return &Error{Code: CodeNotFound, Detail: "no profile " + clipInput(name)}
	}
	s.auditCustomer(ctx, customer, actor, "voice.profile.delete", "profile "+name+" deleted")
	return nil
}

// ---- store

func (s *Store) putProfile(ctx context.Context, customer string, p Profile) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, s.q(`SELECT count(*) FROM tenantgate_voice_profiles WHERE customer = ? AND name <> ?`), customer, p.Name).Scan(&n); err != nil {
		return err
	}
	if n >= maxProfiles {
		return refuse(CodeInvalid, "/name", "a customer has at most 200 profiles")
	}
	_, err = s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_profiles (customer, name, body, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (customer, name) DO UPDATE SET body = excluded.body, updated_at = excluded.updated_at`),
		customer, p.Name, string(b), nanos(p.Updated))
	return err
}

func (s *Store) profile(ctx context.Context, customer, name string) (Profile, error) {
	var body string
	err := s.db.QueryRowContext(ctx, s.q(`SELECT body FROM tenantgate_voice_profiles WHERE customer = ? AND name = ?`), customer, strings.TrimSpace(name)).Scan(&body)
	if errors.Is(err, sql.ErrNoRows) {
		return Profile{}, &Error{Code: CodeNotFound, Field: "/profile", Detail: "the customer has no profile " + clipInput(name)}
	}
	if err != nil {
		return Profile{}, err
	}
	var p Profile
	return p, json.Unmarshal([]byte(body), &p)
}

func (s *Store) profiles(ctx context.Context, customer string) ([]Profile, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT body FROM tenantgate_voice_profiles WHERE customer = ? ORDER BY name`), customer)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Profile{}
	for rows.Next() {
		var body string
		if err := rows.Scan(&body); err != nil {
			return nil, err
		}
		var p Profile
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) deleteProfile(ctx context.Context, customer, name string) (bool, error) {
	res, err := s.db.ExecContext(ctx, s.q(`DELETE FROM tenantgate_voice_profiles WHERE customer = ? AND name = ?`), customer, strings.TrimSpace(name))
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}
