// Command voicescale is Teams Phone provisioning's scale test: several
// replica processes on one PostgreSQL database apply a voice plan of a few
// hundred users per customer over several customers on the m365test fake
// cloud (with Microsoft's long-running number operations delayed), one
// replica running apply jobs is killed with SIGKILL mid-apply, and every
// user must still end in the target state exactly once: the fake's log of
// accepted changes (m365test.Tenant.VoiceLog) must show one Teams Phone
// license and one number assignment per user, no number given to two
// users, no user outside the plan touched, and nothing lost.
//
//	TENANTGATE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/db?sslmode=disable \
//	    go run ./voice/cmd/voicescale -customers 4 -users 300 -replicas 3
//
// The parent process serves the fake over TLS (all replicas share it),
// seeds the customers (app registration mode), reads each inventory, gives
// each the Milan range and a profile ("UsageLocation -eq 'IT' -and
// EnterpriseVoiceEnabled -eq $false": Teams Phone license, the range's
// next number, three voice policies), plans it and applies the plans. The
// replicas are wired as a production host (pgstore, an m365access Manager,
// voice on PostgreSQL as a plugin of a fleet on riverpgxv5 with its
// Budget) and talk to the fake through its TLS listener. The command works
// in a schema of its own, dropped at the end, prints the apply's figures
// and exits non-zero, saying why, when any check fails.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/scaletest"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/voice"
)

// envPoll is how often a replica follows a number operation.
const envPoll = "VOICESCALE_POLL"

const publicURL = "https://voicescale.example/m365"

// Fleet timing of the replicas: a killed replica's jobs are given back
// within three heartbeats (fleet's orphan rescue); River's own rescue
// (RescueAfter) would take minutes.
const (
	jobTimeout       = 2 * time.Minute
	rescueAfter      = 3 * time.Minute
	replicaHeartbeat = 500 * time.Millisecond
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	var err error
	if id := os.Getenv(scaletest.EnvReplica); id != "" {
		err = replica(ctx, id)
	} else {
		err = orchestrate(ctx, os.Args[1:], os.Stdout)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "voicescale:", err)
		os.Exit(1)
	}
}

// replica runs one replica until ctx ends: the fleet with voice plugged
// in, working the apply's jobs.
func replica(ctx context.Context, id string) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})).With("replica", id)
	poll, err := time.ParseDuration(os.Getenv(envPoll))
	if err != nil {
		return fmt.Errorf("%s: %w", envPoll, err)
	}
	r, err := scaletest.OpenReplica(ctx, log)
	if err != nil {
		return err
	}
	defer r.Close()
	dsn, store, tr := r.DSN, r.Store, r.Transport
	// One budget under all of the app's Graph traffic: the Manager's
	// token requests here, voice's through the fleet (UseBudget).
	budget := &fleet.Budget{}
	m, err := m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{ClientID: r.ClientID, ClientSecret: r.Secret, PublicBaseURL: publicURL},
		Store:    store, Locker: store, HTTPClient: &http.Client{Transport: budget.Transport(tr), Timeout: time.Minute}, Logger: log,
	})
	if err != nil {
		return err
	}
	vs, err := voice.OpenPostgres(ctx, dsn)
	if err != nil {
		return err
	}
	defer vs.Close()
	svc, err := voice.New(voice.Config{Access: m, Store: vs, HTTPClient: &http.Client{Transport: tr}, Logger: log,
		PollInterval: poll, PollMaxInterval: 4 * poll})
	if err != nil {
		return err
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	f, err := fleet.New(ctx, fleet.Config{
		Postgres: pool, Access: m, Store: store, ID: id, Plugins: []fleet.Plugin{svc},
		CheckInterval: 24 * time.Hour, JobTimeout: jobTimeout, RescueAfter: rescueAfter, MaxWorkers: 8,
		Budget: budget, ReplicaHeartbeat: replicaHeartbeat, Logger: log,
	})
	if err != nil {
		return err
	}
	return scaletest.RunFleet(ctx, f)
}
