package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Production never takes the admin token as a flag (every local user sees
// process arguments): only TENANTGATE_ADMIN_TOKEN or a token file.
func TestProductionAdminTokenNotAFlag(t *testing.T) {
	const tok = "flag-token-flag-token-flag-token"
	noToken := prodEnv()
	delete(noToken, "TENANTGATE_ADMIN_TOKEN")
	_, err := parseConfig([]string{"-admin-token", tok}, env(noToken), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-admin-token: production does not take the admin token as a flag") {
		t.Fatalf("production with -admin-token: %v", err)
	}
	if strings.Contains(err.Error(), tok) {
		t.Error("the error shows the token")
	}

	// From a file.
	file := filepath.Join(t.TempDir(), "admin-token")
	if err := os.WriteFile(file, []byte("  file-token-file-token-file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := parseConfig([]string{"-admin-token-file", file}, env(noToken), io.Discard)
	if err != nil || cfg.AdminToken != "file-token-file-token-file-token" {
		t.Fatalf("production with -admin-token-file: %q, %v", cfg.AdminToken, err)
	}
	withFileEnv := prodEnv()
	delete(withFileEnv, "TENANTGATE_ADMIN_TOKEN")
	withFileEnv["TENANTGATE_ADMIN_TOKEN_FILE"] = file
	if cfg, err := parseConfig(nil, env(withFileEnv), io.Discard); err != nil || cfg.AdminToken != "file-token-file-token-file-token" {
		t.Fatalf("production with TENANTGATE_ADMIN_TOKEN_FILE: %q, %v", cfg.AdminToken, err)
	}
	// From the environment (prodEnv) it works as before.
	if _, err := parseConfig(nil, env(prodEnv()), io.Discard); err != nil {
		t.Fatal(err)
	}
	// Both, or an unreadable or empty file, are refused.
	if _, err := parseConfig([]string{"-admin-token-file", file}, env(prodEnv()), io.Discard); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("file and environment: %v", err)
	}
	if _, err := parseConfig([]string{"-admin-token-file", file + ".missing"}, env(noToken), io.Discard); err == nil || !strings.Contains(err.Error(), "-admin-token-file") {
		t.Errorf("missing file: %v", err)
	}
	empty := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(empty, []byte("\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := parseConfig([]string{"-admin-token-file", empty}, env(noToken), io.Discard); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("empty file: %v", err)
	}
	// The demo still takes the flag (the token of a fake, local portal).
	if cfg, err := parseConfig([]string{"-admin-token", tok}, env(nil), io.Discard); err != nil || cfg.AdminToken != tok {
		t.Errorf("demo with -admin-token: %v", err)
	}
}

// TestProductionSecretsNotFlags: production refuses every secret given
// as a flag (-client-secret, -smtp-password, -postgres-dsn,
// -webhook-secret), naming the environment variable to use, and never
// repeats the value.
func TestProductionSecretsNotFlags(t *testing.T) {
	for flagName, envName := range map[string]string{"client-secret": "TENANTGATE_CLIENT_SECRET", "smtp-password": "TENANTGATE_SMTP_PASSWORD",
		"postgres-dsn": "TENANTGATE_POSTGRES_DSN", "webhook-secret": "TENANTGATE_WEBHOOK_SECRET"} {
		t.Run(flagName, func(t *testing.T) {
			e := prodEnv()
			const value = "value-given-as-a-flag-1234567890"
			_, err := parseConfig([]string{"-" + flagName, value}, env(e), io.Discard)
			if err == nil || !strings.Contains(err.Error(), "-"+flagName+": production does not take secrets as flags") || !strings.Contains(err.Error(), envName) {
				t.Fatalf("production with -%s: %v", flagName, err)
			}
			if strings.Contains(err.Error(), value) {
				t.Error("the error shows the secret")
			}
		})
	}
}
