package tokenstore_test

import (
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
			t.Parallel()
			kr, err := tokenstore.ParseKeyring(tc.text)
			require.NoError(t, err)
			assert.Equal(t, tc.ids, strings.Join(kr.KeyIDs(), ","), "keys")
			assert.Equal(t, tc.primary, kr.PrimaryKeyID(), "primary")
		})
	}
	// The parsed key is the same key: a blob sealed by one opens with the other.
	kr1 := mustKeyring(t, k1)
	kr2, _ := tokenstore.ParseKeyring(k1.Encode())
	blob, _ := kr1.Seal(recKey, []byte("x"))
	_, err := kr2.Open(recKey, blob)
	assert.NoError(t, err, "parsed key does not open")
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
			t.Parallel()
			_, err := tokenstore.ParseKeyring(tc.text)
			require.ErrorIs(t, err, tokenstore.ErrKeyConfig, "ParseKeyring")
			require.Contains(t, err.Error(), tc.want, "ParseKeyring")
			assert.NotContains(t, err.Error(), secretB64, "error message contains key material")
			assert.NotContains(t, err.Error(), short, "error message contains key material")
		})
	}
}

func TestLoadKeyringFile(t *testing.T) {
	t.Parallel()
	k1 := mustKey(t, "k1")
	path := filepath.Join(t.TempDir(), "keys")
	require.NoError(t, os.WriteFile(path, []byte("# sealing keys\n"+k1.Encode()+"\n"), 0o600))
	kr, err := tokenstore.LoadKeyringFile(path)
	require.NoError(t, err, "LoadKeyringFile")
	require.Equal(t, "k1", kr.PrimaryKeyID(), "LoadKeyringFile: primary")
	_, err = tokenstore.LoadKeyringFile(filepath.Join(t.TempDir(), "missing"))
	assert.ErrorIs(t, err, tokenstore.ErrKeyConfig, "missing file")
	assert.ErrorIs(t, err, os.ErrNotExist, "missing file")
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte("k1:AAAA\n"), 0o600)
	_, err = tokenstore.LoadKeyringFile(bad)
	if assert.ErrorIs(t, err, tokenstore.ErrKeyConfig, "bad file") {
		assert.Contains(t, err.Error(), bad, "bad file: want an error naming the file")
	}
}

func TestKeyringFromEnv(t *testing.T) {
	const name = "TENANTGATE_TEST_KEYRING"
	k1, k2 := mustKey(t, "k1"), mustKey(t, "k2")
	t.Setenv(name, k1.Encode()+","+k2.Encode())
	kr, err := tokenstore.KeyringFromEnv(name)
	require.NoError(t, err, "KeyringFromEnv")
	require.Equal(t, "k2", kr.PrimaryKeyID(), "KeyringFromEnv: primary")
	t.Setenv(name, "  ")
	_, err = tokenstore.KeyringFromEnv(name)
	if assert.ErrorIs(t, err, tokenstore.ErrKeyConfig, "empty variable") {
		assert.Contains(t, err.Error(), name+" is not set", "empty variable")
	}
	os.Unsetenv(name)
	_, err = tokenstore.KeyringFromEnv(name)
	if assert.ErrorIs(t, err, tokenstore.ErrKeyConfig, "unset variable") {
		assert.Contains(t, err.Error(), "openssl rand -base64 32", "unset variable: want a hint how to generate a key")
	}
	t.Setenv(name, "k1:"+base64.StdEncoding.EncodeToString([]byte("too short")))
	_, err = tokenstore.KeyringFromEnv(name)
	if assert.ErrorIs(t, err, tokenstore.ErrKeyConfig, "short key") {
		assert.Contains(t, err.Error(), "environment variable "+name, "short key")
	}
}
