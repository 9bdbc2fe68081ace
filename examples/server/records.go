package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/internal/sqldb"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// openRecords opens the event log, the webhook delivery log and the audit
// trail in the tokenstore's database (the SQLite file in demo mode,
// PostgreSQL in production).
func (a *app) openRecords(ctx context.Context) error {
	dialect := events.SQLite
	if a.cfg.Mode == modeProduction {
		db, err := sqldb.OpenPostgres(a.cfg.PostgresDSN, 0)
		if err != nil {
			return fmt.Errorf("open the PostgreSQL event log (-postgres-dsn): %w", err)
		}
		a.recordsDB, dialect = db, events.Postgres
	} else {
		db, err := sqldb.OpenSQLite(filepath.Join(a.cfg.DataDir, "tenantgate.db"), sqldb.SQLiteDSN(filepath.Join(a.cfg.DataDir, "tenantgate.db"), true))
		if err != nil {
			return fmt.Errorf("open the SQLite event log: %w", err)
		}
		a.recordsDB = db
	}
	opts := events.Options{DB: a.recordsDB, Dialect: dialect, Logger: a.log, NoMigrate: a.cfg.NoMigrate,
		// A loopback http receiver is for demos only.
		AllowLoopbackHTTP: a.cfg.Mode == modeDemo}
	if a.cfg.WebhookURL != "" {
		opts.Endpoints = []events.Endpoint{{URL: a.cfg.WebhookURL, Secrets: a.cfg.WebhookSecrets}}
	}
	var err error
	if a.bus, err = events.New(ctx, opts); err != nil {
		return fmt.Errorf("webhook settings (-webhook-url, -webhook-secret): %w", err)
	}
	chainKey, err := a.auditChainKey(ctx)
	if err != nil {
		return fmt.Errorf("the audit trail's chain key: %w", err)
	}
	if a.trail, err = audit.New(ctx, audit.Options{DB: a.recordsDB, Dialect: dialect, Logger: a.log, NoMigrate: a.cfg.NoMigrate, ChainKey: chainKey}); err != nil {
		return fmt.Errorf("the audit trail: %w", err)
	}
	return nil
}

// flushDeliveries enqueues, every interval until ctx ends, the webhook
// deliveries whose job could not be enqueued when their event was
// recorded (the job database was busy or down).
func (a *app) flushDeliveries(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := a.bus.Flush(ctx); err != nil && ctx.Err() == nil {
				a.log.WarnContext(ctx, "queuing pending webhook deliveries failed; retrying in a minute", "err", err.Error())
			}
		}
	}
}

// offboarded runs last when a customer is offboarded: its event.
func (a *app) offboarded(ctx context.Context, customer string) error {
	return a.bus.Emit(ctx, events.Event{Type: events.CustomerOffboarded, Key: "offboarded/" + time.Now().UTC().Format(time.RFC3339),
		Data: events.Data{Customer: customer}})
}

// countedCredentials gives host code the customers' credentials, each use
// counted in the audit trail per customer per hour.
type countedCredentials struct{ a *app }

func (c countedCredentials) Credential(customer string) azcore.TokenCredential {
	return c.a.trail.Credential(customer, c.a.manager.Credential(customer))
}

// metricsHandler returns the GET /metrics handler: the OpenTelemetry
// metrics of this process in Prometheus text format. The MeterProvider is
// the process's global one, installed once (the library's instruments
// bind to the first one installed).
var metricsHandler = sync.OnceValues(func() (http.Handler, error) {
	reg := prometheus.NewRegistry()
	exp, err := otelprom.New(otelprom.WithRegisterer(reg), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("the Prometheus exporter: %w", err)
	}
	otel.SetMeterProvider(sdkmetric.NewMeterProvider(sdkmetric.WithReader(exp)))
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), nil
})

// watchProviderExpiry emits secret.expiring and secret.expired for the
// provider app's own secret or certificate (customer
// events.ProviderCustomer) at start and every interval until ctx ends.
func (a *app) watchProviderExpiry(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = 6 * time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := a.checkProviderExpiry(ctx, time.Now()); err != nil && ctx.Err() == nil {
			a.log.WarnContext(ctx, "checking the provider app's credential expiry failed", "err", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkProviderExpiry emits the provider credential's expiry events.
func (a *app) checkProviderExpiry(ctx context.Context, now time.Time) error {
	kind, at, ok := a.manager.ProviderCredentialExpiry()
	if !ok {
		return nil
	}
	c := events.CredentialProviderSecret
	if kind == m365access.ProviderCertificate {
		c = events.CredentialProviderCertificate
	}
	return a.bus.CheckProviderExpiry(ctx, c, at, now)
}

// auditChainKeyRecord holds the audit trail's chain key, sealed: whoever
// writes the database without the sealing keys cannot recompute the
// chain.
var auditChainKeyRecord = tokenstore.Key{Customer: "_tenantgate.audit", Kind: "chainKey", Name: "v1"}

// auditChainKey loads the audit trail's chain key from the sealed store,
// creating it (32 random bytes) on first start; a record that is not
// sealed is refused.
func (a *app) auditChainKey(ctx context.Context) ([]byte, error) {
	for range 3 {
		rec, err := tokenstore.GetSealed(ctx, a.store, auditChainKeyRecord)
		if err == nil {
			return rec.Data, nil
		}
		if !errors.Is(err, tokenstore.ErrNotFound) {
			return nil, err
		}
		key := make([]byte, 32)
		_, _ = rand.Read(key) // crypto/rand.Read never fails
		if _, err := a.store.Put(ctx, tokenstore.Record{Key: auditChainKeyRecord, Data: key, Sealed: true}, 0); err == nil {
			return key, nil
		} else if !errors.Is(err, tokenstore.ErrConflict) {
			return nil, err
		}
		// Another replica created it meanwhile: read that one.
	}
	return nil, errors.New("the chain key record keeps changing")
}
