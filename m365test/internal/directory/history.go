package directory

import "time"

// histEntry is an overlay and the time it was published.
type histEntry struct {
	at time.Time
	ov *overlay
}

// KeepHistory makes the directory remember, by the clock now, the states
// it had over the last keep, so a [Query] with IndexAsOf reads it as it
// was: Graph answers advanced queries (ConsistencyLevel: eventual) from
// an index that lags behind writes. Call it before any change.
func (d *Directory) KeepHistory(now func() time.Time, keep time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.histNow, d.histKeep = now, keep
	d.hist = []histEntry{{ov: d.ov.Load()}} // the state since New: zero time
}

// recordLocked records a newly published overlay and forgets states
// older than the history keeps. d.mu is held.
func (d *Directory) recordLocked(o *overlay) {
	if d.histNow == nil {
		return
	}
	now := d.histNow()
	d.hist = append(d.hist, histEntry{at: now, ov: o})
	cut := now.Add(-d.histKeep)
	for len(d.hist) > 1 && !d.hist[1].at.After(cut) {
		d.hist = d.hist[1:]
	}
}

// asOf returns the overlay that was current at t: the latest published at
// or before t (the oldest kept when t is before all of them).
func (d *Directory) asOf(t time.Time) *overlay {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.histNow == nil || len(d.hist) == 0 {
		return d.ov.Load()
	}
	ov := d.hist[0].ov
	for _, e := range d.hist[1:] {
		if e.at.After(t) {
			break
		}
		ov = e.ov
	}
	return ov
}
