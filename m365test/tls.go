package m365test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"strings"
	"time"
)

// Public host names of the Microsoft cloud that the fake answers for when
// reached through [Server.Client] or [Server.Transport]: a connection to
// either host on port 443 is dialled to the fake's TLS listener instead, and
// the fake's certificate is valid for both names.
const (
	// LoginHost is the Entra ID (identity platform) host.
	LoginHost = "login.microsoftonline.com"
	// GraphHost is the Microsoft Graph host.
	GraphHost = "graph.microsoft.com"
)

// certificates is the private certificate authority of one Server and the
// leaf certificate its TLS listener presents.
type certificates struct {
	ca   *x509.Certificate
	pool *x509.CertPool
	leaf tls.Certificate
}

// newCertificates creates a throw-away CA and a leaf certificate for the
// loopback addresses, localhost and the public Microsoft host names.
func newCertificates(now time.Time) (*certificates, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "m365test fake cloud CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	leafTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "m365test fake cloud"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost", LoginHost, GraphHost, "m365test.invalid"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &certificates{
		ca:   ca,
		pool: pool,
		leaf: tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey},
	}, nil
}

// newMemTransport returns a transport that trusts the fake's CA and dials
// the public Microsoft hosts and the TLS listener's name to the in-memory
// TLS listener, the browser listener's name to the in-memory browser
// listener, and refuses every other address.
func newMemTransport(pool *x509.CertPool, tlsL, browserL *memListener) *http.Transport {
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, fmt.Errorf("m365test: dial %q: %w", addr, err)
			}
			switch {
			case addr == memTLSAddr || port == "443" && (strings.EqualFold(host, LoginHost) || strings.EqualFold(host, GraphHost)):
				return tlsL.dial(ctx)
			case addr == memBrowserAddr:
				return browserL.dial(ctx)
			}
			return nil, fmt.Errorf("m365test: the in-memory fake cloud reaches only %s, %s and its own listeners, not %q", LoginHost, GraphHost, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}

// newTransport returns a transport that trusts the fake's CA and dials the
// public Microsoft hosts to the fake's TLS listener at tlsAddr.
func newTransport(pool *x509.CertPool, tlsAddr string) *http.Transport {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, fmt.Errorf("m365test: dial %q: %w", addr, err)
			}
			if port == "443" && (strings.EqualFold(host, LoginHost) || strings.EqualFold(host, GraphHost)) {
				addr = tlsAddr
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig:     &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12},
		MaxIdleConns:        100,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 10 * time.Second,
	}
}
