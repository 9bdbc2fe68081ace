package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/invite/smtpmail"
)

// env returns a getenv over a map.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// prodEnv is a complete production configuration.
func prodEnv() map[string]string {
	return map[string]string{
		"TENANTGATE_CLIENT_ID":     "0f0f0f0f-1111-2222-3333-444444444444",
		"TENANTGATE_CLIENT_SECRET": "provider-secret-value-1234567890",
		"TENANTGATE_PUBLIC_URL":    "https://portal.example.com",
		"TENANTGATE_SMTP_HOST":     "smtp.example.com",
		"TENANTGATE_SMTP_FROM":     "portal@example.com",
		"TENANTGATE_POSTGRES_DSN":  "postgres://tg@db.example.com/tg",
		"TENANTGATE_SEALING_KEYS":  "k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
		"TENANTGATE_ADMIN_TOKEN":   "admin-token-admin-token-admin-token",
	}
}

func TestParseConfigDemoDefaults(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(nil, env(nil), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, modeDemo, cfg.Mode)
	assert.Equal(t, "127.0.0.1:8080", cfg.Addr)
	assert.Equal(t, "./tenantgate-data", cfg.DataDir)
	assert.Equal(t, "contoso", cfg.Customer)
	assert.Equal(t, 7*24*time.Hour, cfg.InviteTTL)
	assert.Equal(t, 50_000, cfg.DemoUsers)
	assert.Empty(t, cfg.AdminToken)
	assert.Equal(t, "global", cfg.Cloud)
	assert.Equal(t, smtpmail.StartTLS, cfg.SMTPSecurity)
	assert.NotEmpty(t, cfg.ProviderName)
}

func TestParseConfigFlagsOverrideEnvironment(t *testing.T) {
	t.Parallel()
	e := env(map[string]string{"TENANTGATE_ADDR": "127.0.0.1:9000", "TENANTGATE_DATA": "/env/data", "TENANTGATE_INVITE_TTL": "1h"})
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:9100"}, e, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9100", cfg.Addr)
	assert.Equal(t, "/env/data", cfg.DataDir)
	assert.Equal(t, time.Hour, cfg.InviteTTL)
}

func TestParseConfigProduction(t *testing.T) {
	t.Parallel()
	cfg, err := parseConfig(nil, env(prodEnv()), &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, modeProduction, cfg.Mode)
	assert.NotEmpty(t, cfg.ClientSecret)
	assert.NotEmpty(t, cfg.SealingKeys)
	assert.NotEmpty(t, cfg.PostgresDSN)
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	without := func(keys ...string) map[string]string {
		m := prodEnv()
		for _, k := range keys {
			delete(m, k)
		}
		return m
	}
	with := func(k, v string) map[string]string {
		m := prodEnv()
		m[k] = v
		return m
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		want    []string // each must appear in the error
		notWant []string // none may appear
	}{
		{name: "production needs everything", args: []string{"-mode", "production"},
			want: []string{"-client-id", "-client-secret", "-public-url", "-smtp-host", "-smtp-from", "-postgres-dsn", "TENANTGATE_SEALING_KEYS", "-admin-token"}},
		{name: "one production setting switches to production", args: []string{"-client-id", "0f0f0f0f-1111-2222-3333-444444444444"},
			want:    []string{"production mode needs", "-client-secret", "-postgres-dsn", "-smtp-host"},
			notWant: []string{"-client-id (TENANTGATE_CLIENT_ID): the provider"}},
		{name: "missing secret and DSN only", env: without("TENANTGATE_CLIENT_SECRET", "TENANTGATE_POSTGRES_DSN"),
			want: []string{"-client-secret", "-postgres-dsn"}, notWant: []string{"-smtp-host", "-public-url (TENANTGATE_PUBLIC_URL): the https"}},
		{name: "missing sealing keys", env: without("TENANTGATE_SEALING_KEYS"), want: []string{"TENANTGATE_SEALING_KEYS or -sealing-key-file"}},
		{name: "missing admin token", env: without("TENANTGATE_ADMIN_TOKEN"), want: []string{"production never generates one"}},
		{name: "http public URL", env: with("TENANTGATE_PUBLIC_URL", "http://portal.example.com"), want: []string{"-public-url", "https"}},
		{name: "public URL with path", env: with("TENANTGATE_PUBLIC_URL", "https://portal.example.com/m365"), want: []string{"must not have a path"}},
		{name: "secret and certificate", env: with("TENANTGATE_CLIENT_CERTIFICATE_FILE", "/etc/cert.pem"), want: []string{"not both"}},
		{name: "smtp user without password", env: with("TENANTGATE_SMTP_USER", "mailer"), want: []string{"-smtp-user and -smtp-password"}},
		{name: "secret expiry not a time", env: with("TENANTGATE_CLIENT_SECRET_EXPIRES_AT", "next March"), want: []string{"-client-secret-expires-at", "RFC 3339"}},
		{name: "demo with production setting", args: []string{"-mode", "demo", "-smtp-host", "smtp.example.com"},
			want: []string{"demo mode", "remove -smtp-host"}},
		{name: "unknown mode", args: []string{"-mode", "staging"}, want: []string{"-mode", `"staging"`}},
		{name: "bad values", args: []string{"-addr", "8080", "-invite-ttl", "-1h", "-demo-users", "many", "-smtp-security", "ssl",
			"-cloud", "mars", "-admin-token", "short", "-log-level", "loud", "-customer", "a/b", "-smtp-port", "99999", "-public-url", "ftp://x"},
			want: []string{"-addr", "-invite-ttl", "-demo-users", "-smtp-security", "-cloud", "-admin-token", "at least 24", "-log-level", "-customer", "-smtp-port", "-public-url"}},
		{name: "both key sources", args: []string{"-sealing-key-file", "/k"}, env: map[string]string{"TENANTGATE_SEALING_KEYS": "k1:x"},
			want: []string{"not both"}},
		{name: "stray argument", args: []string{"serve"}, want: []string{`unexpected argument "serve"`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{})
			var ue *usageError
			require.ErrorAs(t, err, &ue)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			for _, w := range tc.notWant {
				assert.NotContains(t, err.Error(), w)
			}
			for _, secret := range []string{"provider-secret-value", "admin-token-admin-token", "AAAAAAAA"} {
				assert.NotContains(t, err.Error(), secret, "the error shows a secret value")
			}
		})
	}
}

func TestParseConfigHelpHidesSecrets(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	_, err := parseConfig([]string{"-help"}, env(prodEnv()), &out)
	require.ErrorIs(t, err, flag.ErrHelp)
	help := out.String()
	for _, want := range []string{"-client-secret", "TENANTGATE_CLIENT_SECRET", "-postgres-dsn", "-admin-token", "TENANTGATE_SEALING_KEYS"} {
		assert.Contains(t, help, want, "help")
	}
	for _, v := range prodEnv() {
		assert.NotContains(t, help, v, "help shows an environment value")
	}
}

// FuzzParseConfig: any arguments and environment give a config or a clear
// error, never a panic, and an error never repeats a secret's value.
func FuzzParseConfig(f *testing.F) {
	f.Add("-mode\x00production", "TENANTGATE_CLIENT_SECRET", "s3cr3t-value-abcdefgh")
	f.Add("-addr\x00127.0.0.1:0\x00-invite-ttl\x001h", "TENANTGATE_ADMIN_TOKEN", "short")
	f.Add("-smtp-port\x00x", "TENANTGATE_POSTGRES_DSN", "postgres://u:pw@h/db")
	f.Add("-public-url\x00http://[::1", "TENANTGATE_SEALING_KEYS", "k1:zzzz")
	f.Fuzz(func(t *testing.T, args, key, value string) {
		argv := strings.Split(args, "\x00")
		e := map[string]string{key: value}
		cfg, err := parseConfig(argv, env(e), io.Discard)
		if err != nil {
			var ue *usageError
			require.True(t, errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) || strings.Contains(err.Error(), "flag"),
				"unexpected error type %T: %v", err, err)
			for _, s := range []string{"TENANTGATE_CLIENT_SECRET", "TENANTGATE_SMTP_PASSWORD", "TENANTGATE_ADMIN_TOKEN", "TENANTGATE_SEALING_KEYS", "TENANTGATE_POSTGRES_DSN"} {
				if key == s && len(value) >= 8 {
					require.NotContains(t, err.Error(), value, "the error repeats the secret %s", s)
				}
			}
			return
		}
		require.Contains(t, []string{modeDemo, modeProduction}, cfg.Mode, "mode")
	})
}

func TestParseConfigTraceStdout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		env  map[string]string
		want bool
		bad  bool
	}{
		{want: false},
		{args: []string{"-trace-stdout=true"}, want: true},
		{env: map[string]string{"TENANTGATE_TRACE_STDOUT": "1"}, want: true},
		{args: []string{"-trace-stdout=false"}, env: map[string]string{"TENANTGATE_TRACE_STDOUT": "true"}, want: false},
		{args: []string{"-trace-stdout=loud"}, bad: true},
	} {
		cfg, err := parseConfig(tc.args, env(tc.env), &bytes.Buffer{})
		if tc.bad {
			assert.ErrorContains(t, err, "-trace-stdout (TENANTGATE_TRACE_STDOUT)", "%v", tc.args)
			continue
		}
		if assert.NoError(t, err, "%v %v", tc.args, tc.env) {
			assert.Equal(t, tc.want, cfg.TraceStdout, "%v %v: TraceStdout", tc.args, tc.env)
		}
	}
}
