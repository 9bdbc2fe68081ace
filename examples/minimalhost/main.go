// Command minimalhost is the smallest complete host of tenantgate: the
// README's embedding sketch, compiled. It wires tokenstore (SQLite),
// m365access, invite (SMTP), usersync (Graph source, SQLite sink), the
// fleet's background jobs (River on SQLite: syncs, health checks, token
// keep-alive) and httpapi behind the host's own authorization, and shuts
// down in order. docs/benchmarks.md measures its binary size and
// cold build time.
//
// It needs real settings (a provider app, SMTP, a sealing key); the demo
// with a fake Microsoft cloud is examples/server.
package main

import (
	"context"
	"crypto/subtle"
	"errors"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/smtpmail"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/sqlitestore"
	"github.com/tenantgate/tenantgate/usersync"
	"github.com/tenantgate/tenantgate/usersync/filter"
	"github.com/tenantgate/tenantgate/usersync/sqlsink"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	logger := slog.Default()

	// Storage: every secret sealed with the keyring's keys.
	kr, err := tokenstore.KeyringFromEnv("TENANTGATE_SEALING_KEYS")
	if err != nil {
		return err
	}
	backend, err := sqlitestore.Open(ctx, "tenantgate.db", sqlitestore.Options{})
	if err != nil {
		return err
	}
	store := tokenstore.New(backend, kr)
	defer store.Close() // last: everything below writes to it
	sink, err := sqlsink.OpenSQLite(ctx, "tenantgate.db")
	if err != nil {
		return err
	}
	defer sink.Close()

	// The provider app; its public base URL is the one place the wizard's
	// address is configured.
	access, err := m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{
			ClientID:       os.Getenv("TENANTGATE_CLIENT_ID"),
			ClientSecret:   os.Getenv("TENANTGATE_CLIENT_SECRET"),
			PublicBaseURL:  "https://portal.example.com/m365",
			AppPermissions: []string{"User.Read.All"},
		},
		Store: store, Locker: store, Logger: logger,
		ValidateFilter: func(f string) error { _, err := filter.Compile(f); return err },
	})
	if err != nil {
		return err
	}
	mailer, err := smtpmail.New(smtpmail.Config{Host: os.Getenv("SMTP_HOST"), Port: 587, From: "onboarding@portal.example.com"})
	if err != nil {
		return err
	}
	invitations, err := invite.New(invite.Options{Store: store, Mailer: mailer, PublicBaseURL: access.PublicURLs().BaseURL, Logger: logger})
	if err != nil {
		return err
	}

	// User sync: the Manager gives the credentials and the saved filters.
	source, err := usersync.NewGraphSource(access, usersync.GraphOptions{})
	if err != nil {
		return err
	}
	syncer := &usersync.Syncer{Source: source, Sink: sink, Filters: access, Logger: logger}

	// Background jobs: user syncs, health checks, token keep-alive.
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	jobs, err := fleet.New(ctx, fleet.Config{SQLitePath: "jobs.db", Access: access, Store: store,
		Syncer: syncer, Users: sink, Invitations: invitations, Logger: logger})
	if err != nil {
		return err
	}
	if err := jobs.Start(bg); err != nil {
		return err
	}

	h, err := httpapi.New(httpapi.Config{
		Authorizer: httpapi.AuthorizerFunc(func(_ context.Context, r *http.Request, _ string, _ httpapi.Operation) error {
			want := "Bearer " + os.Getenv("ADMIN_TOKEN")
			if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte(want)) != 1 {
				return httpapi.ErrUnauthenticated
			}
			return nil
		}),
		Access: access, Invitations: invitations, Store: store, Fleet: jobs, Users: sink, Logger: logger,
	})
	if err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/m365/", http.StripPrefix("/m365", h))
	srv := &http.Server{Addr: "127.0.0.1:8080", Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.ListenAndServe() }()
	select {
	case err = <-served:
	case <-ctx.Done():
	}

	// Shutdown, in order: stop taking requests, refuse new sync runs, stop
	// the fleet (it waits for running jobs); the deferred sink and store
	// closes run last.
	sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer scancel()
	err = errors.Join(err, srv.Shutdown(sctx), h.Close(sctx), jobs.Stop(sctx))
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}
