package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/scaletest"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
)

// options of a round.
type options struct {
	dsn       string
	customers int
	users     int
	replicas  int
	kill      bool
	timeout   time.Duration
	scale     float64
	appUnits  int
	tenUnits  int
	profile   string
	local     int
	sharedApp bool
	restartPG string
}

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("fleetscale", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.dsn, "postgres", os.Getenv("TENANTGATE_TEST_POSTGRES"), "PostgreSQL DSN (default $TENANTGATE_TEST_POSTGRES); the round uses a schema of its own")
	fs.IntVar(&o.customers, "customers", 200, "customers (each its own fake tenant and app registration)")
	fs.IntVar(&o.users, "users", 5000, "generated users per tenant")
	fs.IntVar(&o.replicas, "replicas", 3, "replica processes")
	fs.BoolVar(&o.kill, "kill", true, "SIGKILL one replica when a quarter of the syncs are done")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	fs.Float64Var(&o.scale, "time-scale", 1, "Graph throttling time scale of the fake and the budget (1: Graph's real windows)")
	fs.IntVar(&o.appUnits, "app-units", 150_000, "the per-app budget in resource units per 20 s of Graph time (fake and budget)")
	fs.IntVar(&o.tenUnits, "tenant-units", 8000, "the per-app-per-tenant budget in resource units per 10 s of Graph time (fake and budget)")
	fs.IntVar(&o.local, "local", 0, "instead of the fleet round, measure the local floor: one process, no fleet or River, checks and syncs every customer with this many at a time")
	fs.BoolVar(&o.sharedApp, "shared-app", true, "every customer uses one multi-tenant app registration (consented in each tenant), so Graph's per-app limit spans them all; false: each customer its own app, each its own per-app budget at Graph")
	fs.StringVar(&o.restartPG, "restart-postgres", "", "a shell command that restarts PostgreSQL (for example 'pg_ctlcluster 15 tgfault restart'), run when half the syncs are done: every customer must still be checked and synced exactly once; prints how long until the round went on")
	fs.StringVar(&o.profile, "profile", "", "write CPU profiles of the orchestrator (which serves the fake) and each replica to this directory")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.dsn == "" {
		return o, errors.New("no PostgreSQL: set -postgres or TENANTGATE_TEST_POSTGRES")
	}
	if o.customers < 1 || o.users < 0 || o.replicas < 2 {
		return o, errors.New("need at least 1 customer and 2 replicas")
	}
	return o, nil
}

// orchestrate runs one round and reports it to out.
func orchestrate(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	// The fake cloud: one tenant and one app registration per customer.
	p, err := scaletest.NewParent(ctx, o.dsn, "fleetscale", &m365test.Options{ConsentReplicationDelay: -1, Throttle: &m365test.Throttle{TimeScale: o.scale,
		AppUnits: o.appUnits, TenantUnits: o.tenUnits}}, publicURL)
	if err != nil {
		return err
	}
	defer p.Close()
	dsn, tmp, fake, store, m := p.DSN, p.Dir, p.Fake, p.Store, p.Access
	quiet := slog.New(slog.DiscardHandler)
	// A fleet handle for enrolling and reading; it never starts.
	pool, err := pgxPool(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	f, err := fleet.New(ctx, fleet.Config{Postgres: pool, Access: m, Store: store, Logger: quiet})
	if err != nil {
		return err
	}
	begin := time.Now()
	domains := make(map[string]string, o.customers)
	var tenants []*m365test.Tenant
	for i := range o.customers {
		c := fmt.Sprintf("cust%04d", i)
		domain := c + ".onmicrosoft.com"
		t, err := fake.AddTenant(m365test.TenantOptions{Domains: []string{domain}, DisplayName: "Customer " + c, Users: o.users})
		if err != nil {
			return err
		}
		tenants = append(tenants, t)
		appID := fmt.Sprintf("a0000000-0000-4000-8000-%012d", i)
		secret := fmt.Sprintf("fleetscale-app-secret-%08d-0123456789", i)
		if o.sharedApp {
			appID, secret = fmt.Sprintf("a0000000-0000-4000-8000-%012d", 0), fmt.Sprintf("fleetscale-app-secret-%08d-0123456789", 0)
		}
		if !o.sharedApp || i == 0 {
			if _, err := fake.AddApp(m365test.AppOptions{ClientID: appID, DisplayName: "Customer app", HomeTenant: t.ID, SingleTenant: !o.sharedApp,
				Secrets: []m365test.Secret{{Value: secret, Expires: time.Now().AddDate(1, 0, 0)}}, ApplicationPermissions: []string{"User.Read.All", "Organization.Read.All", "TeamsUserConfiguration.Read.All"}}); err != nil {
				return err
			}
		}
		if err := fake.GrantAdminConsent(t.ID, appID); err != nil {
			return err
		}
		mode, tid, acct := m365access.ModeAppRegistration, t.ID, t.AdminUPN()
		exp := time.Now().AddDate(1, 0, 0)
		if _, err := m.SaveSettings(ctx, c, m365access.SettingsUpdate{Tenant: &tid, Mode: &mode, ServiceAccount: &acct,
			AppClientID: &appID, AppClientSecret: &secret, AppClientSecretExpiresAt: &exp}); err != nil {
			return fmt.Errorf("settings of %s: %w", c, err)
		}
		if err := f.Enroll(ctx, c, t.DisplayName); err != nil {
			return err
		}
		domains[c] = domain
	}
	fmt.Fprintf(out, "seeded %d customers x %d users in %v\n", o.customers, o.users, time.Since(begin).Round(time.Millisecond))

	// The replicas.
	env := []string{
		envScale + "=" + strconv.FormatFloat(o.scale, 'f', -1, 64),
		// The app's whole budget: each replica paces to its share of the
		// live replicas (fleet.Config.Budget).
		envAppUnits + "=" + strconv.Itoa(o.appUnits), envTenantUnits + "=" + strconv.Itoa(o.tenUnits)}
	if o.profile != "" {
		env = append(env, envProfile+"="+o.profile)
		stop, err := scaletest.StartProfile(filepath.Join(o.profile, "orchestrator.cpu"))
		if err != nil {
			return err
		}
		defer stop()
	}
	if o.local > 0 {
		fake.SetThrottle(&m365test.Throttle{TimeScale: o.scale, AppUnits: o.appUnits, TenantUnits: o.tenUnits})
		return runLocal(ctx, out, o, append(p.ReplicaEnv(), env...), dsn, domains)
	}
	// Count the round's Graph requests only (seeding sent some).
	fake.SetThrottle(&m365test.Throttle{TimeScale: o.scale, AppUnits: o.appUnits, TenantUnits: o.tenUnits})
	procs := make([]*exec.Cmd, o.replicas)
	roundStart := time.Now()
	for i := range procs {
		if procs[i], err = p.StartReplica("replica-"+strconv.Itoa(i), env); err != nil {
			return err
		}
	}
	defer func() {
		for _, p := range procs {
			if p != nil && p.ProcessState == nil {
				_ = p.Process.Signal(syscall.SIGTERM)
				_ = p.Wait()
			}
		}
	}()

	pconn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer pconn.Close(context.Background())
	pgCPU0 := scaletest.PostgresCPU()
	killed, runningAtKill := -1, 0
	var killedAt time.Time
	restarted, syncedAtRestart := time.Time{}, 0
	var roundTime time.Duration
	for {
		if err := ctx.Err(); err != nil {
			scaletest.DumpLogs(out, tmp, replicaIDs(o.replicas))
			return fmt.Errorf("the round did not finish: %w", err)
		}
		checked, synced, err := progress(ctx, pconn)
		if err != nil && !restarted.IsZero() {
			// PostgreSQL came back: connect again.
			pconn.Close(context.Background())
			if pconn, err = pgx.Connect(ctx, dsn); err != nil {
				time.Sleep(100 * time.Millisecond)
				continue
			}
			checked, synced, err = progress(ctx, pconn)
		}
		if err != nil {
			return err
		}
		if o.restartPG != "" && restarted.IsZero() && synced >= o.customers/2 {
			begin := time.Now()
			cmd := exec.CommandContext(ctx, "sh", "-c", o.restartPG)
			if b, err := cmd.CombinedOutput(); err != nil {
				return fmt.Errorf("restart PostgreSQL (%s): %w: %s", o.restartPG, err, b)
			}
			restarted, syncedAtRestart = time.Now(), synced
			fmt.Fprintf(out, "restarted PostgreSQL at %d/%d syncs (%q took %v)\n", synced, o.customers, o.restartPG, restarted.Sub(begin).Round(time.Millisecond))
			continue
		}
		if !restarted.IsZero() && syncedAtRestart >= 0 && synced > syncedAtRestart {
			fmt.Fprintf(out, "the round went on %v after PostgreSQL's restart (the next sync finished)\n", time.Since(restarted).Round(time.Millisecond))
			syncedAtRestart = -1
		}
		if killed == 0 && runningAtKill > 0 && scaletest.RunningJobs(ctx, dsn, "replica-0", "") == 0 {
			fmt.Fprintf(out, "replica-0's %d running jobs were given back %v after the kill (River's RescueAfter: %v)\n",
				runningAtKill, time.Since(killedAt).Round(time.Millisecond), rescueAfter)
			killed = 1
		}
		if o.kill && killed < 0 && synced >= o.customers/4 {
			killed = 0
			runningAtKill = scaletest.RunningJobs(ctx, dsn, "replica-0", "")
			if err := procs[0].Process.Signal(syscall.SIGKILL); err != nil {
				return err
			}
			_ = procs[0].Wait()
			killedAt = time.Now()
			fmt.Fprintf(out, "SIGKILLed replica-0 at %d/%d syncs, %v into the round, with %d of its jobs running\n",
				synced, o.customers, time.Since(roundStart).Round(time.Millisecond), runningAtKill)
		}
		if checked == o.customers && synced == o.customers {
			roundTime = time.Since(roundStart)
			if pg := scaletest.PostgresCPU(); pg >= 0 && pgCPU0 >= 0 {
				fmt.Fprintf(out, "PostgreSQL CPU during the round: %v (all its processes on this machine)\n", (pg - pgCPU0).Round(10*time.Millisecond))
			}
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Later plans must not run anything again.
	time.Sleep(3 * planInterval)
	stats := fake.ThrottleStats()
	// FLEETSCALE_DEBUG=1 prints the replicas' logs (warnings and errors).
	if os.Getenv("FLEETSCALE_DEBUG") != "" {
		for i := range o.replicas {
			b, _ := os.ReadFile(fmt.Sprintf("%s/replica-%d.log", tmp, i))
			fmt.Fprintf(out, "--- replica-%d\n%s", i, b)
		}
	}
	return verify(ctx, out, o, f, dsn, domains, tenants, roundStart, roundTime, stats, killed, runningAtKill)
}

// progress counts customers whose check and sync jobs have finished
// (whether they succeeded is verify's business). It asks River's job
// table, one cheap query, rather than reading every customer's records:
// polling those ten times a second loaded PostgreSQL more than the round.
func progress(ctx context.Context, conn *pgx.Conn) (checked, synced int, err error) {
	err = conn.QueryRow(ctx, `SELECT
			count(DISTINCT args->>'customer') FILTER (WHERE kind = $1),
			count(DISTINCT args->>'customer') FILTER (WHERE kind = $2)
		FROM river_job WHERE kind IN ($1, $2) AND state IN ('completed', 'discarded', 'cancelled')`,
		fleet.KindCheck, fleet.KindSync).Scan(&checked, &synced)
	return checked, synced, err
}

// verify checks the round and prints its figures.
func verify(ctx context.Context, out io.Writer, o options, f *fleet.Fleet, dsn string, domains map[string]string,
	tenants []*m365test.Tenant, roundStart time.Time, roundTime time.Duration, stats m365test.ThrottleStats, killed, runningAtKill int) error {
	var problems []string
	after := ""
	seen := 0
	for {
		p, err := f.Customers(ctx, fleet.ListOptions{After: after, Limit: fleet.MaxPageSize})
		if err != nil {
			return err
		}
		for _, c := range p.Customers {
			seen++
			if c.Checks != 1 || c.Syncs != 1 {
				problems = append(problems, fmt.Sprintf("%s: %d checks and %d syncs, want exactly one each", c.Customer, c.Checks, c.Syncs))
			}
			if c.State != string(m365access.StateConnected) {
				problems = append(problems, fmt.Sprintf("%s: state %s (action %q)", c.Customer, c.State, c.Action))
			}
			run, ok, err := f.LatestSync(ctx, c.Customer)
			if err != nil || !ok || run.State != fleet.RunSucceeded || run.Total != o.users+1 {
				problems = append(problems, fmt.Sprintf("%s: sync run %+v (%v)", c.Customer, run, err))
			}
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if seen != o.customers {
		problems = append(problems, fmt.Sprintf("%d customers listed, want %d", seen, o.customers))
	}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	// No mixing: every customer holds exactly its own tenant's users.
	rows, err := conn.Query(ctx, `SELECT customer, split_part(user_principal_name, '@', 2), count(*), count(DISTINCT id)
		FROM tenantgate_synced_users GROUP BY 1, 2`)
	if err != nil {
		return err
	}
	perCustomer := map[string]int{}
	for rows.Next() {
		var c, d string
		var n, distinct int
		if err := rows.Scan(&c, &d, &n, &distinct); err != nil {
			return err
		}
		if domains[c] != d {
			problems = append(problems, fmt.Sprintf("%s holds %d users of %s", c, n, d))
		}
		if n != distinct {
			problems = append(problems, fmt.Sprintf("%s holds duplicate user IDs", c))
		}
		perCustomer[c] += n
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for c := range domains {
		if perCustomer[c] != o.users+1 {
			problems = append(problems, fmt.Sprintf("%s holds %d users, want %d", c, perCustomer[c], o.users+1))
		}
	}
	// Nothing lost: no fleet job discarded or cancelled; count retries.
	var lost, retried, passes int
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind LIKE 'fleet.%' AND state IN ('discarded', 'cancelled')`).Scan(&lost)
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind IN ('fleet.sync', 'fleet.check') AND attempt > 1`).Scan(&retried)
	_ = conn.QueryRow(ctx, `SELECT coalesce(sum(generation), 0) FROM tenantgate_user_sync_passes`).Scan(&passes)
	if lost > 0 {
		rows, err := conn.Query(ctx, `SELECT kind, state, args::text, coalesce(errors[array_length(errors, 1)]->>'error', '') FROM river_job
			WHERE kind LIKE 'fleet.%' AND state IN ('discarded', 'cancelled') LIMIT 5`)
		if err == nil {
			for rows.Next() {
				var kind, state, args, msg string
				_ = rows.Scan(&kind, &state, &args, &msg)
				problems = append(problems, fmt.Sprintf("job %s %s %s: %s", kind, args, state, msg))
			}
			rows.Close()
		}
		problems = append(problems, fmt.Sprintf("%d fleet jobs discarded or cancelled", lost))
	}

	requests := stats.Requests
	share := 0.0
	if requests > 0 {
		share = float64(stats.Throttled) / float64(requests)
	}
	// The per-app limit (Graph's: 150,000 units per 20 s, one unit a
	// request) sets the floor for this many requests, in real time at the
	// scale.
	floor := time.Duration(float64(requests) / float64(o.appUnits) * float64(20*time.Second) / o.scale)
	fmt.Fprintf(out, "round: %d customers x %d users, %d replicas (killed: %v, %d of its jobs running then, %d jobs retried, %d sync passes begun)\n",
		o.customers, o.users, o.replicas, killed >= 0, runningAtKill, retried, passes)
	fmt.Fprintf(out, "round time %v; Graph requests %d, throttled %d (%.3f%%: %d tenant, %d app); per-app floor %v (x%.2f)\n",
		roundTime.Round(time.Millisecond), requests, stats.Throttled, 100*share, stats.TenantThrottled, stats.AppThrottled,
		floor.Round(time.Millisecond), float64(roundTime)/float64(max(floor, 1)))
	// The Graph span: from the first to the last Graph request, without
	// the replicas' start (migrations, leader election, the first plan).
	span := stats.Last.Sub(stats.First)
	fmt.Fprintf(out, "Graph span (first to last Graph request) %v (x%.2f of the floor); start-up before the first request %v\n",
		span.Round(time.Millisecond), float64(span)/float64(max(floor, 1)), stats.First.Sub(roundStart).Round(time.Millisecond))
	if len(problems) > 0 {
		sort.Strings(problems)
		if len(problems) > 20 {
			problems = append(problems[:20], fmt.Sprintf("... %d more", len(problems)-20))
		}
		return fmt.Errorf("the round failed:\n  %s", strings.Join(problems, "\n  "))
	}
	fmt.Fprintln(out, "ok: every customer checked and synced exactly once, nothing lost, no mixing")
	_ = tenants
	return nil
}

// runLocal runs the local floor in a child process and checks that every
// customer holds its own users.
func runLocal(ctx context.Context, out io.Writer, o options, env []string, dsn string, domains map[string]string) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, self)
	cmd.Env = append(append(os.Environ(), env...), envLocalWorkers+"="+strconv.Itoa(o.local), envLocalCustomers+"="+strconv.Itoa(o.customers))
	cmd.Stderr = os.Stderr
	pg0 := scaletest.PostgresCPU()
	start := time.Now()
	b, err := cmd.Output()
	wall := time.Since(start)
	if err != nil {
		return fmt.Errorf("local floor: %w", err)
	}
	fmt.Fprintf(out, "%slocal floor process: %v from start to exit; PostgreSQL CPU %v\n", b, wall.Round(time.Millisecond), (scaletest.PostgresCPU() - pg0).Round(10*time.Millisecond))
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var problems []string
	for c, d := range domains {
		var n, own int
		if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE split_part(user_principal_name, '@', 2) = $2)
			FROM tenantgate_synced_users WHERE customer = $1`, c, d).Scan(&n, &own); err != nil {
			return err
		}
		if n != o.users+1 || own != n {
			problems = append(problems, fmt.Sprintf("%s holds %d users, %d of its own, want %d", c, n, own, o.users+1))
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return fmt.Errorf("the local floor failed:\n  %s", strings.Join(problems, "\n  "))
	}
	fmt.Fprintln(out, "ok: every customer synced with its own users")
	return nil
}

// replicaIDs names n replicas.
func replicaIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = "replica-" + strconv.Itoa(i)
	}
	return ids
}
