package directory

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"slices"
	"strings"
	"time"
)

// DefaultDeltaPageSize is how many entries a page of GET /users/delta
// holds when the request names no odata.maxpagesize. Graph documents no
// figure for users; 200 is an assumption of this fake.
const DefaultDeltaPageSize = 200

// DeltaLinkLifetime is how long a delta link stays valid: seven days for
// identity resources, after which Graph answers 400 syncStateNotFound.
const DeltaLinkLifetime = 7 * 24 * time.Hour

// CodeSyncStateNotFound is Graph's error code for an expired or reset
// delta token.
const CodeSyncStateNotFound = "syncStateNotFound"

// DeltaQuery is one GET /users/delta request.
type DeltaQuery struct {
	// Select is $select split at commas, on the first request of a round
	// only: links carry it. Empty means Graph's default set.
	Select []string
	// DeltaToken is $deltatoken from a previous round's deltaLink; ""
	// starts a round that lists every user. "latest" answers no users
	// and a deltaLink for the current state.
	DeltaToken string
	// SkipToken is $skiptoken from a nextLink of the current round.
	SkipToken string
	// PageSize is the Prefer: odata.maxpagesize; 0 means
	// DefaultDeltaPageSize. At most MaxTop.
	PageSize int
	// Now is the time of the request, for link expiry.
	Now time.Time
	// IDs, when not empty, scopes the round to these object IDs (Graph's
	// one delta filter, `id eq '...' or ...`, at most 50 IDs). Tokens do
	// not carry it: the caller carries it next to them in its links.
	IDs []string
}

// DeltaResult is one page of a delta round.
type DeltaResult struct {
	// Users are the users added or changed since the round's delta token
	// (every user in a round without one), with the selected properties.
	Users []User
	// Removed are the object IDs of users deleted since the delta token.
	Removed []string
	// Select is the property names each user is written with, as in
	// [Result.Select].
	Select []string
	// NextSkipToken is the $skiptoken of the next page; "" on the last.
	NextSkipToken string
	// DeltaToken is the $deltatoken of the next round, on the last page.
	DeltaToken string

	sel []prop
}

// AppendValue appends the page as Graph's "value" array to dst: users
// with the selected properties, removed users as
// {"id": ..., "@removed": {"reason": "changed"}} (Entra soft-deletes).
func (r *DeltaResult) AppendValue(dst []byte) []byte {
	dst = append(dst, '[')
	for i := range r.Users {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = r.Users[i].appendJSON(dst, r.sel)
	}
	for i, id := range r.Removed {
		if i > 0 || len(r.Users) > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, `{"id":`...)
		dst = appendJSONString(dst, id)
		dst = append(dst, `,"@removed":{"reason":"changed"}}`...)
	}
	return append(dst, ']')
}

// deltaState is what delta and delta-paging tokens carry.
type deltaState struct {
	paging bool   // a nextLink's token (else a deltaLink's)
	epoch  uint64 // ResetDelta epoch at issue
	issued int64  // Unix seconds the round's deltaLink was issued (paging: 0)
	sel    uint64 // bit per selected prop; 0 = default set
	full   bool   // paging: a round listing every user
	from   int    // change log position the round starts after
	to     int    // paging: change log position at the round's start
	pos    int    // paging: next listing position or change index
}

func syncStateNotFound() *QueryError {
	return &QueryError{Status: 400, Code: CodeSyncStateNotFound,
		Message: "The sync state generation is not found. The delta token is expired and data must be synchronized again."}
}

// Delta answers one page of GET /users/delta. Errors are *[QueryError]
// values; an expired or reset delta token is [CodeSyncStateNotFound].
func (d *Directory) Delta(q DeltaQuery) (DeltaResult, error) {
	size := q.PageSize
	if size <= 0 {
		size = DefaultDeltaPageSize
	}
	size = min(size, MaxTop)
	keep := func(string) bool { return true }
	if len(q.IDs) > 0 {
		set := make(map[string]bool, len(q.IDs))
		for _, id := range q.IDs {
			set[strings.ToLower(id)] = true
		}
		keep = func(id string) bool { return set[strings.ToLower(id)] }
	}
	ov := d.ov.Load()
	var st deltaState
	switch {
	case q.SkipToken != "":
		t, ok := d.decodeDelta(q.SkipToken)
		if !ok || !t.paging {
			return DeltaResult{}, badRequest(CodeRequestBadRequest, "The $skiptoken is not valid: send the @odata.nextLink back unchanged.")
		}
		st = t
	case q.DeltaToken == "latest":
		sel, err := parseDeltaSelect(q.Select)
		if err != nil {
			return DeltaResult{}, err
		}
		res := DeltaResult{sel: sel, Select: names(sel)}
		res.DeltaToken = d.encodeDelta(deltaState{epoch: ov.epochOf(), issued: q.Now.Unix(), sel: selMask(q.Select, sel), from: ov.seq()})
		return res, nil
	case q.DeltaToken != "":
		t, ok := d.decodeDelta(q.DeltaToken)
		if !ok || t.paging {
			return DeltaResult{}, badRequest(CodeRequestBadRequest, "The $deltatoken is not valid: send the @odata.deltaLink back unchanged.")
		}
		st = deltaState{paging: true, epoch: t.epoch, sel: t.sel, from: t.from, to: ov.seq()}
		if time.Unix(t.issued, 0).Add(DeltaLinkLifetime).Before(q.Now) {
			return DeltaResult{}, syncStateNotFound()
		}
	default:
		sel, err := parseDeltaSelect(q.Select)
		if err != nil {
			return DeltaResult{}, err
		}
		st = deltaState{paging: true, epoch: ov.epochOf(), sel: selMask(q.Select, sel), full: true, to: ov.seq()}
	}
	if st.epoch != ov.epochOf() || st.to > ov.seq() || st.from > st.to {
		return DeltaResult{}, syncStateNotFound()
	}
	sel := unmask(st.sel)
	res := DeltaResult{sel: sel, Select: names(sel)}
	if st.full {
		total := d.positions()
		k := st.pos
		for ; k < total && len(res.Users) < size; k++ {
			if u, ok := d.current(k - 1); ok && keep(u.ID) {
				res.Users = append(res.Users, u)
			}
		}
		if k < total {
			st.pos = k
			res.NextSkipToken = d.encodeDelta(st)
			return res, nil
		}
	} else {
		changed := slices.Clone(ov.logRange(st.from, st.to))
		slices.Sort(changed)
		changed = slices.Compact(changed)
		k := st.pos
		for ; k < len(changed) && len(res.Users)+len(res.Removed) < size; k++ {
			i := changed[k]
			if u, ok := d.current(i); ok {
				if keep(u.ID) {
					res.Users = append(res.Users, u)
				}
			} else if c, ok := ov.changedUser(i); ok {
				if keep(c.ID) {
					res.Removed = append(res.Removed, c.ID) // a custom user
				}
			} else if id := formatUUID(d.uuid(i)); keep(id) {
				res.Removed = append(res.Removed, id)
			}
		}
		if k < len(changed) {
			st.pos = k
			res.NextSkipToken = d.encodeDelta(st)
			return res, nil
		}
	}
	res.DeltaToken = d.encodeDelta(deltaState{epoch: st.epoch, issued: q.Now.Unix(), sel: st.sel, from: st.to})
	return res, nil
}

// parseDeltaSelect parses a delta request's $select: Graph's user delta
// page says "the id property is always returned", so id is added when the
// $select leaves it out.
func parseDeltaSelect(names []string) ([]prop, error) {
	sel, err := parseSelectOf(names, false, true)
	if err != nil || len(names) == 0 || slices.Contains(sel, pID) {
		return sel, err
	}
	return append([]prop{pID}, sel...), nil
}

func (o *overlay) epochOf() uint64 {
	if o == nil {
		return 0
	}
	return o.epoch
}

func (o *overlay) logRange(from, to int) []int {
	if o == nil {
		return nil
	}
	return o.log[from:to]
}

func names(sel []prop) []string {
	out := make([]string, len(sel))
	for i, p := range sel {
		out[i] = props[p].name
	}
	return out
}

// selMask encodes a parsed $select; an empty $select is 0.
func selMask(raw []string, sel []prop) uint64 {
	if len(raw) == 0 {
		return 0
	}
	var m uint64
	for _, p := range sel {
		m |= 1 << p
	}
	return m
}

// unmask decodes selMask's result, in property order (Graph's delta
// answers list properties in its own order, not the $select's).
func unmask(m uint64) []prop {
	if m == 0 {
		return defaultSelect
	}
	var sel []prop
	for p := range numProps {
		if m&(1<<p) != 0 {
			sel = append(sel, p)
		}
	}
	return sel
}

// Delta token layout, before base64url: version 2 | flags | epoch | issued |
// select | from | to | pos (uvarints) | HMAC-SHA256 (first 16 bytes) under
// the skip token key.
const deltaTokenVersion = 2

func (d *Directory) encodeDelta(t deltaState) string {
	b := make([]byte, 0, 64)
	var flags byte
	if t.paging {
		flags |= 1
	}
	if t.full {
		flags |= 2
	}
	b = append(b, deltaTokenVersion, flags)
	for _, v := range []uint64{t.epoch, uint64(t.issued), t.sel, uint64(t.from), uint64(t.to), uint64(t.pos)} {
		b = binary.AppendUvarint(b, v)
	}
	m := hmac.New(sha256.New, d.tokenKey[:])
	m.Write(b)
	b = append(b, m.Sum(nil)[:macLen]...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (d *Directory) decodeDelta(s string) (deltaState, bool) {
	var t deltaState
	if len(s) > 256 {
		return t, false
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) < 2+6+macLen {
		return t, false
	}
	body, mac := b[:len(b)-macLen], b[len(b)-macLen:]
	m := hmac.New(sha256.New, d.tokenKey[:])
	m.Write(body)
	if !hmac.Equal(mac, m.Sum(nil)[:macLen]) || body[0] != deltaTokenVersion {
		return t, false
	}
	t.paging, t.full = body[1]&1 != 0, body[1]&2 != 0
	rest := body[2:]
	var v [6]uint64
	for i := range v {
		x, n := binary.Uvarint(rest)
		if n <= 0 {
			return t, false
		}
		v[i], rest = x, rest[n:]
	}
	if len(rest) != 0 || v[3] > 1<<40 || v[4] > 1<<40 || v[5] > 1<<40 {
		return t, false
	}
	t.epoch, t.issued, t.sel = v[0], int64(v[1]), v[2]
	t.from, t.to, t.pos = int(v[3]), int(v[4]), int(v[5])
	return t, true
}
