// Package whverify verifies Standard Webhooks signatures, written from
// the specification (https://www.standardwebhooks.com, "Verifying
// webhook authenticity") independently of package events, so tests of
// the sender check it against a second implementation rather than
// against itself.
package whverify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Tolerance is how far webhook-timestamp may be from now, as the
// specification recommends.
const Tolerance = 5 * time.Minute

// Verifier checks deliveries signed with one secret and remembers the
// message IDs it accepted, refusing replays.
type Verifier struct {
	key []byte
	// Now is the clock; nil means time.Now.
	Now func() time.Time

	mu   sync.Mutex
	seen map[string]bool
}

// New returns a Verifier for secret ("whsec_" + base64; the prefix is
// optional, as the specification allows).
func New(secret string) (*Verifier, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return nil, fmt.Errorf("whverify: secret is not base64: %w", err)
	}
	return &Verifier{key: key, seen: map[string]bool{}}, nil
}

// Verify checks the headers and body of one delivery.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	id, ts, sigs := h.Get("webhook-id"), h.Get("webhook-timestamp"), h.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return errors.New("whverify: missing webhook-id, webhook-timestamp or webhook-signature")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("whverify: webhook-timestamp is not integer seconds")
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	if d := now().Sub(time.Unix(sec, 0)); d > Tolerance || d < -Tolerance {
		return errors.New("whverify: webhook-timestamp too far from now")
	}
	mac := hmac.New(sha256.New, v.key)
	fmt.Fprintf(mac, "%s.%s.", id, ts)
	mac.Write(body)
	want := mac.Sum(nil)
	ok := false
	for _, s := range strings.Fields(sigs) {
		version, sig, found := strings.Cut(s, ",")
		if !found || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return errors.New("whverify: no valid v1 signature")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen[id] {
		return errors.New("whverify: replayed webhook-id")
	}
	v.seen[id] = true
	return nil
}
