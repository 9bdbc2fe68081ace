package audit

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"
)

// keyedPrefix marks the hash of an entry written with Options.ChainKey.
const keyedPrefix = "k1:"

// hash is the chain hash of e after prev: SHA-256, or with
// Options.ChainKey HMAC-SHA-256 marked keyedPrefix, over prev and every
// field of e, each length-prefixed.
func (l *Log) hash(prev string, e Entry) string {
	return l.hashWith(len(l.chain) > 0, prev, e)
}

func (l *Log) hashWith(keyed bool, prev string, e Entry) string {
	var h hash.Hash
	if keyed {
		h = hmac.New(sha256.New, l.chain)
	} else {
		h = sha256.New()
	}
	var n [8]byte
	for _, f := range []string{"tenantgate audit chain v1", prev, fmt.Sprint(e.At.UnixMicro()), e.Actor, e.Action, e.Customer,
		string(e.Outcome), e.RequestID, e.Detail} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	if keyed {
		return keyedPrefix + hex.EncodeToString(h.Sum(nil))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ChainReport is what Verify found in one customer's hash chain.
type ChainReport struct {
	// Customer is the customer whose chain was checked ("" for the
	// entries on no customer).
	Customer string `json:"customer"`
	// Entries counts the entries checked; Unchained those written before
	// the chain existed (they carry no hash and precede the chain).
	Entries   int `json:"entries"`
	Unchained int `json:"unchained"`
	// Intact is true when every link holds.
	Intact bool `json:"intact"`
	// FirstBroken is the first entry whose link does not hold; nil when
	// Intact.
	FirstBroken *BrokenLink `json:"firstBroken,omitempty"`
}

// BrokenLink names the first entry of a chain that does not verify.
type BrokenLink struct {
	// Position is the entry's place in the customer's trail, oldest
	// first, from 1.
	Position int `json:"position"`
	// At and Action are the entry's as stored (possibly rewritten).
	At     time.Time `json:"occurredAt"`
	Action string    `json:"action"`
	// Reason says what does not hold: "hash" (the entry was changed
	// after it was written), "link" (an entry before it was removed,
	// inserted or changed), "unchained" (an entry without a hash after
	// the chain began) or "unkeyed" (an entry without the ChainKey after
	// entries with it: written by someone without the key).
	Reason string `json:"reason"`
}

// Verify walks customer's entries oldest first, recomputes each hash and
// checks each link to the previous entry, and reports the first that
// does not hold. Changing, inserting or removing an entry breaks the
// chain at or after it; without Options.ChainKey someone who can write
// the database can recompute every later hash, and removing the newest
// entries is not detectable from the chain alone (compare Entries with a
// count kept elsewhere).
func (l *Log) Verify(ctx context.Context, customer string) (ChainReport, error) {
	rep := ChainReport{Customer: customer, Intact: true}
	rows, err := l.db.QueryContext(ctx, l.d.Rebind(`SELECT at, actor, action, customer, outcome, request_id, detail, prev_hash, hash
		FROM tenantgate_audit WHERE customer = ? ORDER BY id`), customer)
	if err != nil {
		return rep, fmt.Errorf("audit: verify %q: %w", customer, err)
	}
	defer rows.Close()
	prev, started, keyedSeen := "", false, false
	for rows.Next() {
		var e Entry
		var at int64
		var prevHash, h string
		if err := rows.Scan(&at, &e.Actor, &e.Action, &e.Customer, &e.Outcome, &e.RequestID, &e.Detail, &prevHash, &h); err != nil {
			return rep, fmt.Errorf("audit: verify %q: %w", customer, err)
		}
		rep.Entries++
		e.At = time.UnixMicro(at).UTC()
		if rep.FirstBroken != nil {
			continue
		}
		reason := ""
		switch {
		case h == "" && !started:
			rep.Unchained++
			continue
		case h == "":
			reason = "unchained"
		case prevHash != prev:
			reason = "link"
		case strings.HasPrefix(h, keyedPrefix):
			// Written with the ChainKey: only the key recomputes it.
			keyedSeen = true
			if len(l.chain) == 0 || !hmac.Equal([]byte(l.hashWith(true, prevHash, e)), []byte(h)) {
				reason = "hash"
			}
		case keyedSeen:
			// An unkeyed entry after keyed ones: written without the key.
			reason = "unkeyed"
		case l.hashWith(false, prevHash, e) != h:
			reason = "hash"
		}
		started = true
		if reason != "" {
			rep.Intact = false
			rep.FirstBroken = &BrokenLink{Position: rep.Entries, At: e.At, Action: e.Action, Reason: reason}
			continue
		}
		prev = h
	}
	if err := rows.Err(); err != nil {
		return rep, fmt.Errorf("audit: verify %q: %w", customer, err)
	}
	return rep, nil
}
