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
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/internal/scaletest"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/m365test"
	"github.com/tenantgate/tenantgate/voice"
)

// options of a run.
type options struct {
	dsn       string
	customers int
	users     int
	replicas  int
	kill      bool
	delay     time.Duration
	timeout   time.Duration
}

// usersPerTarget: the demo tenant's Italians without voice are one user in
// fifteen (i%10 == 4, i%3 != 0), so a tenant of 15*n users gives n.
const usersPerTarget = 15

// maxVoiceLog is how many changes a fake tenant's VoiceLog keeps; the
// proof needs every one (a license, a number and three policies a user).
const maxVoiceLog = 10_000

// profileFilter selects the plan's users: the Italians without voice.
const profileFilter = "UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $false"

func parseFlags(args []string) (options, error) {
	fs := flag.NewFlagSet("voicescale", flag.ContinueOnError)
	var o options
	fs.StringVar(&o.dsn, "postgres", os.Getenv("TENANTGATE_TEST_POSTGRES"), "PostgreSQL DSN (default $TENANTGATE_TEST_POSTGRES); the run uses a schema of its own")
	fs.IntVar(&o.customers, "customers", 4, "customers, each its own fake tenant")
	fs.IntVar(&o.users, "users", 300, "users each customer's plan gives voice (the tenant has 15 times as many)")
	fs.IntVar(&o.replicas, "replicas", 3, "replica processes")
	fs.BoolVar(&o.kill, "kill", true, "SIGKILL the replica running the most apply jobs when a quarter of the users are done")
	fs.DurationVar(&o.delay, "delay", time.Second, "how long the fake takes for a number operation (Microsoft: about 3 s)")
	fs.DurationVar(&o.timeout, "timeout", 5*time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.dsn == "" {
		return o, errors.New("no PostgreSQL: set -postgres or TENANTGATE_TEST_POSTGRES")
	}
	if o.customers < 1 || o.users < 1 || o.replicas < 2 || o.delay <= 0 {
		return o, errors.New("need at least 1 customer, 1 user, 2 replicas and a positive delay")
	}
	if 5*o.users > maxVoiceLog {
		return o, fmt.Errorf("at most %d users a customer: the fake keeps %d changes a tenant for the proof", maxVoiceLog/5, maxVoiceLog)
	}
	return o, nil
}

// customer is one seeded customer and its apply.
type customer struct {
	id      string
	tenant  *m365test.Tenant
	targets map[string]string // user ID -> UPN: the users the plan changes
	plan    string
	op      string
}

// orchestrate runs the test and reports it to out.
func orchestrate(ctx context.Context, args []string, out io.Writer) error {
	o, err := parseFlags(args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	p, err := scaletest.NewParent(ctx, o.dsn, "voicescale", &m365test.Options{ConsentReplicationDelay: -1, NumberOperationDelay: o.delay}, publicURL)
	if err != nil {
		return err
	}
	defer p.Close()
	dsn, fake, m, store := p.DSN, p.Fake, p.Access, p.Store
	quiet := slog.New(slog.DiscardHandler)
	vs, err := voice.OpenPostgres(ctx, dsn)
	if err != nil {
		return err
	}
	defer vs.Close()
	svc, err := voice.New(voice.Config{Access: m, Store: vs, HTTPClient: p.Provider.HTTPClient, Logger: quiet})
	if err != nil {
		return err
	}
	// A fleet that never starts: River's tables, and the inserter the
	// parent's voice Service queues the applies' jobs with.
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if _, err := fleet.New(ctx, fleet.Config{Postgres: pool, Access: m, Store: store, Plugins: []fleet.Plugin{svc}, Logger: quiet}); err != nil {
		return err
	}

	begin := time.Now()
	custs, err := seed(ctx, o, fake, m, svc)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "seeded and planned %d customers x %d users (tenants of %d) in %v\n",
		o.customers, o.users, o.users*usersPerTarget, time.Since(begin).Round(time.Millisecond))

	ids := make([]string, o.replicas)
	procs := make(map[string]*exec.Cmd, o.replicas)
	for i := range ids {
		ids[i] = "replica-" + strconv.Itoa(i)
		if procs[ids[i]], err = p.StartReplica(ids[i], []string{envPoll + "=" + o.delay.String()}); err != nil {
			return err
		}
	}
	defer func() {
		for _, c := range procs {
			if c.ProcessState == nil {
				_ = c.Process.Signal(syscall.SIGTERM)
				_ = c.Wait()
			}
		}
	}()
	// Count the apply's Graph requests only.
	fake.SetThrottle(&m365test.Throttle{})
	start := time.Now()
	opIDs := make([]string, 0, len(custs))
	for _, c := range custs {
		op, err := svc.ApplyPlan(ctx, c.id, c.plan, "voicescale")
		if err != nil {
			return fmt.Errorf("apply the plan of %s: %w", c.id, err)
		}
		c.op = op.ID
		opIDs = append(opIDs, op.ID)
	}
	r, err := watch(ctx, out, o, dsn, opIDs, procs, start)
	if err != nil {
		scaletest.DumpLogs(out, p.Dir, ids)
		return err
	}
	stats := fake.ThrottleStats()
	if err := verify(ctx, out, o, svc, dsn, custs, r, stats); err != nil {
		if os.Getenv("VOICESCALE_DEBUG") != "" {
			scaletest.DumpLogs(out, p.Dir, ids)
		}
		return err
	}
	return nil
}

// seed adds the customers: a tenant each (one multi-tenant app for all,
// consented in each), its inventory, the Milan range, the profile and its
// plan, which must change exactly the o.users targets.
func seed(ctx context.Context, o options, fake *m365test.Server, m *m365access.Manager, svc *voice.Service) ([]*customer, error) {
	const appID = "a0000000-0000-4000-8000-000000000024"
	const secret = "voicescale-app-secret-0123456789"
	var custs []*customer
	for i := range o.customers {
		c := &customer{id: fmt.Sprintf("cust%03d", i), targets: map[string]string{}}
		t, err := fake.AddTenant(m365test.TenantOptions{Domains: []string{c.id + ".onmicrosoft.com"}, DisplayName: "Customer " + c.id,
			Users: o.users * usersPerTarget})
		if err != nil {
			return nil, err
		}
		c.tenant = t
		if i == 0 {
			if _, err := fake.AddApp(m365test.AppOptions{ClientID: appID, DisplayName: "Voice app", HomeTenant: t.ID,
				Secrets:                []m365test.Secret{{Value: secret, Expires: time.Now().AddDate(1, 0, 0)}},
				ApplicationPermissions: append([]string{"User.Read.All", m365access.TeamsPermission}, m365access.VoicePermissions...)}); err != nil {
				return nil, err
			}
		}
		if err := fake.GrantAdminConsent(t.ID, appID); err != nil {
			return nil, err
		}
		mode, tid, acct, app, sec := m365access.ModeAppRegistration, t.ID, t.AdminUPN(), appID, secret
		if _, err := m.SaveSettings(ctx, c.id, m365access.SettingsUpdate{Tenant: &tid, Mode: &mode, ServiceAccount: &acct,
			AppClientID: &app, AppClientSecret: &sec}); err != nil {
			return nil, fmt.Errorf("settings of %s: %w", c.id, err)
		}
		for u := range o.users * usersPerTarget {
			if u%10 == 4 && u%3 != 0 {
				upn := fmt.Sprintf("user%05d@%s", u, t.Domain())
				c.targets[t.UserID(upn)] = upn
			}
		}
		if _, err := svc.Refresh(ctx, c.id); err != nil {
			return nil, fmt.Errorf("inventory of %s: %w", c.id, err)
		}
		if _, err := svc.PutRanges(ctx, c.id, []voice.Range{{Name: "Milan", From: "+39020000000", To: "+39029999999",
			Type: voice.DirectRouting, QuarantineDays: 30}}); err != nil {
			return nil, err
		}
		// Milan gives the targets voice; Check, the same setup over every
		// Italian, is planned at the end.
		check := profile()
		check.Name, check.Filter = "Check", "UsageLocation -eq 'IT'"
		for _, pr := range []voice.Profile{profile(), check} {
			if _, err := svc.PutProfile(ctx, c.id, pr, "voicescale"); err != nil {
				return nil, err
			}
		}
		p, err := svc.PlanProfile(ctx, c.id, voice.PlanRequest{Profile: "Milan"}, "voicescale")
		if err != nil {
			return nil, fmt.Errorf("plan of %s: %w", c.id, err)
		}
		if p.Changes != o.users || p.Errors != 0 || len(c.targets) != o.users {
			return nil, fmt.Errorf("plan of %s: %d changes, %d errors, %d targets; want %d changes, no error", c.id, p.Changes, p.Errors, len(c.targets), o.users)
		}
		c.plan = p.ID
		custs = append(custs, c)
	}
	return custs, nil
}

func profile() voice.Profile {
	return voice.Profile{Name: "Milan", Range: "Milan", Licenses: "auto", Filter: profileFilter,
		Policies: map[string]string{voice.PolicyVoiceRouting: "VRP-IT", voice.PolicyDialPlan: "DP-IT", voice.PolicyCalling: "AllowCalling"}}
}

// run is what watch saw.
type run struct {
	wall       time.Duration
	killed     string
	killedAt   time.Duration // into the apply
	doneAtKill int
	jobsAtKill int           // apply jobs the killed replica was running
	inFlight   int           // users it was working on (items running)
	givenBack  time.Duration // from the kill until its jobs were given back
	pgCPU      time.Duration
	totalUsers int
}

// watch follows the applies to their end, killing a replica on the way.
func watch(ctx context.Context, out io.Writer, o options, dsn string, ops []string, procs map[string]*exec.Cmd, start time.Time) (run, error) {
	r := run{totalUsers: o.customers * o.users}
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return r, err
	}
	defer conn.Close(context.Background())
	pg0 := scaletest.PostgresCPU()
	var killedAt time.Time
	for {
		if err := ctx.Err(); err != nil {
			return r, fmt.Errorf("the applies did not finish: %w", err)
		}
		done, err := itemsDone(ctx, conn, ops)
		if err != nil {
			return r, err
		}
		if r.killed != "" && r.givenBack == 0 && scaletest.RunningJobs(ctx, dsn, r.killed, voice.KindApplyJob) == 0 {
			r.givenBack = time.Since(killedAt)
			fmt.Fprintf(out, "%s's %d apply jobs were given back %v after the kill\n", r.killed, r.jobsAtKill, r.givenBack.Round(time.Millisecond))
		}
		if o.kill && r.killed == "" && done >= r.totalUsers/4 {
			victim, jobs := "", 0
			for id := range procs {
				if n := scaletest.RunningJobs(ctx, dsn, id, voice.KindApplyJob); n > jobs {
					victim, jobs = id, n
				}
			}
			if victim != "" {
				// The users it is working on: items of its lanes still running.
				r.inFlight = runningItemsOf(ctx, conn, victim)
				if err := procs[victim].Process.Signal(syscall.SIGKILL); err != nil {
					return r, err
				}
				_ = procs[victim].Wait()
				killedAt = time.Now()
				r.killed, r.killedAt, r.doneAtKill, r.jobsAtKill = victim, killedAt.Sub(start), done, jobs
				fmt.Fprintf(out, "SIGKILLed %s at %d/%d users done, %v into the apply, with %d apply jobs running and %d of their users mid-step\n",
					victim, done, r.totalUsers, r.killedAt.Round(time.Millisecond), jobs, r.inFlight)
			}
		}
		if o.kill && r.killed == "" && done == r.totalUsers {
			return r, errors.New("the applies ended before a replica running apply jobs could be killed: use more users or a longer -delay")
		}
		finished, err := opsFinished(ctx, conn, ops)
		if err != nil {
			return r, err
		}
		if finished {
			r.wall = time.Since(start)
			if pg := scaletest.PostgresCPU(); pg >= 0 && pg0 >= 0 {
				r.pgCPU = pg - pg0
			}
			return r, nil
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// itemsDone counts the applies' users finished.
func itemsDone(ctx context.Context, conn *pgx.Conn, ops []string) (done int, err error) {
	err = conn.QueryRow(ctx, `SELECT count(*) FROM tenantgate_voice_apply_items
		WHERE operation = ANY($1) AND state NOT IN ('queued', 'running')`, ops).Scan(&done)
	return done, err
}

// runningItemsOf counts the running items of the lanes replica id is
// working.
func runningItemsOf(ctx context.Context, conn *pgx.Conn, id string) int {
	n := -1
	_ = conn.QueryRow(ctx, `SELECT count(*) FROM tenantgate_voice_apply_items i JOIN river_job j
		ON j.kind = $2 AND j.state = 'running' AND j.attempted_by[array_length(j.attempted_by, 1)] = $1
		AND j.args->>'operation' = i.operation AND (j.args->>'lane')::int = i.lane
		WHERE i.state = 'running'`, id, voice.KindApplyJob).Scan(&n)
	return n
}

// opsFinished reports whether every apply operation has ended.
func opsFinished(ctx context.Context, conn *pgx.Conn, ops []string) (bool, error) {
	var open int
	err := conn.QueryRow(ctx, `SELECT count(*) FROM tenantgate_voice_operations WHERE id = ANY($1) AND state IN ('queued', 'running')`, ops).Scan(&open)
	return open == 0, err
}

// verify checks every user's end state and the fake's log of changes, and
// prints the figures.
func verify(ctx context.Context, out io.Writer, o options, svc *voice.Service, dsn string, custs []*customer, r run, stats m365test.ThrottleStats) error {
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	repeatedPolicies := 0
	for _, c := range custs {
		// The operation: every user succeeded.
		op, err := svc.Operation(ctx, c.id, c.op)
		if err != nil {
			return err
		}
		if op.State != voice.StateSucceeded || op.Total != o.users || op.Succeeded != o.users {
			bad("%s: apply %s %s, %d of %d users succeeded, %d failed", c.id, op.ID, op.State, op.Succeeded, op.Total, op.Failed)
			for _, it := range op.Items {
				if it.State != voice.StateSucceeded && len(problems) < 40 {
					bad("%s: %s %s: %+v", c.id, it.User, it.State, it.Steps)
				}
			}
		}
		// The fake's log: one license and one number per target user,
		// no number twice, nobody else touched, nothing taken back.
		licenses, numbers := map[string]int{}, map[string]int{}
		byNumber := map[string][]string{}
		policies := map[string]int{}
		for _, e := range c.tenant.VoiceLog() {
			if e.UserID != "" && c.targets[e.UserID] == "" {
				bad("%s: %s on %s, a user outside the plan", c.id, e.Kind, e.UserID)
				continue
			}
			switch e.Kind {
			case "assignLicense":
				if slices.Contains(e.AddedSkus, m365test.SkuTeamsPhone) {
					licenses[e.UserID]++
				}
				if len(e.RemovedSkus) > 0 {
					bad("%s: licenses %v removed from %s", c.id, e.RemovedSkus, c.targets[e.UserID])
				}
			case "assignNumber":
				switch e.Status {
				case "succeeded":
					numbers[e.UserID]++
					byNumber[e.TelephoneNumber] = append(byNumber[e.TelephoneNumber], e.UserID)
				default:
					bad("%s: assignNumber %s to %s %s: %s", c.id, e.TelephoneNumber, c.targets[e.UserID], e.Status, e.Detail)
				}
			case "assignPolicy":
				policies[e.UserID+"/"+e.PolicyType]++
			default:
				bad("%s: %s %s %s, which the plan never asks", c.id, e.Kind, e.TelephoneNumber, c.targets[e.UserID])
			}
		}
		for id, upn := range c.targets {
			if licenses[id] != 1 {
				bad("%s: %s got the Teams Phone license %d times, want once", c.id, upn, licenses[id])
			}
			if numbers[id] != 1 {
				bad("%s: %s was assigned a number %d times, want once", c.id, upn, numbers[id])
			}
			for _, t := range []string{voice.PolicyVoiceRouting, voice.PolicyDialPlan, voice.PolicyCalling} {
				switch n := policies[id+"/"+t]; {
				case n == 0:
					bad("%s: %s never got its %s", c.id, upn, t)
				case n > 1:
					repeatedPolicies += n - 1 // idempotent at Microsoft: counted, not a failure
				}
			}
		}
		for n, users := range byNumber {
			if len(users) > 1 {
				bad("%s: number %s assigned %d times (%v)", c.id, n, len(users), users)
			}
		}
		// Microsoft now: the profile over every Italian (the targets,
		// now voice users, and those who had voice before, with the
		// same setup) finds nothing to change.
		p, err := svc.PlanProfile(ctx, c.id, voice.PlanRequest{Profile: "Check"}, "voicescale")
		if err != nil {
			return fmt.Errorf("plan %s again: %w", c.id, err)
		}
		if want := o.users * 3 / 2; p.Changes != 0 || p.Errors != 0 || p.Unchanged != want {
			bad("%s: planned again over every Italian: %d changes, %d errors, %d unchanged; want 0, 0, %d", c.id, p.Changes, p.Errors, p.Unchanged, want)
		}
		// Every free number of the range went to exactly one user.
		if _, err := svc.Refresh(ctx, c.id); err != nil {
			return err
		}
		free, err := svc.Numbers(ctx, c.id, voice.NumberQuery{Range: "Milan", Status: "unassigned", Limit: 10})
		if err != nil {
			return err
		}
		if free.Total != 0 {
			bad("%s: %d numbers of the range still free, want none", c.id, free.Total)
		}
	}
	// Nothing lost: no apply job discarded or cancelled.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var jobs, lost, retried int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE state IN ('discarded', 'cancelled')), count(*) FILTER (WHERE attempt > 1)
		FROM river_job WHERE kind = $1`, voice.KindApplyJob).Scan(&jobs, &lost, &retried); err != nil {
		return err
	}
	if lost > 0 {
		bad("%d of %d apply jobs discarded or cancelled", lost, jobs)
	}
	if o.kill && retried == 0 {
		bad("no apply job ran a second attempt after %s was killed: the kill proved nothing", r.killed)
	}

	users := o.customers * o.users
	fmt.Fprintf(out, "apply: %d customers x %d users, %d replicas (killed %s %v in, at %d/%d users, with %d apply jobs and %d users mid-step; %d of %d apply jobs ran again)\n",
		o.customers, o.users, o.replicas, orNone(r.killed), r.killedAt.Round(time.Millisecond), r.doneAtKill, users, r.jobsAtKill, r.inFlight, retried, jobs)
	fmt.Fprintf(out, "apply time %v with number operations of %v; Graph requests %d (%.2f a user), 429s %d; policy pairs sent again after the kill %d; PostgreSQL CPU %v\n",
		r.wall.Round(time.Millisecond), o.delay, stats.Requests, float64(stats.Requests)/float64(users), stats.Throttled, repeatedPolicies, r.pgCPU.Round(10*time.Millisecond))
	if len(problems) > 0 {
		sort.Strings(problems)
		if len(problems) > 30 {
			problems = append(problems[:30], fmt.Sprintf("... %d more", len(problems)-30))
		}
		return fmt.Errorf("the apply failed:\n  %s", strings.Join(problems, "\n  "))
	}
	fmt.Fprintf(out, "ok: %d users each given the Teams Phone license once and one number once, with their policies; no number twice, no one else touched, nothing lost\n", users)
	return nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
