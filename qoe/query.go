package qoe

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/internal/fence"
)

// Summary is a customer's call quality over a range of days.
type Summary struct {
	Calls        int          `json:"calls"`
	PoorCalls    int          `json:"poorCalls"`
	PoorRate     float64      `json:"poorRate"` // poorCalls / calls, 0 without calls
	PoorByReason PoorByReason `json:"poorByReason"`
	// Days lists every day of the range, oldest first, zeros included.
	Days []DaySummary `json:"days"`
}

// PoorByReason counts poor calls by reason; a call poor for two reasons
// counts under both.
type PoorByReason struct {
	Jitter     int `json:"jitter"`
	PacketLoss int `json:"packetLoss"`
	RoundTrip  int `json:"roundTrip"`
}

// DaySummary is one day of a Summary.
type DaySummary struct {
	Date      string `json:"date"` // YYYY-MM-DD, UTC
	Calls     int    `json:"calls"`
	PoorCalls int    `json:"poorCalls"`
}

// MaxSummaryDays bounds the range of a summary.
const MaxSummaryDays = 366

// ErrBadRange reports a from/to range that is empty, reversed or too long.
var ErrBadRange = errors.New("qoe: bad date range")

// Summary returns customer's calls, poor calls, poor rate, poor calls by
// reason and per day, over the UTC days from through to (both included).
func (s *Store) Summary(ctx context.Context, customer string, from, to time.Time) (Summary, error) {
	from, to = truncDay(from), truncDay(to)
	if to.Before(from) || to.Sub(from) > MaxSummaryDays*24*time.Hour {
		return Summary{}, fmt.Errorf("%w: from %s to %s (at most %d days)", ErrBadRange, dayOf(from), dayOf(to), MaxSummaryDays)
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT day, calls, poor, jitter, packet_loss, round_trip FROM tenantgate_qoe_daily
		WHERE customer = ? AND day >= ? AND day <= ? ORDER BY day`), customer, dayOf(from), dayOf(to))
	if err != nil {
		return Summary{}, err
	}
	defer rows.Close()
	byDay := map[string]DaySummary{}
	var sum Summary
	for rows.Next() {
		var d DaySummary
		var j, l, r int
		if err := rows.Scan(&d.Date, &d.Calls, &d.PoorCalls, &j, &l, &r); err != nil {
			return Summary{}, err
		}
		byDay[d.Date] = d
		sum.Calls += d.Calls
		sum.PoorCalls += d.PoorCalls
		sum.PoorByReason.Jitter += j
		sum.PoorByReason.PacketLoss += l
		sum.PoorByReason.RoundTrip += r
	}
	if err := rows.Err(); err != nil {
		return Summary{}, err
	}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		ds, ok := byDay[dayOf(d)]
		if !ok {
			ds = DaySummary{Date: dayOf(d)}
		}
		sum.Days = append(sum.Days, ds)
	}
	if sum.Calls > 0 {
		sum.PoorRate = float64(sum.PoorCalls) / float64(sum.Calls)
	}
	return sum, nil
}

func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// CallQuery selects calls: those that started in [From, To), newest
// first, only poor ones when Poor is set.
type CallQuery struct {
	From, To time.Time
	Poor     bool
	// Limit is the page size, 1 to 1000; zero means 100.
	Limit int
	// After is the Next cursor of the previous page.
	After string
}

// CallPage is one page of calls.
type CallPage struct {
	Calls []CallView `json:"calls"`
	// Next is the cursor of the next page, "" after the last.
	Next string `json:"next"`
}

// CallView is a call as the API shows it.
type CallView struct {
	ID            string    `json:"id"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
	Quality       Quality   `json:"quality"`
	PoorReasons   []Reason  `json:"poorReasons"`
	Caller        string    `json:"caller"`
	Callee        string    `json:"callee"`
}

// ErrBadCursor reports an After cursor this package did not make.
var ErrBadCursor = errors.New("qoe: bad page cursor")

func encodeCursor(start int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(start, 10) + "|" + id))
}

func decodeCursor(c string) (int64, string, error) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	n, id, ok := strings.Cut(string(b), "|")
	if !ok {
		return 0, "", ErrBadCursor
	}
	start, err := strconv.ParseInt(n, 10, 64)
	if err != nil {
		return 0, "", ErrBadCursor
	}
	return start, id, nil
}

// Calls lists customer's calls by q.
func (s *Store) Calls(ctx context.Context, customer string, q CallQuery) (CallPage, error) {
	limit := q.Limit
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > 1000 {
		return CallPage{}, fmt.Errorf("qoe: limit %d is outside 1 to 1000", limit)
	}
	if !q.To.After(q.From) {
		return CallPage{}, fmt.Errorf("%w: to must be after from", ErrBadRange)
	}
	where := `customer = ? AND start_at >= ? AND start_at < ?`
	args := []any{customer, q.From.UnixNano(), q.To.UnixNano()}
	if q.Poor {
		where += ` AND quality = 'poor'`
	}
	if q.After != "" {
		start, id, err := decodeCursor(q.After)
		if err != nil {
			return CallPage{}, err
		}
		where += ` AND (start_at < ? OR (start_at = ? AND id > ?))`
		args = append(args, start, start, id)
	}
	args = append(args, limit+1)
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT id, start_at, end_at, quality, jitter, packet_loss, round_trip, caller, callee
		FROM tenantgate_qoe_calls WHERE `+where+` ORDER BY start_at DESC, id LIMIT ?`), args...)
	if err != nil {
		return CallPage{}, err
	}
	defer rows.Close()
	page := CallPage{Calls: []CallView{}}
	var lastStart int64
	for rows.Next() {
		var v CallView
		var st, en int64
		var j, l, r int
		if err := rows.Scan(&v.ID, &st, &en, &v.Quality, &j, &l, &r, &v.Caller, &v.Callee); err != nil {
			return CallPage{}, err
		}
		if len(page.Calls) == limit {
			page.Next = encodeCursor(lastStart, page.Calls[limit-1].ID)
			break
		}
		v.StartDateTime, v.EndDateTime = time.Unix(0, st).UTC(), time.Unix(0, en).UTC()
		v.PoorReasons = []Reason{}
		if j == 1 {
			v.PoorReasons = append(v.PoorReasons, ReasonJitter)
		}
		if l == 1 {
			v.PoorReasons = append(v.PoorReasons, ReasonPacketLoss)
		}
		if r == 1 {
			v.PoorReasons = append(v.PoorReasons, ReasonRoundTrip)
		}
		lastStart = st
		page.Calls = append(page.Calls, v)
	}
	return page, rows.Err()
}

// StreamsOf returns the stored audio streams of a call.
func (s *Store) StreamsOf(ctx context.Context, customer, callID string) ([]Stream, error) {
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT stream_key, direction, jitter_us, round_trip_us, packet_loss, packets, quality, reasons
		FROM tenantgate_qoe_streams WHERE customer = ? AND call_id = ? ORDER BY stream_key`), customer, callID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Stream
	for rows.Next() {
		var st Stream
		var j, r, p *int64
		var l *float64
		var reasons string
		if err := rows.Scan(&st.Key, &st.Direction, &j, &r, &l, &p, &st.Quality, &reasons); err != nil {
			return nil, err
		}
		if j != nil {
			d := time.Duration(*j) * time.Microsecond
			st.Jitter = &d
		}
		if r != nil {
			d := time.Duration(*r) * time.Microsecond
			st.RoundTrip = &d
		}
		st.PacketLoss, st.Packets, st.Reasons = l, p, splitReasons(reasons)
		out = append(out, st)
	}
	return out, rows.Err()
}

// PSTNReport is a customer's PSTN usage over a range of days.
type PSTNReport struct {
	// Trunks are the Direct Routing calls per SBC FQDN.
	Trunks []TrunkStats `json:"trunks"`
	// CallingPlan sums the Calling Plan calls.
	CallingPlan CallingPlanStats `json:"callingPlan"`
	// PulledAt is when the newest day of the range was pulled; zero if
	// never.
	PulledAt *time.Time `json:"pulledAt,omitempty"`
}

// TrunkStats are one SBC's Direct Routing calls.
type TrunkStats struct {
	FQDN      string  `json:"fqdn"`
	Attempts  int     `json:"attempts"`
	Successes int     `json:"successes"`
	Minutes   float64 `json:"minutes"`
	// SIPCodes counts the final SIP codes, keyed by code.
	SIPCodes map[string]int `json:"sipCodes"`
}

// CallingPlanStats sums Calling Plan calls.
type CallingPlanStats struct {
	Calls   int     `json:"calls"`
	Minutes float64 `json:"minutes"`
}

// pstnDay is one day's aggregate row.
type pstnDay struct {
	kind, fqdn         string
	attempts, succ, ss int64
	codes              map[string]int
}

// putPSTNDay replaces one day's PSTN aggregates of customer.
func (s *Store) putPSTNDay(ctx context.Context, customer, day string, rows []pstnDay, pulledAt time.Time) (err error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() {
		_ = tx.Rollback()
		err = fence.Wrap(err, "qoe: store the PSTN calls of "+strconv.Quote(customer))
	}()
	if _, err := tx.ExecContext(ctx, s.q(`DELETE FROM tenantgate_qoe_pstn WHERE customer = ? AND day = ?`), customer, day); err != nil {
		return err
	}
	for _, r := range rows {
		codes, _ := json.Marshal(r.codes)
		if _, err := tx.ExecContext(ctx, s.q(`INSERT INTO tenantgate_qoe_pstn (customer, day, kind, fqdn, attempts, successes, seconds, sip_codes, pulled_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`), customer, day, r.kind, r.fqdn, r.attempts, r.succ, r.ss, string(codes), pulledAt.UnixNano()); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// PSTN returns customer's PSTN aggregates over the UTC days from through
// to.
func (s *Store) PSTN(ctx context.Context, customer string, from, to time.Time) (PSTNReport, error) {
	from, to = truncDay(from), truncDay(to)
	if to.Before(from) || to.Sub(from) > MaxSummaryDays*24*time.Hour {
		return PSTNReport{}, fmt.Errorf("%w: from %s to %s", ErrBadRange, dayOf(from), dayOf(to))
	}
	rows, err := s.db.QueryContext(ctx, s.q(`SELECT kind, fqdn, attempts, successes, seconds, sip_codes, pulled_at FROM tenantgate_qoe_pstn
		WHERE customer = ? AND day >= ? AND day <= ? ORDER BY fqdn`), customer, dayOf(from), dayOf(to))
	if err != nil {
		return PSTNReport{}, err
	}
	defer rows.Close()
	rep := PSTNReport{Trunks: []TrunkStats{}}
	byFQDN := map[string]*TrunkStats{}
	var newest int64
	for rows.Next() {
		var kind, fqdn, codes string
		var att, succ, secs, pulled int64
		if err := rows.Scan(&kind, &fqdn, &att, &succ, &secs, &codes, &pulled); err != nil {
			return PSTNReport{}, err
		}
		newest = max(newest, pulled)
		if kind == "callingPlan" {
			rep.CallingPlan.Calls += int(att)
			rep.CallingPlan.Minutes += float64(secs) / 60
			continue
		}
		t := byFQDN[fqdn]
		if t == nil {
			t = &TrunkStats{FQDN: fqdn, SIPCodes: map[string]int{}}
			byFQDN[fqdn] = t
		}
		t.Attempts += int(att)
		t.Successes += int(succ)
		t.Minutes += float64(secs) / 60
		var m map[string]int
		if err := json.Unmarshal([]byte(codes), &m); err == nil {
			for k, v := range m {
				t.SIPCodes[k] += v
			}
		}
	}
	if err := rows.Err(); err != nil {
		return PSTNReport{}, err
	}
	for _, t := range byFQDN {
		rep.Trunks = append(rep.Trunks, *t)
	}
	sortTrunks(rep.Trunks)
	if newest > 0 {
		t := time.Unix(0, newest).UTC()
		rep.PulledAt = &t
	}
	return rep, nil
}

func sortTrunks(ts []TrunkStats) {
	slices.SortFunc(ts, func(a, b TrunkStats) int { return strings.Compare(a.FQDN, b.FQDN) })
}
