package m365access

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// certInfo is what the library keeps readable about a certificate
// credential: never the key.
type certInfo struct {
	Thumbprint string    // SHA-256 of the leaf, hex
	NotAfter   time.Time // leaf expiry
}

// parseCertificatePEM parses a PEM bundle holding the certificate chain
// (leaf first) and its unencrypted private key (PKCS#8 or PKCS#1 RSA).
// Its errors never quote the input.
func parseCertificatePEM(pemData []byte) ([]*x509.Certificate, crypto.PrivateKey, certInfo, error) {
	certs, key, err := confidential.CertFromPEM(pemData, "")
	if err != nil {
		return nil, nil, certInfo{}, errors.New("the PEM data must hold a certificate and its unencrypted private key")
	}
	if len(certs) == 0 || key == nil {
		return nil, nil, certInfo{}, errors.New("the PEM data must hold a certificate and its private key")
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, nil, certInfo{}, errors.New("the private key cannot sign")
	}
	if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(certs[0].PublicKey) {
		return nil, nil, certInfo{}, errors.New("the private key does not match the first certificate")
	}
	sum := sha256.Sum256(certs[0].Raw)
	return certs, key, certInfo{Thumbprint: hex.EncodeToString(sum[:]), NotAfter: certs[0].NotAfter}, nil
}
