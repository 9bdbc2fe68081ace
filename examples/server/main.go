// Command server is tenantgate's reference provider portal.
//
// With no flags it runs the demo, so a newcomer can walk every flow in a
// browser:
//
//	go run ./examples/server
//
// The demo keeps its SQLite database and a generated sealing key under
// -data (default ./tenantgate-data), runs the m365test fake Microsoft cloud
// in-process with the tenant contoso.onmicrosoft.com (Contoso Ltd, 50,000
// users and the Global Admin admin@contoso.onmicrosoft.com), preconfigures
// the customer "contoso" in token mode and keeps sent emails in an outbox
// (the Outbox page, GET /dev/outbox). It prints the portal URL and the
// admin API token.
//
// Given the provider app's credentials, the public URL, SMTP settings, a
// PostgreSQL DSN and sealing keys (flags or TENANTGATE_* environment
// variables, see -help), the same binary runs against real Microsoft 365;
// it refuses to start when one of them is missing and names it.
//
// Routes: the admin API (package httpapi) under /api, for example
// GET /api/customers/contoso/m365/status with "Authorization: Bearer
// <token>"; the invitation wizard at /invite/{token}, /auth/callback and
// /consent/callback; the admin screen at /, its login at /login (at most
// 10 wrong tokens per client address in 15 minutes, wrong bearer tokens on
// /api included, then 429 with Retry-After; behind a reverse proxy name it
// with -trusted-proxies so that the client address is the proxy's
// X-Forwarded-For or Forwarded entry).
//
// "server migrate" applies every package's schema migrations (River's
// included) to the portal's database and exits, for operators who apply
// schema changes before a rollout and start the portal with
// -no-migrate=true:
//
//	go run ./examples/server migrate -postgres-dsn postgres://...
//	go run ./examples/server migrate -data ./tenantgate-data   # the demo's SQLite files
//
// At shutdown, running user syncs are cancelled and record
// themselves failed before the store closes.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
	case err != nil:
		fmt.Fprintln(os.Stderr, "server:", err)
		os.Exit(2)
	}
}

// run starts the portal from args (and the environment) and serves until
// ctx ends, then shuts down cleanly.
func run(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "migrate" {
		return runMigrate(ctx, args[1:], os.Getenv, stdout)
	}
	cfg, err := parseConfig(args, os.Getenv, stdout)
	if err != nil {
		return err
	}
	if cfg.TraceStdout {
		tp, err := stdoutTracing(stdout)
		if err != nil {
			return err
		}
		defer func() { _ = tp.Shutdown(context.WithoutCancel(ctx)) }()
	}
	a, err := start(ctx, cfg, hooks{})
	if err != nil {
		return err
	}
	a.printBanner(stdout)
	select {
	case <-ctx.Done():
		a.log.Info("shutting down")
	case err := <-a.served:
		a.closeAll()
		return fmt.Errorf("serving: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	return a.shutdown(sctx)
}

// printBanner tells the person who started the server where to go.
func (a *app) printBanner(w io.Writer) {
	fmt.Fprintf(w, "tenantgate portal (%s mode)\n\n", a.cfg.Mode)
	fmt.Fprintf(w, "  Portal:           %s/\n", a.publicURL)
	if a.cfg.AdminToken == "" {
		fmt.Fprintf(w, "  Admin API token:  %s\n", a.adminToken)
		fmt.Fprintf(w, "                    (random for this run; set TENANTGATE_ADMIN_TOKEN or -admin-token-file to keep one)\n")
	} else {
		fmt.Fprintf(w, "  Admin API token:  as configured (TENANTGATE_ADMIN_TOKEN, -admin-token-file or, demo only, -admin-token)\n")
	}
	fmt.Fprintf(w, "  Admin API:        %s/api/customers/%s/m365  (Authorization: Bearer <token>)\n", a.publicURL, a.cfg.Customer)
	if a.fake != nil {
		fmt.Fprintf(w, "  Outbox:           %s/outbox  (JSON: %s/dev/outbox)\n", a.publicURL, a.publicURL)
		fmt.Fprintf(w, "\nDemo: Microsoft 365 is simulated in this process (m365test).\n")
		fmt.Fprintf(w, "  Tenant:           %s (%s), %d users + Global Admin\n", a.tenant.Domain(), a.tenant.DisplayName, a.tenant.Users())
		fmt.Fprintf(w, "  Fake sign-in:     %s / %s\n", a.tenant.AdminUPN(), m365test.DefaultPassword)
		fmt.Fprintf(w, "  Customer:         %s (token mode)\n", a.cfg.Customer)
		fmt.Fprintf(w, "  Data:             %s\n", a.cfg.DataDir)
		fmt.Fprintf(w, "                    (the fake cloud forgets refresh tokens on restart: a connection made before\n")
		fmt.Fprintf(w, "                    a restart works until its access token expires, then needs a new invitation)\n")
		fmt.Fprintf(w, "\nOpen the portal, log in with the token, click Send Invitation, open the link on the Outbox page.\n")
	}
	fmt.Fprintf(w, "Press Ctrl-C to stop.\n")
}
