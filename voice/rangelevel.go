package voice

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/events"
)

// RangeLevel is how full a range is, by its free numbers (RangeStats.Free:
// unassigned at Microsoft, neither reserved nor quarantined).
type RangeLevel string

// The range levels.
const (
	// RangeOK: more free numbers than the low threshold.
	RangeOK RangeLevel = "ok"
	// RangeLow: at most the low threshold free, but at least one.
	RangeLow RangeLevel = "low"
	// RangeExhausted: no free number.
	RangeExhausted RangeLevel = "exhausted"
)

// worse reports whether l is a worse level than m.
func (l RangeLevel) worse(m RangeLevel) bool {
	rank := map[RangeLevel]int{RangeOK: 0, RangeLow: 1, RangeExhausted: 2}
	return rank[l] > rank[m]
}

// LowThreshold is the number of free numbers at or below which st is
// running low: the larger of Config.RangeLowFree and
// Config.RangeLowPercent of the range's numbers the tenant holds.
func (s *Service) LowThreshold(st RangeStats) int {
	return max(0, s.cfg.RangeLowFree, st.Numbers*s.cfg.RangeLowPercent/100)
}

// Level returns st's level; "" when the tenant holds none of its
// numbers (the inventory was not read, or the range is not the
// tenant's), which is no level to report.
func (s *Service) Level(st RangeStats) RangeLevel {
	switch {
	case st.Numbers == 0:
		return ""
	case st.Free == 0:
		return RangeExhausted
	case st.Free <= s.LowThreshold(st):
		return RangeLow
	}
	return RangeOK
}

// checkRangeLevels compares each of customer's ranges with its last seen
// level and emits voice.range.low or voice.range.exhausted when one got
// worse: once per crossing, whichever replica sees it first (the level
// is changed by a conditional update, and the event's Key names the
// crossing). A range that recovers is recorded without an event, so the
// next fall is reported again. Failures are logged: they never fail the
// work that called it.
func (s *Service) checkRangeLevels(ctx context.Context, customer string) {
	ctx = context.WithoutCancel(ctx)
	stats, err := s.cfg.Store.rangeStats(ctx, customer, s.now())
	if err != nil {
		s.log.WarnContext(ctx, "voice: range levels not checked", "customer", customer, "err", err)
		return
	}
	rf := make([]RangeFree, len(stats))
	for i, st := range stats {
		rf[i] = s.rangeFreeOf(st)
	}
	if err := s.cfg.Store.putRangeSummary(ctx, customer, rf, s.now()); err != nil {
		s.log.WarnContext(ctx, "voice: range summary not stored", "customer", customer, "err", err)
	}
	names := make([]string, len(stats))
	for i, st := range stats {
		names[i] = st.Name
	}
	if err := s.cfg.Store.dropRangeLevels(ctx, customer, names); err != nil {
		s.log.WarnContext(ctx, "voice: levels of removed ranges not dropped", "customer", customer, "err", err)
	}
	for _, st := range stats {
		lvl := s.Level(st)
		if lvl == "" {
			continue
		}
		prev, crossing, changed, err := s.cfg.Store.setRangeLevel(ctx, customer, st.Name, lvl, s.now())
		if err != nil {
			s.log.WarnContext(ctx, "voice: range level not recorded", "customer", customer, "range", st.Name, "err", err)
			continue
		}
		if !changed || !lvl.worse(prev) {
			continue
		}
		s.log.InfoContext(ctx, "voice: range level", "customer", customer, "range", st.Name, "level", string(lvl), "free", st.Free, "numbers", st.Numbers)
		if s.cfg.Events == nil {
			continue
		}
		free, numbers := st.Free, st.Numbers
		e := events.Event{Type: events.VoiceRangeLow, Key: "voice.range/" + st.Name + "/" + strconv.Itoa(crossing),
			Data: events.Data{Customer: customer, Range: st.Name, Free: &free, Numbers: &numbers}}
		if lvl == RangeExhausted {
			e.Type = events.VoiceRangeExhausted
		}
		if err := s.cfg.Events.Emit(ctx, e); err != nil {
			s.log.WarnContext(ctx, "voice: event not emitted", "customer", customer, "range", st.Name, "err", err)
		}
	}
}

// rangeCheckEvery bounds how often work in progress (an apply's lanes)
// checks a customer's range levels.
const rangeCheckEvery = 2 * time.Second

// checkRangeLevelsSoon is checkRangeLevels at most once every
// rangeCheckEvery per customer in this process: an apply taking numbers
// one by one reports a range running low while it runs, not after.
func (s *Service) checkRangeLevelsSoon(ctx context.Context, customer string) {
	now := s.now()
	s.mu.Lock()
	if s.rangeChecks == nil {
		s.rangeChecks = map[string]time.Time{}
	}
	due := now.Sub(s.rangeChecks[customer]) >= rangeCheckEvery
	if due {
		s.rangeChecks[customer] = now
	}
	s.mu.Unlock()
	if due {
		s.checkRangeLevels(ctx, customer)
	}
}

// ---- store

// setRangeLevel records lvl as the level of customer's range name. It
// returns the level before (RangeOK when none was recorded), the count
// of changes so far, and whether this call changed it: of two replicas
// recording the same change, one does.
func (s *Store) setRangeLevel(ctx context.Context, customer, name string, lvl RangeLevel, now time.Time) (prev RangeLevel, crossing int, changed bool, err error) {
	var cur string
	err = s.db.QueryRowContext(ctx, s.q(`SELECT level, crossings FROM tenantgate_voice_range_levels WHERE customer = ? AND name = ?`),
		customer, name).Scan(&cur, &crossing)
	if errors.Is(err, sql.ErrNoRows) {
		res, err := s.db.ExecContext(ctx, s.q(`INSERT INTO tenantgate_voice_range_levels (customer, name, level, crossings, updated_at)
			VALUES (?, ?, ?, 1, ?) ON CONFLICT (customer, name) DO NOTHING`), customer, name, string(lvl), nanos(now))
		if err != nil {
			return "", 0, false, err
		}
		n, err := res.RowsAffected()
		return RangeOK, 1, n == 1 && lvl != RangeOK, err
	}
	if err != nil || RangeLevel(cur) == lvl {
		return RangeLevel(cur), crossing, false, err
	}
	res, err := s.db.ExecContext(ctx, s.q(`UPDATE tenantgate_voice_range_levels SET level = ?, crossings = crossings + 1, updated_at = ?
		WHERE customer = ? AND name = ? AND level = ? AND crossings = ?`), string(lvl), nanos(now), customer, name, cur, crossing)
	if err != nil {
		return "", 0, false, err
	}
	n, err := res.RowsAffected()
	return RangeLevel(cur), crossing + 1, n == 1, err
}

// dropRangeLevels forgets the levels of customer's ranges not in keep
// (removed ones): a range added again under the name starts afresh.
func (s *Store) dropRangeLevels(ctx context.Context, customer string, keep []string) error {
	q := `DELETE FROM tenantgate_voice_range_levels WHERE customer = ?`
	args := []any{customer}
	if len(keep) > 0 {
		q += ` AND name NOT IN (?` + strings.Repeat(", ?", len(keep)-1) + `)`
		for _, n := range keep {
			args = append(args, n)
		}
	}
	_, err := s.db.ExecContext(ctx, s.q(q), args...)
	return err
}
