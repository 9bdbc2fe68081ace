package m365access

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// sealedStore returns a sealing store on a memory backend, and the backend
// (whose records hold only ciphertext of sealed data).
func sealedStore(t testing.TB) (*tokenstore.SealedStore, *memstore.Store) {
	t.Helper()
	key, err := tokenstore.GenerateKey("k1")
	require.NoError(t, err)
	kr, err := tokenstore.NewKeyring(key)
	require.NoError(t, err)
	b := memstore.New()
	return tokenstore.New(b, kr), b
}

const (
	testProviderID     = "0f0f0f0f-1111-2222-3333-444444444444"
	testProviderSecret = "provider-secret-VALUE-0123456789"
)

// captureHandler records every log line as text, for secret checks.
type captureHandler struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
	h   slog.Handler
}

func newCapture() (*slog.Logger, func() string) {
	var mu sync.Mutex
	buf := &bytes.Buffer{}
	h := captureHandler{mu: &mu, buf: buf, h: slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})}
	return slog.New(h), func() string { mu.Lock(); defer mu.Unlock(); return buf.String() }
}

func (c captureHandler) Enabled(context.Context, slog.Level) bool { return true }
func (c captureHandler) Handle(ctx context.Context, r slog.Record) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.h.Handle(ctx, r)
}
func (c captureHandler) WithAttrs(a []slog.Attr) slog.Handler {
	return captureHandler{mu: c.mu, buf: c.buf, h: c.h.WithAttrs(a)}
}
func (c captureHandler) WithGroup(n string) slog.Handler {
	return captureHandler{mu: c.mu, buf: c.buf, h: c.h.WithGroup(n)}
}

// newTestManager returns a Manager on a memory store without network.
func newTestManager(t testing.TB, mod func(*Config)) (*Manager, *memstore.Store, func() string) {
	t.Helper()
	store, backend := sealedStore(t)
	log, logs := newCapture()
	cfg := Config{
		Provider: ProviderConfig{ClientID: testProviderID, ClientSecret: testProviderSecret, PublicBaseURL: "https://portal.example/m365"},
		Store:    store, Locker: store, Logger: log,
	}
	if mod != nil {
		mod(&cfg)
	}
	m, err := New(cfg)
	require.NoError(t, err)
	return m, backend, logs
}

// selfSignedPEM returns a certificate and its PKCS#8 key, PEM encoded.
func selfSignedPEM(t testing.TB, notAfter time.Time) (string, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "tenantgate test"},
		NotBefore:    notAfter.Add(-365 * 24 * time.Hour),
		NotAfter:     notAfter,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, _ := x509.ParseCertificate(der)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	var b bytes.Buffer
	pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	return b.String(), cert
}

func ptr[T any](v T) *T { return &v }
