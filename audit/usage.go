package audit

import (
	"context"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/tenantgate/tenantgate/internal/fence"
	"github.com/tenantgate/tenantgate/internal/graphhttp"
)

type useKey struct {
	customer string
	hour     int64 // Unix seconds of the hour's start
}

// CountUse counts one use of customer's credential by host code, in the
// current hour. Counts are kept in memory until Flush.
func (l *Log) CountUse(customer string) {
	k := useKey{customer: customer, hour: time.Now().Truncate(time.Hour).Unix()}
	l.mu.Lock()
	l.uses[k]++
	l.mu.Unlock()
}

// Credential wraps cred, customer's credential, so that every GetToken is
// counted with CountUse. What else cred does for Graph's pipeline is kept:
// evicting a refused token and recording Graph's refusals in the
// customer's connection state.
func (l *Log) Credential(customer string, cred azcore.TokenCredential) azcore.TokenCredential {
	return &countingCredential{l: l, customer: customer, cred: cred}
}

type countingCredential struct {
	l        *Log
	customer string
	cred     azcore.TokenCredential
}

// EvictToken passes the eviction of a refused token on to the wrapped
// credential, when it can evict.
func (c *countingCredential) EvictToken(token string) {
	if ev, ok := c.cred.(graphhttp.TokenEvicter); ok {
		ev.EvictToken(token)
	}
}

// RecordRefusal passes a Graph refusal on to the wrapped credential, when
// it records them.
func (c *countingCredential) RecordRefusal(ctx context.Context, r graphhttp.Refusal) {
	if rec, ok := c.cred.(graphhttp.RefusalRecorder); ok {
		rec.RecordRefusal(ctx, r)
	}
}

func (c *countingCredential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	c.l.CountUse(c.customer)
	return c.cred.GetToken(ctx, opts)
}

// Flush adds the counted uses to the database. Counts that fail to save
// are kept for the next Flush.
func (l *Log) Flush(ctx context.Context) error {
	l.mu.Lock()
	pending := l.uses
	l.uses = map[useKey]int64{}
	l.mu.Unlock()
	var firstErr error
	for k, n := range pending {
		_, err := l.db.ExecContext(ctx, l.d.Rebind(`INSERT INTO tenantgate_credential_use (customer, hour, uses) VALUES (?, ?, ?)
			ON CONFLICT (customer, hour) DO UPDATE SET uses = tenantgate_credential_use.uses + excluded.uses`), k.customer, k.hour, n)
		if fence.Is(err) {
			// The customer was offboarded after these uses: dropped.
			l.log.InfoContext(ctx, "audit: credential uses of an offboarded customer dropped", "customer", k.customer, "uses", n)
			continue
		}
		if err != nil {
			l.mu.Lock()
			l.uses[k] += n
			l.mu.Unlock()
			if firstErr == nil {
				firstErr = fmt.Errorf("audit: save credential use: %w", err)
			}
		}
	}
	return firstErr
}

// Run flushes the counts every interval (a minute when <= 0) until ctx
// ends, then once more.
func (l *Log) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = time.Minute
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			if err := l.Flush(context.WithoutCancel(ctx)); err != nil {
				l.log.Warn("audit: flushing credential use failed", "err", err.Error())
			}
			return
		case <-t.C:
			if err := l.Flush(ctx); err != nil {
				l.log.WarnContext(ctx, "audit: flushing credential use failed", "err", err.Error())
			}
		}
	}
}

// HourUse is the credential use of one customer in one hour.
type HourUse struct {
	Hour time.Time `json:"hour"`
	Uses int64     `json:"uses"`
}

// CredentialUse returns customer's flushed credential use per hour in
// [from, to), oldest first.
func (l *Log) CredentialUse(ctx context.Context, customer string, from, to time.Time) ([]HourUse, error) {
	rows, err := l.db.QueryContext(ctx, l.d.Rebind(`SELECT hour, uses FROM tenantgate_credential_use
		WHERE customer = ? AND hour >= ? AND hour < ? ORDER BY hour`), customer, from.Truncate(time.Hour).Unix(), to.Unix())
	if err != nil {
		return nil, fmt.Errorf("audit: credential use: %w", err)
	}
	defer rows.Close()
	var out []HourUse
	for rows.Next() {
		var h, n int64
		if err := rows.Scan(&h, &n); err != nil {
			return nil, fmt.Errorf("audit: credential use: %w", err)
		}
		out = append(out, HourUse{Hour: time.Unix(h, 0).UTC(), Uses: n})
	}
	return out, rows.Err()
}

// Offboard erases customer's credential-use counts (stored and not yet
// flushed) when it is offboarded; its audit entries are kept. It fits
// fleet's OffboardHook and is idempotent.
func (l *Log) Offboard(ctx context.Context, customer string) error {
	l.mu.Lock()
	for k := range l.uses {
		if k.customer == customer {
			delete(l.uses, k)
		}
	}
	l.mu.Unlock()
	tx, err := l.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("audit: erase the credential use of %q: %w", customer, err)
	}
	defer func() { _ = tx.Rollback() }()
	if err := fence.Lock(ctx, tx, l.d, customer); err != nil {
		return fmt.Errorf("audit: erase the credential use of %q: %w", customer, err)
	}
	if err := fence.Set(ctx, tx, l.d, "tenantgate_credential_use_erased", customer, time.Now()); err != nil {
		return fmt.Errorf("audit: erase the credential use of %q: %w", customer, err)
	}
	if _, err := tx.ExecContext(ctx, l.d.Rebind(`DELETE FROM tenantgate_credential_use WHERE customer = ?`), customer); err != nil {
		return fmt.Errorf("audit: erase the credential use of %q: %w", customer, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("audit: erase the credential use of %q: %w", customer, err)
	}
	return nil
}

// Unfence lifts the fence Offboard put on the customer's credential-use
// counts (fleet.Unfencer): it was created again.
func (l *Log) Unfence(ctx context.Context, customer string) error {
	return fence.Lift(ctx, l.db, l.d, "tenantgate_credential_use_erased", customer)
}
