package m365access

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"sync"
	"time"
)

// The signing key cache's timing: keys are re-read after jwksMaxAge, and
// a kid missing from the cached set triggers a re-read at most once per
// jwksMinRefetch (Entra rolls its keys and publishes new ones first).
const (
	jwksMaxAge     = 24 * time.Hour
	jwksMinRefetch = 5 * time.Minute
)

// jwksCache holds the signing keys of each JWKS URL. Safe for concurrent
// use; the zero value is ready.
type jwksCache struct {
	mu   sync.Mutex
	sets map[string]*jwksSet
}

type jwksSet struct {
	keys    map[string]*rsa.PublicKey // by kid
	fetched time.Time
	fetchMu sync.Mutex // one fetch of this URL at a time
}

// key returns the RSA key kid of the set at url, fetching the set when it
// is missing, old, or lacks kid (and was not fetched just now).
func (c *jwksCache) key(ctx context.Context, hc *http.Client, url, kid string) (*rsa.PublicKey, error) {
	c.mu.Lock()
	if c.sets == nil {
		c.sets = map[string]*jwksSet{}
	}
	set := c.sets[url]
	if set == nil {
		set = &jwksSet{}
		c.sets[url] = set
	}
	c.mu.Unlock()

	lookup := func() (*rsa.PublicKey, bool, time.Time) {
		c.mu.Lock()
		defer c.mu.Unlock()
		k, ok := set.keys[kid]
		return k, ok, set.fetched
	}
	if k, ok, at := lookup(); ok && time.Since(at) < jwksMaxAge {
		return k, nil
	}
	set.fetchMu.Lock()
	defer set.fetchMu.Unlock()
	k, ok, at := lookup()
	switch {
	case ok && time.Since(at) < jwksMaxAge:
		return k, nil // another caller just fetched it
	case !at.IsZero() && time.Since(at) < jwksMinRefetch:
		if ok {
			return k, nil
		}
		return nil, &FlowError{Reason: ReasonIDTokenInvalid, Detail: "the id_token is signed with a key the tenant does not publish"}
	}
	keys, err := fetchJWKS(ctx, hc, url)
	if err != nil {
		if ok {
			return k, nil // keep using a known key while the endpoint fails
		}
		return nil, err
	}
	c.mu.Lock()
	set.keys, set.fetched = keys, time.Now()
	c.mu.Unlock()
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, &FlowError{Reason: ReasonIDTokenInvalid, Detail: "the id_token is signed with a key the tenant does not publish"}
}

// jwk is one JSON Web Key (RFC 7517) as Entra publishes them.
type jwk struct {
	Kty string `json:"kty"`
	Use string `json:"use"`
	Kid string `json:"kid"`
	N   string `json:"n"`
	E   string `json:"e"`
}

// fetchJWKS reads a JWKS document and returns its RSA signing keys.
func fetchJWKS(ctx context.Context, hc *http.Client, url string) (map[string]*rsa.PublicKey, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reading the signing keys: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("reading the signing keys: status %d", resp.StatusCode)
	}
	return parseJWKS(io.LimitReader(resp.Body, 1<<20))
}

// parseJWKS decodes a JWKS document's RSA signing keys by kid; keys of
// other types or uses are skipped.
func parseJWKS(r io.Reader) (map[string]*rsa.PublicKey, error) {
	var doc struct {
		Keys []jwk `json:"keys"`
	}
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, errors.New("the signing key document is not JSON")
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range doc.Keys {
		if k.Kty != "RSA" || (k.Use != "" && k.Use != "sig") || k.Kid == "" {
			continue
		}
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(n) < 256 || len(e) == 0 || len(e) > 4 {
			continue // malformed, or under 2048 bits
		}
		exp := int(new(big.Int).SetBytes(e).Int64())
		if exp < 3 || exp%2 == 0 {
			continue
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
	}
	if len(keys) == 0 {
		return nil, errors.New("the signing key document has no RSA signing key")
	}
	return keys, nil
}
