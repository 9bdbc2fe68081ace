package fleet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// registryCustomer holds the fleet's registry: one record per enrolled
// customer, named by its ID. Host customer IDs must not use it.
const registryCustomer = "_tenantgate.fleet"

// Record kinds.
const (
	kindCustomer   = "fleet.customer"   // registry (under registryCustomer)
	kindOffboarded = "fleet.offboarded" // tombstones (under registryCustomer)
	// kindOffboardReport is the report of an offboarding in progress
	// (under registryCustomer); the tombstone takes it at the end.
	kindOffboardReport = "fleet.offboardreport"
	kindState          = "fleet.state" // per customer: last check, sync, keep-alive
	// kindSyncRun keeps the latest sync run of a customer; the kind is the
	// one the admin API used before syncs were jobs, so earlier results
	// still show.
	kindSyncRun = "httpapi.syncrun"
)

// entry is a registry record.
type entry struct {
	Name    string    `json:"name,omitempty"`
	AddedAt time.Time `json:"addedAt"`
	// OffboardingSince is set while the customer is being offboarded.
	OffboardingSince *time.Time `json:"offboardingSince,omitempty"`
	// OffboardJob is the River job offboarding it.
	OffboardJob int64 `json:"offboardJob,omitempty"`
}

// state is what the fleet records per customer (not sealed: no secrets).
type state struct {
	LastCheckAt     *time.Time `json:"lastCheckAt,omitempty"`
	LastCheckOK     bool       `json:"lastCheckOk,omitempty"`
	LastSyncAt      *time.Time `json:"lastSyncAt,omitempty"`
	LastSyncOK      bool       `json:"lastSyncOk,omitempty"`
	LastKeepAliveAt *time.Time `json:"lastKeepAliveAt,omitempty"`
	// Checks and Syncs count the completed jobs of each kind.
	Checks int `json:"checks,omitempty"`
	Syncs  int `json:"syncs,omitempty"`
	// CheckJob and SyncJob are the River jobs that last finished a check
	// and a sync: a job River runs again because the replica that did the
	// work died before River recorded its completion finds itself here
	// and does nothing.
	CheckJob int64 `json:"checkJob,omitempty"`
	SyncJob  int64 `json:"syncJob,omitempty"`
}

// done reports whether job already finished its work (see state.CheckJob).
func (f *Fleet) done(ctx context.Context, customer string, job int64, kind string) (bool, error) {
	var st state
	if _, _, err := getJSON(ctx, f.cfg.Store, stateKey(customer), &st); err != nil {
		return false, err
	}
	switch kind {
	case KindCheck:
		return st.CheckJob == job, nil
	case KindSync:
		return st.SyncJob == job, nil
	}
	return false, nil
}

func registryKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: registryCustomer, Kind: kindCustomer, Name: customer}
}

func tombstoneKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: registryCustomer, Kind: kindOffboarded, Name: customer}
}

func stateKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: customer, Kind: kindState, Name: "state"}
}

func syncRunKey(customer string) tokenstore.Key {
	return tokenstore.Key{Customer: customer, Kind: kindSyncRun, Name: "latest"}
}

// getJSON reads the record at key into v; ok is false when it is missing.
func getJSON(ctx context.Context, st tokenstore.Store, key tokenstore.Key, v any) (version int64, ok bool, err error) {
	rec, err := st.Get(ctx, key)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if err := json.Unmarshal(rec.Data, v); err != nil {
		return 0, false, fmt.Errorf("fleet: stored %s of %q: %w", key.Kind, key.Customer, err)
	}
	return rec.Version, true, nil
}

// update applies fn to the record at key (zero value when missing) and
// stores it, retrying on concurrent writes. fn returning errSkip stores
// nothing.
func update[T any](ctx context.Context, st tokenstore.Store, key tokenstore.Key, fn func(v *T, exists bool) error) error {
	for range 10 {
		var v T
		version, ok, err := getJSON(ctx, st, key, &v)
		if err != nil {
			return err
		}
		if err := fn(&v, ok); err != nil {
			if errors.Is(err, errSkip) {
				return nil
			}
			return err
		}
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		_, err = st.Put(ctx, tokenstore.Record{Key: key, Data: data}, version)
		if !errors.Is(err, tokenstore.ErrConflict) {
			return err
		}
	}
	return fmt.Errorf("fleet: updating %s of %q kept conflicting", key.Kind, key.Customer)
}

var errSkip = errors.New("skip")

// deleteKey removes key, treating a missing record as done.
func deleteKey(ctx context.Context, st tokenstore.Store, key tokenstore.Key) error {
	err := st.Delete(ctx, key, tokenstore.AnyVersion)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return nil
	}
	return err
}

// Enroll adds the customer to the fleet (name is its display name, may be
// empty), so that it gets scheduled checks and syncs and is listed by
// Customers. Enrolling an enrolled customer only updates a non-empty name;
// enrolling an offboarded one starts it afresh.
func (f *Fleet) Enroll(ctx context.Context, customer, name string) error {
	if err := (tokenstore.Key{Customer: customer, Kind: kindState, Name: "state"}).Validate(); err != nil || customer == registryCustomer {
		return fmt.Errorf("fleet: enroll %q: %w", customer, ErrInvalidCustomer)
	}
	err := update(ctx, f.cfg.Store, registryKey(customer), func(e *entry, exists bool) error {
		if exists && (name == "" || name == e.Name) && e.OffboardingSince == nil {
			return errSkip
		}
		if exists && e.OffboardingSince != nil {
			return ErrOffboarding
		}
		if !exists {
			e.AddedAt = f.cfg.Now().UTC()
		}
		if name != "" {
			e.Name = name
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("fleet: enroll %q: %w", customer, err)
	}
	return deleteKey(ctx, f.cfg.Store, tombstoneKey(customer))
}

// Offboarded reports whether the customer's offboarding finished (and it
// was not enrolled again since): what was held for it is gone.
func (f *Fleet) Offboarded(ctx context.Context, customer string) (bool, error) {
	// The last step writes the tombstone, then deletes the registry entry
	// and the draft report: finished is the tombstone there and both gone.
	for _, k := range []struct {
		key  tokenstore.Key
		want bool
	}{{tombstoneKey(customer), true}, {registryKey(customer), false}, {reportKey(customer), false}} {
		_, err := f.cfg.Store.Get(ctx, k.key)
		if err != nil && !errors.Is(err, tokenstore.ErrNotFound) {
			return false, err
		}
		if (err == nil) != k.want {
			return false, nil
		}
	}
	return true, nil
}

// offboarded reports whether the customer was offboarded (and not enrolled
// again since), or is being offboarded.
func (f *Fleet) offboarded(ctx context.Context, customer string) (bool, error) {
	if _, err := f.cfg.Store.Get(ctx, tombstoneKey(customer)); err == nil {
		return true, nil
	} else if !errors.Is(err, tokenstore.ErrNotFound) {
		return false, err
	}
	var e entry
	_, ok, err := getJSON(ctx, f.cfg.Store, registryKey(customer), &e)
	if err != nil {
		return false, err
	}
	return ok && e.OffboardingSince != nil, nil
}
