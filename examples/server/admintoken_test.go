package main

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Production never takes the admin token as a flag (every local user sees
// process arguments): only TENANTGATE_ADMIN_TOKEN or a token file.
func TestProductionAdminTokenNotAFlag(t *testing.T) {
	t.Parallel()
	const tok = "flag-token-flag-token-flag-token"
	noToken := prodEnv()
	delete(noToken, "TENANTGATE_ADMIN_TOKEN")
	_, err := parseConfig([]string{"-admin-token", tok}, env(noToken), io.Discard)
	require.ErrorContains(t, err, "-admin-token: production does not take the admin token as a flag", "production with -admin-token")
	assert.NotContains(t, err.Error(), tok, "the error shows the token")

	// From a file.
	file := filepath.Join(t.TempDir(), "admin-token")
	require.NoError(t, os.WriteFile(file, []byte("  file-token-file-token-file-token\n"), 0o600))
	cfg, err := parseConfig([]string{"-admin-token-file", file}, env(noToken), io.Discard)
	require.NoError(t, err, "production with -admin-token-file")
	require.Equal(t, "file-token-file-token-file-token", cfg.AdminToken, "production with -admin-token-file")
	withFileEnv := prodEnv()
	delete(withFileEnv, "TENANTGATE_ADMIN_TOKEN")
	withFileEnv["TENANTGATE_ADMIN_TOKEN_FILE"] = file
	cfg, err = parseConfig(nil, env(withFileEnv), io.Discard)
	require.NoError(t, err, "production with TENANTGATE_ADMIN_TOKEN_FILE")
	require.Equal(t, "file-token-file-token-file-token", cfg.AdminToken, "production with TENANTGATE_ADMIN_TOKEN_FILE")
	// From the environment (prodEnv) it works as before.
	_, err = parseConfig(nil, env(prodEnv()), io.Discard)
	require.NoError(t, err)
	// Both, or an unreadable or empty file, are refused.
	_, err = parseConfig([]string{"-admin-token-file", file}, env(prodEnv()), io.Discard)
	assert.ErrorContains(t, err, "not both", "file and environment")
	_, err = parseConfig([]string{"-admin-token-file", file + ".missing"}, env(noToken), io.Discard)
	assert.ErrorContains(t, err, "-admin-token-file", "missing file")
	empty := filepath.Join(t.TempDir(), "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	_, err = parseConfig([]string{"-admin-token-file", empty}, env(noToken), io.Discard)
	assert.ErrorContains(t, err, "empty", "empty file")
	// The demo still takes the flag (the token of a fake, local portal).
	cfg, err = parseConfig([]string{"-admin-token", tok}, env(nil), io.Discard)
	if assert.NoError(t, err, "demo with -admin-token") {
		assert.Equal(t, tok, cfg.AdminToken, "demo with -admin-token")
	}
}

// TestProductionSecretsNotFlags: production refuses every secret given
// as a flag (-client-secret, -smtp-password, -postgres-dsn,
// -webhook-secret), naming the environment variable to use, and never
// repeats the value.
func TestProductionSecretsNotFlags(t *testing.T) {
	t.Parallel()
	for flagName, envName := range map[string]string{"client-secret": "TENANTGATE_CLIENT_SECRET", "smtp-password": "TENANTGATE_SMTP_PASSWORD",
		"postgres-dsn": "TENANTGATE_POSTGRES_DSN", "webhook-secret": "TENANTGATE_WEBHOOK_SECRET"} {
		t.Run(flagName, func(t *testing.T) {
			e := prodEnv()
			const value = "value-given-as-a-flag-1234567890"
			_, err := parseConfig([]string{"-" + flagName, value}, env(e), io.Discard)
			require.ErrorContains(t, err, "-"+flagName+": production does not take secrets as flags", "production with -%s", flagName)
			require.ErrorContains(t, err, envName, "production with -%s", flagName)
			assert.NotContains(t, err.Error(), value, "the error shows the secret")
		})
	}
}
