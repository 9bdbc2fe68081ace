package invite

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// How invitations are kept in the tokenstore:
//
//   - Key{customer, "invite", id}: the invitation (JSON of stored), one per
//     invitation, so List of a customer is one List of the store.
//   - Key{"tenantgate.invite", "invite.token", hex(SHA-256(token))}: the
//     index from a link's token to its invitation, so Redeem finds it
//     without knowing the customer and without scanning. The store needs a
//     non-empty customer for it; the kind keeps it apart from any host
//     customer of that name.
//
// Neither holds the token: only its hash, which opens nothing.
const (
	kindInvitation = "invite"
	kindTokenIndex = "invite.token"
	indexCustomer  = "tenantgate.invite"
)

// maxUpdateTries bounds the read-modify-write retries on version conflicts.
const maxUpdateTries = 8

// stored is the invitation record: the Invitation as the admins see it plus
// the token's hash.
type stored struct {
	Invitation
	// TokenHash is hex(SHA-256(token bytes)).
	TokenHash string `json:"tokenHash"`
}

// indexEntry is the token index record's data.
type indexEntry struct {
	Customer string `json:"customer"`
	ID       string `json:"id"`
}

// idEncoding is lowercase Crockford base32 (ascending in ASCII, so encoded
// IDs sort like their bytes).
var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// idGen makes IDs: 48 bits of milliseconds since the epoch, then 80
// random bits, 26 characters. IDs of one generator strictly increase, also
// within one millisecond (the random part then counts up from the previous
// ID), so IDs sort in creation order.
type idGen struct {
	mu   sync.Mutex
	last [16]byte
}

func (g *idGen) next(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	g.mu.Lock()
	defer g.mu.Unlock()
	if bytes.Compare(b[:], g.last[:]) <= 0 {
		b = g.last
		for i := len(b) - 1; i >= 0; i-- { // b++
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	}
	g.last = b
	return idEncoding.EncodeToString(b[:])
}

func invitationKey(customer, id string) tokenstore.Key {
	return tokenstore.Key{Customer: customer, Kind: kindInvitation, Name: id}
}

func indexKey(h tokenHash) tokenstore.Key {
	return tokenstore.Key{Customer: indexCustomer, Kind: kindTokenIndex, Name: h.String()}
}

func decode(rec tokenstore.Record) (stored, error) {
	var st stored
	if err := json.Unmarshal(rec.Data, &st); err != nil {
		return stored{}, fmt.Errorf("invite: decode record %s: %w", rec.Key, err)
	}
	return st, nil
}

// load reads one invitation record.
func (s *Service) load(ctx context.Context, customer, id string) (stored, int64, error) {
	rec, err := s.store.Get(ctx, invitationKey(customer, id))
	if errors.Is(err, tokenstore.ErrNotFound) {
		return stored{}, 0, fmt.Errorf("%w: customer %q has no invitation %q", ErrNotFound, customer, id)
	}
	if err != nil {
		return stored{}, 0, fmt.Errorf("invite: read invitation: %w", err)
	}
	st, err := decode(rec)
	return st, rec.Version, err
}

// insert writes a new invitation and its token index.
func (s *Service) insert(ctx context.Context, st stored, h tokenHash) error {
	data, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("invite: encode invitation: %w", err)
	}
	if _, err := s.store.Put(ctx, tokenstore.Record{Key: invitationKey(st.Customer, st.ID), Data: data}, 0); err != nil {
		return fmt.Errorf("invite: store invitation: %w", err)
	}
	idx, err := json.Marshal(indexEntry{Customer: st.Customer, ID: st.ID})
	if err != nil {
		return fmt.Errorf("invite: encode token index: %w", err)
	}
	if _, err := s.store.Put(ctx, tokenstore.Record{Key: indexKey(h), Data: idx}, 0); err != nil {
		// Without its index the invitation cannot be redeemed: take it
		// back rather than list a live invitation whose link fails.
		if derr := s.store.Delete(context.WithoutCancel(ctx), invitationKey(st.Customer, st.ID), tokenstore.AnyVersion); derr != nil {
			return fmt.Errorf("invite: store token index: %w (and removing the invitation failed: %v)", err, derr)
		}
		return fmt.Errorf("invite: store token index: %w", err)
	}
	return nil
}

// update applies change to the invitation's current version and writes it,
// re-reading and re-applying on version conflicts. change sees the
// effective status (expiry applied) and returns whether it changed
// anything; an error from change is returned with the invitation as read.
func (s *Service) update(ctx context.Context, customer, id string, change func(st *stored, now time.Time) (bool, error)) (Invitation, error) {
	for range maxUpdateTries {
		st, version, err := s.load(ctx, customer, id)
		if err != nil {
			return Invitation{}, err
		}
		now := s.now()
		st.Invitation = st.effective(now)
		changed, err := change(&st, now)
		if err != nil || !changed {
			return st.Invitation, err
		}
		data, err := json.Marshal(st)
		if err != nil {
			return Invitation{}, fmt.Errorf("invite: encode invitation: %w", err)
		}
		_, err = s.store.Put(ctx, tokenstore.Record{Key: invitationKey(customer, id), Data: data}, version)
		if errors.Is(err, tokenstore.ErrConflict) {
			continue
		}
		if err != nil {
			return Invitation{}, fmt.Errorf("invite: update invitation: %w", err)
		}
		return st.Invitation, nil
	}
	return Invitation{}, fmt.Errorf("invite: update invitation %s: too many concurrent writers, try again", id)
}

// list reads every invitation of a customer, oldest first.
func (s *Service) list(ctx context.Context, customer string) ([]stored, error) {
	var out []stored
	opts := tokenstore.ListOptions{}
	for {
		page, err := s.store.List(ctx, customer, kindInvitation, opts)
		if err != nil {
			return nil, fmt.Errorf("invite: list invitations: %w", err)
		}
		for _, rec := range page.Records {
			st, err := decode(rec)
			if err != nil {
				return nil, err
			}
			out = append(out, st)
		}
		if page.Next == "" {
			return out, nil
		}
		opts.After = page.Next
	}
}
