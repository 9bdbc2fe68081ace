package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/httpapi/clientip"
	"github.com/tenantgate/tenantgate/invite/smtpmail"
	"github.com/tenantgate/tenantgate/m365access"
)

// The two ways the server runs.
const (
	modeDemo       = "demo"
	modeProduction = "production"
)

// minAdminTokenLen is the shortest admin API token the server accepts.
const minAdminTokenLen = 24

// config is the server's configuration from flags and environment.
type config struct {
	Mode         string
	Addr         string
	DataDir      string
	PublicURL    string
	AdminToken   string
	AdminName    string
	ProviderName string
	SupportEmail string
	Customer     string
	InviteTTL    time.Duration
	ConsentWait  time.Duration
	DemoUsers    int
	// DemoFleetUsers sizes the other demo customers' tenants.
	DemoFleetUsers int
	LogLevel       string
	// TrustedProxies are the reverse proxies whose forwarding header names
	// the client (for the rate limits); ClientIPHeader is that header.
	TrustedProxies []string
	ClientIPHeader string
	// CheckInterval and SyncInterval space each customer's health checks
	// and user syncs.
	CheckInterval time.Duration
	SyncInterval  time.Duration

	ClientID     string
	ClientSecret string
	// SignInTenant, SignInClientID and SignInClientSecret are the
	// technicians' sign-in with Microsoft Entra ID: the provider's own
	// tenant and the app whose app roles (viewer, operator, admin) give
	// the portal roles. Empty tenant: no sign-in, the admin token only.
	SignInTenant, SignInClientID, SignInClientSecret string
	// ClientSecretExpiresAt is when ClientSecret expires (zero: unknown).
	ClientSecretExpiresAt time.Time
	CertificateFile       string
	// ClientAssertion is the provider app's federated credential instead
	// of a secret: "managed-identity" or "token-file" (assertion* below).
	ClientAssertion         string
	ManagedIdentityClientID string
	ManagedIdentityEndpoint string
	FederatedTokenFile      string
	Cloud                   string

	SMTPHost     string
	SMTPPort     int
	SMTPSecurity smtpmail.Security
	SMTPUser     string
	SMTPPassword string
	SMTPFrom     string

	// WebhookURL receives the lifecycle events, signed with
	// WebhookSecrets (the first is the newest).
	WebhookURL     string
	WebhookSecrets []string

	// TraceStdout prints the OpenTelemetry spans to stdout.
	TraceStdout bool
	// NoMigrate opens every store without migrating its tables: they
	// must have been applied with the migrate subcommand.
	NoMigrate bool

	PostgresDSN    string
	SealingKeys    string // TENANTGATE_SEALING_KEYS, never a flag
	SealingKeyFile string
}

// setting is one configuration value: a flag and the environment variable
// that supplies it when the flag is not given.
type setting struct {
	flag, env, usage string
	def              string
	secret           bool // never printed
	prod             bool // only meaningful in production mode
	value            string
}

// envSealingKeys holds the sealing keys; it has no flag so that keys never
// appear in a process listing.
const envSealingKeys = "TENANTGATE_SEALING_KEYS"

func settings() []*setting {
	return []*setting{
		{flag: "mode", env: "TENANTGATE_MODE", usage: `"demo" (built-in fake Microsoft 365, SQLite, outbox) or "production"; default: production when any provider, SMTP or PostgreSQL setting is given, else demo`},
		{flag: "addr", env: "TENANTGATE_ADDR", def: "127.0.0.1:8080", usage: "listen address of the portal"},
		{flag: "data", env: "TENANTGATE_DATA", def: "./tenantgate-data", usage: "demo: directory of the SQLite database and the generated sealing key"},
		{flag: "public-url", env: "TENANTGATE_PUBLIC_URL", usage: "absolute URL under which browsers reach the portal (https in production; demo default: http://<addr>)"},
		{flag: "admin-token", env: "TENANTGATE_ADMIN_TOKEN", secret: true, usage: "admin API token (Authorization: Bearer <token>), at least 24 characters; demo default: random, printed at start; production takes it only from the environment variable or -admin-token-file, never as a flag"},
		{flag: "admin-token-file", env: "TENANTGATE_ADMIN_TOKEN_FILE", usage: "file holding the admin API token (surrounding white space ignored), instead of TENANTGATE_ADMIN_TOKEN"},
		{flag: "admin-name", env: "TENANTGATE_ADMIN_NAME", def: "Provider admin", usage: "who invitations say they come from"},
		{flag: "provider-name", env: "TENANTGATE_PROVIDER_NAME", usage: `the provider's name on emails and wizard pages (demo default: "Tenantgate Demo Provider")`},
		{flag: "support-email", env: "TENANTGATE_SUPPORT_EMAIL", usage: "support address shown on emails and failure pages"},
		{flag: "customer", env: "TENANTGATE_CUSTOMER", def: "contoso", usage: "the customer the portal opens (demo: preconfigured for the fake tenant)"},
		{flag: "invite-ttl", env: "TENANTGATE_INVITE_TTL", def: "168h", usage: "how long an invitation link works"},
		{flag: "consent-wait", env: "TENANTGATE_CONSENT_WAIT", def: "20s", usage: "how long the consent callback waits for Entra ID to replicate a new admin consent before reporting it as granted, still propagating"},
		{flag: "check-interval", env: "TENANTGATE_CHECK_INTERVAL", def: "6h", usage: "how often each customer's connection is checked (a River job)"},
		{flag: "sync-interval", env: "TENANTGATE_SYNC_INTERVAL", def: "24h", usage: "how often each customer's users are synced (a River job, jittered per customer)"},
		{flag: "demo-users", env: "TENANTGATE_DEMO_USERS", def: "50000", usage: "demo: generated users in the fake tenant"},
		{flag: "demo-fleet-users", env: "TENANTGATE_DEMO_FLEET_USERS", def: "200", usage: "demo: generated users in each of the other demo customers' tenants (fabrikam, northwind, tailspin)"},
		{flag: "log-level", env: "TENANTGATE_LOG_LEVEL", def: "info", usage: "debug, info, warn or error"},
		{flag: "trusted-proxies", env: "TENANTGATE_TRUSTED_PROXIES", usage: "comma-separated addresses or CIDR networks of the reverse proxies in front of the portal; their forwarding header (-client-ip-header) names the client for the rate limits. Empty: the TCP peer is the client, so behind a proxy every client shares one limit"},
		{flag: "client-ip-header", env: "TENANTGATE_CLIENT_IP_HEADER", def: "X-Forwarded-For", usage: "the header the trusted proxies append the client address to: X-Forwarded-For or Forwarded (RFC 7239)"},

		{flag: "no-migrate", env: "TENANTGATE_NO_MIGRATE", def: "false", usage: "true: do not apply schema migrations at start (apply them before a rollout with the migrate subcommand: server migrate -postgres-dsn ...); start fails when a schema is not current"},
		{flag: "trace-stdout", env: "TENANTGATE_TRACE_STDOUT", def: "false", usage: "true: print the OpenTelemetry spans (token acquisitions, validations, syncs and their Graph requests) to stdout as JSON, e.g. -trace-stdout=true"},
		{flag: "webhook-url", env: "TENANTGATE_WEBHOOK_URL", usage: "URL that receives the lifecycle events (connection.connected, connection.failed, secret.expiring, ...) as Standard Webhooks POSTs: https, or http to a loopback address in demo mode"},
		{flag: "webhook-secret", env: "TENANTGATE_WEBHOOK_SECRET", secret: true, usage: "the webhooks' signing secret (whsec_ and base64 of 24 to 64 bytes); during a rotation the new and the old, comma separated: each delivery is signed with both"},
		{flag: "signin-tenant", env: "TENANTGATE_SIGNIN_TENANT", usage: "the provider's own Entra ID tenant (GUID or verified domain) where technicians sign in to the portal (OpenID Connect); empty: only the admin token signs in. Demo: a fake provider tenant with demo technicians"},
		{flag: "signin-client-id", env: "TENANTGATE_SIGNIN_CLIENT_ID", usage: "the app technicians sign in to (redirect URI <public-url>/login/callback; app roles with the values viewer, operator and admin assigned to them); default: -client-id"},
		{flag: "signin-client-secret", env: "TENANTGATE_SIGNIN_CLIENT_SECRET", secret: true, usage: "the sign-in app's client secret; default: -client-secret when the sign-in app is the provider app"},
		{flag: "client-id", env: "TENANTGATE_CLIENT_ID", prod: true, usage: "production: the provider app's application (client) ID"},
		{flag: "client-secret", env: "TENANTGATE_CLIENT_SECRET", secret: true, prod: true, usage: "production: the provider app's client secret"},
		{flag: "client-secret-expires-at", env: "TENANTGATE_CLIENT_SECRET_EXPIRES_AT", usage: "production: when the provider app's client secret expires (RFC 3339, as Entra shows it): secret.expiring events 30, 7 and 1 days before (customer _tenantgate.provider); a certificate's expiry is read from it"},
		{flag: "client-certificate-file", env: "TENANTGATE_CLIENT_CERTIFICATE_FILE", prod: true, usage: "production: PEM file with the provider app's certificate and unencrypted private key (instead of a secret)"},
		{flag: "client-assertion", env: "TENANTGATE_CLIENT_ASSERTION", usage: `the provider app's federated identity credential, instead of a secret or certificate: "managed-identity" (an Azure managed identity's token from IMDS) or "token-file" (a Kubernetes workload identity or CI token file, -federated-token-file); demo: "managed-identity" runs the demo's provider app on a federated credential served by an in-process IMDS`},
		{flag: "managed-identity-client-id", env: "TENANTGATE_MANAGED_IDENTITY_CLIENT_ID", usage: "with -client-assertion managed-identity: the client ID of a user-assigned managed identity (empty: the system-assigned one)"},
		{flag: "managed-identity-endpoint", env: "TENANTGATE_MANAGED_IDENTITY_ENDPOINT", usage: "with -client-assertion managed-identity: the token endpoint (default: IMDS, " + m365access.DefaultManagedIdentityEndpoint + ")"},
		{flag: "federated-token-file", env: "AZURE_FEDERATED_TOKEN_FILE", usage: "with -client-assertion token-file: the file holding the workload identity token (Azure Workload Identity sets AZURE_FEDERATED_TOKEN_FILE)"},
		{flag: "cloud", env: "TENANTGATE_CLOUD", def: "global", usage: "production: Microsoft cloud: global, usGovL4, usGovL5 or china"},
		{flag: "smtp-host", env: "TENANTGATE_SMTP_HOST", prod: true, usage: "production: SMTP server for invitation emails"},
		{flag: "smtp-port", env: "TENANTGATE_SMTP_PORT", usage: "production: SMTP port (default by security: 587, 465, 1025)"},
		{flag: "smtp-security", env: "TENANTGATE_SMTP_SECURITY", def: "starttls", usage: "production: starttls, tls (implicit) or insecure (loopback only)"},
		{flag: "smtp-user", env: "TENANTGATE_SMTP_USER", prod: true, usage: "production: SMTP user name (with -smtp-password)"},
		{flag: "smtp-password", env: "TENANTGATE_SMTP_PASSWORD", secret: true, prod: true, usage: "production: SMTP password"},
		{flag: "smtp-from", env: "TENANTGATE_SMTP_FROM", prod: true, usage: "production: sender address of invitation emails"},
		{flag: "postgres-dsn", env: "TENANTGATE_POSTGRES_DSN", secret: true, prod: true, usage: "production: PostgreSQL connection string (postgres://user@host/db)"},
		{flag: "sealing-key-file", env: "TENANTGATE_SEALING_KEY_FILE", usage: "file of sealing keys (\"id:base64key\" lines, the last seals); or set " + envSealingKeys},
	}
}

// usageError is a configuration error: the message says what to change.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// parseConfig reads flags from args and, for flags not given, environment
// variables through getenv. It returns every problem at once.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	all := settings()
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	byFlag := map[string]*setting{}
	for _, s := range all {
		byFlag[s.flag] = s
		usage := s.usage + " (env " + s.env + ")"
		if s.def != "" {
			usage += " (default " + s.def + ")"
		}
		if s.secret {
			usage += "; secret: prefer the environment variable, flags show in process listings"
		}
		fs.Var(stringValue{&s.value}, s.flag, usage)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: server [flags]\n\nWith no flags the server runs the demo: a fake Microsoft 365 tenant, SQLite under -data\nand an outbox instead of email. Flags and their environment variables:\n\n")
		fs.PrintDefaults()
		fmt.Fprintf(fs.Output(), "\nSealing keys can also come from %s (\"id:base64key\", comma separated).\n", envSealingKeys)
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, &usageError{fmt.Sprintf("unexpected argument %q (flags start with -)", fs.Arg(0))}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for _, s := range all {
		if !given[s.flag] {
			s.value = strings.TrimSpace(getenv(s.env))
		}
	}
	get := func(name string) string {
		if v := byFlag[name].value; v != "" {
			return v
		}
		return byFlag[name].def
	}

	c := &configParser{all: all, byFlag: byFlag, given: given, get: get}
	c.cfg = config{
		Addr: get("addr"), DataDir: get("data"), PublicURL: get("public-url"), AdminToken: get("admin-token"),
		AdminName: get("admin-name"), ProviderName: get("provider-name"), SupportEmail: get("support-email"),
		Customer: get("customer"), LogLevel: get("log-level"),
		ClientID: get("client-id"), ClientSecret: get("client-secret"), CertificateFile: get("client-certificate-file"),
		ClientAssertion: get("client-assertion"), ManagedIdentityClientID: get("managed-identity-client-id"),
		ManagedIdentityEndpoint: get("managed-identity-endpoint"), FederatedTokenFile: get("federated-token-file"),
		Cloud: get("cloud"), SMTPHost: get("smtp-host"), SMTPUser: get("smtp-user"), SMTPPassword: get("smtp-password"),
		SMTPFrom: get("smtp-from"), PostgresDSN: get("postgres-dsn"),
		SignInTenant: get("signin-tenant"), SignInClientID: get("signin-client-id"), SignInClientSecret: get("signin-client-secret"),
		SealingKeys: strings.TrimSpace(getenv(envSealingKeys)), SealingKeyFile: get("sealing-key-file"),
	}
	// Each group of settings, in order; a new group is one more line.
	for _, group := range []func(){
		c.parseMode, c.parseListen, c.parseDurations, c.parseDemo, c.parseIdentity, c.parseAccess,
		c.parseSMTP, c.parseCloud, c.parseSwitches, c.parseWebhook, c.parseKeys, c.checkProduction,
		c.parseSecretExpiry, c.parseClientAssertion, c.applyDefaults,
	} {
		group()
	}
	cfg, problems := c.cfg, c.problems
	if len(problems) > 0 {
		return config{}, &usageError{"invalid configuration:\n  " + strings.Join(problems, "\n  ")}
	}
	return cfg, nil
}

// configParser holds what the groups of parseConfig share: the settings
// with their values, the configuration being built and the problems found.
type configParser struct {
	all      []*setting
	byFlag   map[string]*setting
	given    map[string]bool
	get      func(name string) string
	cfg      config
	problems []string
}

// bad records a problem with the setting name.
func (c *configParser) bad(name, format string, a ...any) {
	c.problems = append(c.problems, fmt.Sprintf("-%s (%s): ", name, c.byFlag[name].env)+fmt.Sprintf(format, a...))
}

// problem records a problem of several settings.
func (c *configParser) problem(p string) { c.problems = append(c.problems, p) }

// parseMode parses the mode: explicit, or production as soon as a production setting is given.
func (c *configParser) parseMode() {
	var prodGiven []string
	for _, s := range c.all {
		if s.prod && s.value != "" {
			prodGiven = append(prodGiven, "-"+s.flag)
		}
	}
	switch m := c.get("mode"); m {
	case "":
		c.cfg.Mode = modeDemo
		if len(prodGiven) > 0 {
			c.cfg.Mode = modeProduction
		}
	case modeDemo, modeProduction:
		c.cfg.Mode = m
	default:
		c.bad("mode", "%q is not a mode; use demo or production", m)
	}
	if c.cfg.Mode == modeDemo && len(prodGiven) > 0 {
		c.problem(fmt.Sprintf("demo mode runs against the built-in fake Microsoft 365 and the outbox; remove %s or use -mode production",
			strings.Join(prodGiven, ", ")))
	}
}

// parseListen parses the listen address.
func (c *configParser) parseListen() {
	if _, _, err := net.SplitHostPort(c.cfg.Addr); err != nil {
		c.bad("addr", "%q is not host:port", c.cfg.Addr)
	}
}

// parseDurations parses the invitation, consent and fleet durations.
func (c *configParser) parseDurations() {
	if d, err := time.ParseDuration(c.get("invite-ttl")); err != nil || d <= 0 {
		c.bad("invite-ttl", "%q is not a positive duration such as 72h", c.get("invite-ttl"))
	} else {
		c.cfg.InviteTTL = d
	}
	if d, err := time.ParseDuration(c.get("consent-wait")); err != nil || d < 0 || d > 5*time.Minute {
		c.bad("consent-wait", "%q is not a duration from 0s to 5m such as 20s", c.get("consent-wait"))
	} else {
		c.cfg.ConsentWait = d
	}
	for _, iv := range []struct {
		flag string
		to   *time.Duration
	}{{"check-interval", &c.cfg.CheckInterval}, {"sync-interval", &c.cfg.SyncInterval}} {
		if d, err := time.ParseDuration(c.get(iv.flag)); err != nil || d < time.Minute {
			c.bad(iv.flag, "%q is not a duration of at least 1m, such as 6h", c.get(iv.flag))
		} else {
			*iv.to = d
		}
	}
}

// parseDemo parses the demo's sizes.
func (c *configParser) parseDemo() {
	if n, err := strconv.Atoi(c.get("demo-users")); err != nil || n < 0 || n > 1_000_000 {
		c.bad("demo-users", "%q is not a number from 0 to 1000000", c.get("demo-users"))
	} else {
		c.cfg.DemoUsers = n
	}
	if n, err := strconv.Atoi(c.get("demo-fleet-users")); err != nil || n < 0 || n > 1_000_000 {
		c.bad("demo-fleet-users", "%q is not a number from 0 to 1000000", c.get("demo-fleet-users"))
	} else {
		c.cfg.DemoFleetUsers = n
	}
}

// parseIdentity parses the log level and the customer.
func (c *configParser) parseIdentity() {
	switch strings.ToLower(c.cfg.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		c.bad("log-level", "%q is not debug, info, warn or error", c.cfg.LogLevel)
	}
	if c.cfg.Customer == "" || len(c.cfg.Customer) > 200 || strings.ContainsAny(c.cfg.Customer, "/?#%\\ \t\r\n") {
		c.bad("customer", "%q is not a usable customer ID (1 to 200 characters, no spaces, '/', '?', '#', '%%' or '\\')", c.cfg.Customer)
	}
	c.parseSignIn()
}

// parseSignIn checks the technicians' sign-in: one tenant (the
// provider's), never a multi-tenant authority, whose users would all get
// in.
func (c *configParser) parseSignIn() {
	t := strings.ToLower(c.cfg.SignInTenant)
	switch {
	case t == "":
		if c.cfg.SignInClientID != "" || c.cfg.SignInClientSecret != "" {
			c.bad("signin-tenant", "-signin-client-id and -signin-client-secret need -signin-tenant (the provider's tenant)")
		}
		return
	case t == "common" || t == "organizations" || t == "consumers":
		c.bad("signin-tenant", "%q would let every Microsoft account sign in: give the provider's own tenant ID or domain", c.cfg.SignInTenant)
		return
	case len(t) > 253 || strings.ContainsAny(t, "/?#%\\ \t\r\n@") || !strings.Contains(t, ".") && len(t) != 36:
		c.bad("signin-tenant", "%q is not a tenant ID (GUID) or domain", c.cfg.SignInTenant)
		return
	}
	if c.cfg.SignInClientID == "" {
		c.cfg.SignInClientID = c.cfg.ClientID
		if c.cfg.SignInClientSecret == "" {
			c.cfg.SignInClientSecret = c.cfg.ClientSecret
		}
	}
}

// parseSecretExpiry parses when the provider app's client secret expires
// (Entra shows it; the secret itself does not say).
func (c *configParser) parseSecretExpiry() {
	v := c.get("client-secret-expires-at")
	if v == "" {
		return
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		c.bad("client-secret-expires-at", "not an RFC 3339 time, such as 2027-03-01T00:00:00Z")
		return
	}
	c.cfg.ClientSecretExpiresAt = t
}

// parseAccess parses the admin token, the trusted proxies and the public URL.
func (c *configParser) parseAccess() {
	if f := c.get("admin-token-file"); f != "" {
		switch data, err := os.ReadFile(f); {
		case err != nil:
			c.bad("admin-token-file", "cannot read the token file: %v", err)
		case c.cfg.AdminToken != "":
			c.problem("set the admin token once: -admin-token-file (TENANTGATE_ADMIN_TOKEN_FILE) or TENANTGATE_ADMIN_TOKEN, not both")
		default:
			c.cfg.AdminToken = strings.TrimSpace(string(data))
			if c.cfg.AdminToken == "" {
				c.bad("admin-token-file", "the token file is empty")
			}
		}
	}
	for _, p := range strings.Split(c.get("trusted-proxies"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			c.cfg.TrustedProxies = append(c.cfg.TrustedProxies, p)
		}
	}
	c.cfg.ClientIPHeader = c.get("client-ip-header")
	if _, err := clientip.New(clientip.Options{Header: c.cfg.ClientIPHeader}); err != nil {
		c.bad("client-ip-header", "%q is neither X-Forwarded-For nor Forwarded", c.cfg.ClientIPHeader)
	}
	for _, p := range c.cfg.TrustedProxies {
		if _, err := clientip.ParsePrefix(p); err != nil {
			c.bad("trusted-proxies", "%q is not an IP address or CIDR network such as 10.0.0.0/8", p)
		}
	}
	if c.cfg.AdminToken != "" && len(c.cfg.AdminToken) < minAdminTokenLen {
		c.bad("admin-token", "the token must have at least %d characters (for example from `openssl rand -base64 32`)", minAdminTokenLen)
	}
	if c.cfg.PublicURL != "" {
		if err := checkPublicURL(c.cfg.PublicURL); err != nil {
			c.bad("public-url", "%v", err)
		}
	}
}

// parseSMTP parses the SMTP port and security.
func (c *configParser) parseSMTP() {
	if v := c.get("smtp-port"); v != "" {
		if p, err := strconv.Atoi(v); err != nil || p < 1 || p > 65535 {
			c.bad("smtp-port", "%q is not a port number", v)
		} else {
			c.cfg.SMTPPort = p
		}
	}
	switch strings.ToLower(c.get("smtp-security")) {
	case "starttls":
		c.cfg.SMTPSecurity = smtpmail.StartTLS
	case "tls":
		c.cfg.SMTPSecurity = smtpmail.ImplicitTLS
	case "insecure":
		c.cfg.SMTPSecurity = smtpmail.Insecure
	default:
		c.bad("smtp-security", "%q is not starttls, tls or insecure", c.get("smtp-security"))
	}
}

// parseCloud parses the Microsoft cloud.
func (c *configParser) parseCloud() {
	if _, err := m365access.DefaultClouds.Lookup(m365access.Cloud(c.cfg.Cloud)); err != nil {
		c.bad("cloud", "%q is not a cloud; use global, usGovL4, usGovL5 or china", c.cfg.Cloud)
	}
}

// parseSwitches parses the boolean switches.
func (c *configParser) parseSwitches() {
	if b, err := strconv.ParseBool(c.get("no-migrate")); err == nil {
		c.cfg.NoMigrate = b
	} else {
		c.bad("no-migrate", "%q is not true or false", c.get("no-migrate"))
	}
	if b, err := strconv.ParseBool(c.get("trace-stdout")); err == nil {
		c.cfg.TraceStdout = b
	} else {
		c.bad("trace-stdout", "%q is not true or false", c.get("trace-stdout"))
	}
}

// parseWebhook parses the webhook endpoint.
func (c *configParser) parseWebhook() {
	c.cfg.WebhookURL = c.get("webhook-url")
	for _, sec := range strings.Split(c.get("webhook-secret"), ",") {
		if sec = strings.TrimSpace(sec); sec != "" {
			c.cfg.WebhookSecrets = append(c.cfg.WebhookSecrets, sec)
		}
	}
	switch {
	case c.cfg.WebhookURL == "" && len(c.cfg.WebhookSecrets) > 0:
		c.bad("webhook-secret", "a webhook secret without -webhook-url (TENANTGATE_WEBHOOK_URL)")
	case c.cfg.WebhookURL != "":
		if err := (events.Endpoint{URL: c.cfg.WebhookURL, Secrets: c.cfg.WebhookSecrets}).Validate(c.cfg.Mode == modeDemo); err != nil {
			c.bad("webhook-url", "%v", err)
		}
	}
}

// parseKeys parses the sealing keys.
func (c *configParser) parseKeys() {
	if c.cfg.SealingKeys != "" && c.cfg.SealingKeyFile != "" {
		c.problem(fmt.Sprintf("set %s or -sealing-key-file, not both", envSealingKeys))
	}
}

// checkProduction checks what production mode needs.
func (c *configParser) checkProduction() {
	if c.cfg.Mode == modeProduction {
		var missing []string
		need := func(ok bool, what string) {
			if !ok {
				missing = append(missing, what)
			}
		}
		need(c.cfg.ClientID != "", "-client-id (TENANTGATE_CLIENT_ID): the provider app's application (client) ID")
		need(c.cfg.ClientSecret != "" || c.cfg.CertificateFile != "" || c.cfg.ClientAssertion != "",
			"-client-secret (TENANTGATE_CLIENT_SECRET), -client-certificate-file (TENANTGATE_CLIENT_CERTIFICATE_FILE) or -client-assertion (TENANTGATE_CLIENT_ASSERTION): the provider app's credential")
		need(c.cfg.PublicURL != "", "-public-url (TENANTGATE_PUBLIC_URL): the https URL customers' browsers reach the portal at")
		need(c.cfg.SMTPHost != "", "-smtp-host (TENANTGATE_SMTP_HOST): the SMTP server for invitation emails")
		need(c.cfg.SMTPFrom != "", "-smtp-from (TENANTGATE_SMTP_FROM): the sender address of invitation emails")
		need(c.cfg.PostgresDSN != "", "-postgres-dsn (TENANTGATE_POSTGRES_DSN): the PostgreSQL database")
		need(c.cfg.SealingKeys != "" || c.cfg.SealingKeyFile != "",
			envSealingKeys+" or -sealing-key-file (TENANTGATE_SEALING_KEY_FILE): the keys that seal secrets at rest")
		need(c.cfg.AdminToken != "", "TENANTGATE_ADMIN_TOKEN or -admin-token-file (TENANTGATE_ADMIN_TOKEN_FILE): the admin API token (production never generates one)")
		if c.given["admin-token"] {
			// Process listings show every argument to every local user.
			c.problem("-admin-token: production does not take the admin token as a flag, which any local user sees in the process list; " +
				"set TENANTGATE_ADMIN_TOKEN or put it in a file named by -admin-token-file (TENANTGATE_ADMIN_TOKEN_FILE)")
		}
		for _, st := range settings() {
			if st.secret && st.flag != "admin-token" && c.given[st.flag] {
				c.problem("-" + st.flag + ": production does not take secrets as flags, which any local user sees in the process list; set " + st.env + " instead")
			}
		}
		if len(missing) > 0 {
			c.problem("production mode needs these settings, which are missing:\n    " + strings.Join(missing, "\n    "))
		}
		if c.cfg.ClientSecret != "" && c.cfg.CertificateFile != "" {
			c.problem("set -client-secret or -client-certificate-file, not both")
		}
		if c.cfg.ClientAssertion != "" && (c.cfg.ClientSecret != "" || c.cfg.CertificateFile != "") {
			c.problem("set one provider app credential: -client-assertion, -client-secret or -client-certificate-file")
		}
		if c.cfg.ClientAssertion == "token-file" && c.cfg.FederatedTokenFile == "" {
			c.bad("federated-token-file", "-client-assertion token-file needs the token file")
		}
		if (c.cfg.SMTPUser == "") != (c.cfg.SMTPPassword == "") {
			c.problem("set both -smtp-user and -smtp-password (TENANTGATE_SMTP_USER, TENANTGATE_SMTP_PASSWORD), or neither")
		}
		if c.cfg.PublicURL != "" && checkPublicURL(c.cfg.PublicURL) == nil {
			if u, _ := url.Parse(c.cfg.PublicURL); u.Scheme != "https" && !isLoopbackHost(u.Hostname()) {
				c.bad("public-url", "production needs an https URL (http only on loopback)")
			}
		}
	}
}

// parseClientAssertion parses the provider app's federated credential.
func (c *configParser) parseClientAssertion() {
	switch c.cfg.ClientAssertion {
	case "", "managed-identity":
	case "token-file":
		if c.cfg.Mode == modeDemo {
			c.bad("client-assertion", "the demo runs its provider app on managed-identity only")
		}
	default:
		c.bad("client-assertion", "%q is not a federated credential; use managed-identity or token-file", c.cfg.ClientAssertion)
	}
}

// applyDefaults sets the defaults that depend on the mode.
func (c *configParser) applyDefaults() {
	if c.cfg.Mode == modeDemo && c.cfg.ProviderName == "" {
		c.cfg.ProviderName = "Tenantgate Demo Provider"
	}
}

// checkPublicURL checks the shape of -public-url.
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return errors.New("must be an absolute http(s) URL without user, query or fragment, such as https://portal.example.com")
	}
	if strings.Trim(u.Path, "/") != "" {
		return errors.New("must not have a path: the portal serves from the root of its host")
	}
	return nil
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// stringValue is a flag.Value that stores into a string without a default,
// so secrets from the environment never appear in -help output.
type stringValue struct{ p *string }

func (v stringValue) String() string { return "" }

func (v stringValue) Set(s string) error { *v.p = s; return nil }
