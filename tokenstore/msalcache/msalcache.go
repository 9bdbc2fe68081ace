package msalcache

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// DefaultKind is the record kind a Cache uses unless Options.Kind is set.
const DefaultKind = "msal.cache"

// DefaultTimeout bounds each Replace and Export whose context has no
// deadline, as the cache.ExportReplace contract asks.
const DefaultTimeout = 30 * time.Second

// Options configures New. The zero value is ready to use.
type Options struct {
	// Kind is the record kind of the cache partitions; DefaultKind if
	// empty.
	Kind string
	// Timeout bounds Replace and Export when their context has no
	// deadline; DefaultTimeout if zero.
	Timeout time.Duration
}

// Cache is MSAL's external token cache on a tokenstore.Store, one sealed
// record per partition. Use one Cache per MSAL client. It is safe for
// concurrent use.
type Cache struct {
	store    tokenstore.Store
	customer string
	kind     string
	timeout  time.Duration

	mu       sync.Mutex
	versions map[string]int64 // record name -> version last read by Replace (0: none)
	dropAT   bool             // DropAccessTokens: the next Replace strips access tokens
}

// DropAccessTokens makes Replace hand MSAL the stored cache without its
// access tokens, refresh tokens and accounts kept, until the next Export: MSAL's
// next silent call redeems the refresh token for a fresh access token
// (and its Export stores it). For an access token the resource rejected
// before its expiry, which MSAL would otherwise serve until then.
func (c *Cache) DropAccessTokens() {
	c.mu.Lock()
	c.dropAT = true
	c.mu.Unlock()
}

// withoutAccessTokens returns a serialized MSAL cache without its
// AccessToken section (data unchanged when it does not parse).
func withoutAccessTokens(data []byte) []byte {
	var sections map[string]json.RawMessage
	if len(data) == 0 || json.Unmarshal(data, &sections) != nil {
		return data
	}
	if _, ok := sections["AccessToken"]; !ok {
		return data
	}
	delete(sections, "AccessToken")
	out, err := json.Marshal(sections)
	if err != nil {
		return data
	}
	return out
}

var _ cache.ExportReplace = (*Cache)(nil)

// New returns a cache that stores MSAL's partitions as records of
// customer. store must seal (a *tokenstore.SealedStore from
// tokenstore.New with a keyring): a raw Backend would keep refresh tokens
// in clear, so New refuses one.
func New(store tokenstore.Store, customer string, opts Options) (*Cache, error) {
	if store == nil {
		return nil, errors.New("msalcache: nil store")
	}
	if _, raw := store.(tokenstore.Backend); raw {
		return nil, errors.New("msalcache: store is a raw tokenstore.Backend, which would keep tokens in clear; wrap it with tokenstore.New(backend, keyring)")
	}
	if ss, ok := store.(*tokenstore.SealedStore); ok && ss.Keyring() == nil {
		return nil, fmt.Errorf("msalcache: %w", tokenstore.ErrNoKeyring)
	}
	c := &Cache{
		store:    store,
		customer: customer,
		kind:     opts.Kind,
		timeout:  opts.Timeout,
		versions: make(map[string]int64),
	}
	if c.kind == "" {
		c.kind = DefaultKind
	}
	if c.timeout <= 0 {
		c.timeout = DefaultTimeout
	}
	if err := c.key("").Validate(); err != nil {
		return nil, fmt.Errorf("msalcache: %w", err)
	}
	return c, nil
}

// key names the record of a partition. Partition keys are opaque to us
// (they hold client, tenant and account IDs); a hash gives a bounded,
// uniform name.
func (c *Cache) key(partitionKey string) tokenstore.Key {
	sum := sha256.Sum256([]byte(partitionKey))
	return tokenstore.Key{Customer: c.customer, Kind: c.kind, Name: base64.RawURLEncoding.EncodeToString(sum[:])}
}

func (c *Cache) withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, c.timeout)
}

// Replace loads the partition's stored cache into MSAL's in-memory cache,
// replacing it. It always calls Unmarshal, with nil (which MSAL reads
// as an empty cache) when the partition has no record, so that no other partition's tokens stay
// behind. A stored blob that does not open is returned as an error
// (errors.As *tokenstore.OpenError); Delete clears such a partition.
func (c *Cache) Replace(ctx context.Context, u cache.Unmarshaler, hints cache.ReplaceHints) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	key := c.key(hints.PartitionKey)
	rec, err := tokenstore.GetSealed(ctx, c.store, key)
	switch {
	case errors.Is(err, tokenstore.ErrNotFound):
		// A miss must still replace the in-memory cache, or the previous
		// partition's tokens stay there and Export writes them into this
		// partition. MSAL's Unmarshal(nil) installs an empty cache.
		rec = tokenstore.Record{}
	case err != nil:
		// Leave no other partition's tokens in memory, whatever MSAL
		// does with the error.
		_ = u.Unmarshal(nil)
		return fmt.Errorf("msalcache: replace %s: %w", key, err)
	}
	c.mu.Lock()
	drop := c.dropAT // until the next Export stores the renewed cache
	c.mu.Unlock()
	if drop {
		rec.Data = withoutAccessTokens(rec.Data)
	}
	if err := u.Unmarshal(rec.Data); err != nil {
		_ = u.Unmarshal(nil)
		return fmt.Errorf("msalcache: replace %s: stored cache does not parse: %w", key, err)
	}
	c.mu.Lock()
	c.versions[key.Name] = rec.Version
	c.mu.Unlock()
	return nil
}

// Export stores MSAL's in-memory cache as the partition's record, sealed,
// with a versioned write. If another writer (another replica, or a key
// rotation) changed the record since Replace read it, Export re-reads the
// version and writes again: the cache MSAL exports holds the newest
// tokens of this partition, which replace the other writer's equally
// valid ones.
func (c *Cache) Export(ctx context.Context, m cache.Marshaler, hints cache.ExportHints) error {
	ctx, cancel := c.withTimeout(ctx)
	defer cancel()
	key := c.key(hints.PartitionKey)
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("msalcache: export %s: marshal: %w", key, err)
	}
	c.mu.Lock()
	version := c.versions[key.Name]
	c.dropAT = false
	c.mu.Unlock()
	for attempt := 0; ; attempt++ {
		stored, err := c.store.Put(ctx, tokenstore.Record{Key: key, Data: data, Sealed: true}, version)
		if err == nil {
			c.mu.Lock()
			c.versions[key.Name] = stored.Version
			c.mu.Unlock()
			return nil
		}
		var ce *tokenstore.ConflictError
		if !errors.As(err, &ce) || attempt == 5 {
			return fmt.Errorf("msalcache: export %s: %w", key, err)
		}
		version = ce.Actual
	}
}

// Delete removes the stored cache of one partition, for example one whose
// blob no longer opens. Deleting a missing partition is not an error.
func (c *Cache) Delete(ctx context.Context, partitionKey string) error {
	key := c.key(partitionKey)
	err := c.store.Delete(ctx, key, tokenstore.AnyVersion)
	if err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
		return fmt.Errorf("msalcache: delete %s: %w", key, err)
	}
	c.mu.Lock()
	delete(c.versions, key.Name)
	c.mu.Unlock()
	return nil
}
