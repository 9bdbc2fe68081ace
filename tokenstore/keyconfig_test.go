package tokenstore_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantgate/tenantgate/tokenstore"
)

func TestParseKeyring(t *testing.T) {
	t.Parallel()
	k1, k2 := mustKey(t, "k1"), mustKey(t, "k2")
	urlRaw := "k3:" + base64.RawURLEncoding.EncodeToString(mustKey(t, "x").Secret)
	for _, tc := range []struct {
		name    string
		text    string
		ids     string
		primary string
	}{
		{"one", k1.Encode(), "k1", "k1"},
		{"lines with comments", "# keys\n\n" + k1.Encode() + "\n  " + k2.Encode() + "  \n", "k1,k2", "k2"},
		{"commas", k1.Encode() + ", " + k2.Encode(), "k1,k2", "k2"},
		{"CRLF", k1.Encode() + "\r\n" + k2.Encode() + "\r\n", "k1,k2", "k2"},
		{"url-safe unpadded", urlRaw, "k3", "k3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			kr, err := tokenstore.ParseKeyring(tc.text)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(kr.KeyIDs(), ","); got != tc.ids || kr.PrimaryKeyID() != tc.primary {
				t.Errorf("keys %s primary %s, want %s primary %s", got, kr.PrimaryKeyID(), tc.ids, tc.primary)
			}
		})
	}
	// The parsed key is the same key: a blob sealed by one opens with the other.
	kr1 := mustKeyring(t, k1)
	kr2, _ := tokenstore.ParseKeyring(k1.Encode())
	blob, _ := kr1.Seal(recKey, []byte("x"))
	if _, err := kr2.Open(recKey, blob); err != nil {
		t.Errorf("parsed key does not open: %v", err)
	}
}

func TestParseKeyringErrors(t *testing.T) {
	t.Parallel()
	k1 := mustKey(t, "k1")
	secretB64 := k1.Encode()[3:]
	short := base64.StdEncoding.EncodeToString(make([]byte, 16))
	for _, tc := range []struct {
		name, text, want string
	}{
		{"empty", "", "holds no keys"},
		{"only comments", "# nothing\n\n", "holds no keys"},
		{"bare key without ID", secretB64, "expected \"id:base64key\""},
		{"short key", "k1:" + short, "16 bytes"},
		{"not base64", "k1:not*base64!", "not valid base64"},
		{"empty secret", "k1:", "no secret"},
		{"bad ID", "bad id:" + secretB64, "only A-Z"},
		{"duplicate", k1.Encode() + "\n" + k1.Encode(), "appears twice"},
		{"second line bad", k1.Encode() + "\nk2:" + short, "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tokenstore.ParseKeyring(tc.text)
			if !errors.Is(err, tokenstore.ErrKeyConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("ParseKeyring: %v, want ErrKeyConfig mentioning %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secretB64) || strings.Contains(err.Error(), short) {
				t.Errorf("error message contains key material: %v", err)
			}
		})
	}
}

func TestLoadKeyringFile(t *testing.T) {
	t.Parallel()
	k1 := mustKey(t, "k1")
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, []byte("# sealing keys\n"+k1.Encode()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kr, err := tokenstore.LoadKeyringFile(path)
	if err != nil || kr.PrimaryKeyID() != "k1" {
		t.Fatalf("LoadKeyringFile: %v", err)
	}
	_, err = tokenstore.LoadKeyringFile(filepath.Join(t.TempDir(), "missing"))
	if !errors.Is(err, tokenstore.ErrKeyConfig) || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("k1:AAAA\n"), 0o600)
	if _, err := tokenstore.LoadKeyringFile(bad); !errors.Is(err, tokenstore.ErrKeyConfig) || !strings.Contains(err.Error(), bad) {
		t.Errorf("bad file: %v, want ErrKeyConfig naming the file", err)
	}
}

func TestKeyringFromEnv(t *testing.T) {
	const name = "TENANTGATE_TEST_KEYRING"
	k1, k2 := mustKey(t, "k1"), mustKey(t, "k2")
	t.Setenv(name, k1.Encode()+","+k2.Encode())
	kr, err := tokenstore.KeyringFromEnv(name)
	if err != nil || kr.PrimaryKeyID() != "k2" {
		t.Fatalf("KeyringFromEnv: %v", err)
	}
	t.Setenv(name, "  ")
	if _, err := tokenstore.KeyringFromEnv(name); !errors.Is(err, tokenstore.ErrKeyConfig) || !strings.Contains(err.Error(), name+" is not set") {
		t.Errorf("empty variable: %v", err)
	}
	os.Unsetenv(name)
	if _, err := tokenstore.KeyringFromEnv(name); !errors.Is(err, tokenstore.ErrKeyConfig) || !strings.Contains(err.Error(), "openssl rand -base64 32") {
		t.Errorf("unset variable: %v, want a hint how to generate a key", err)
	}
	t.Setenv(name, "k1:"+base64.StdEncoding.EncodeToString([]byte("too short")))
	if _, err := tokenstore.KeyringFromEnv(name); !errors.Is(err, tokenstore.ErrKeyConfig) || !strings.Contains(err.Error(), "environment variable "+name) {
		t.Errorf("short key: %v", err)
	}
}
