package main

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
)

// The demo's managed identity: its issuer is Entra itself (a managed
// identity's token comes from the provider's own tenant) and its subject
// the identity's object ID.
const (
	demoMIIssuer  = "https://login.microsoftonline.com/9c6b1f4e-0d2a-4e8b-b7c3-2f1a5d9e6c40/v2.0"
	demoMISubject = "3f0b7d2c-5a1e-4c9f-8b6d-0e2a4c6f8b1d"
)

// startDemoIMDS makes the demo's provider app trust the demo managed
// identity (a federated identity credential) and serves that identity's
// IMDS token endpoint on a loopback port, returning its URL: the provider
// app then authenticates without its secret.
func (a *app) startDemoIMDS() (string, error) {
	iss, err := a.fake.AddFederatedIssuer(demoMIIssuer)
	if err != nil {
		return "", fmt.Errorf("demo managed identity: %w", err)
	}
	if err := a.fake.AddFederatedCredential(a.fakeProvider.ClientID, m365test.FederatedCredential{
		Name: "demo-managed-identity", Issuer: demoMIIssuer, Subject: demoMISubject}); err != nil {
		return "", fmt.Errorf("demo managed identity: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("demo managed identity endpoint: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metadata/identity/oauth2/token", iss.ManagedIdentityHandler(demoMISubject))
	a.imds = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	a.imdsIssuer = iss
	go func() { _ = a.imds.Serve(ln) }()
	a.log.Info("demo: the provider app authenticates with a federated credential (managed identity), not its secret", "endpoint", "http://"+ln.Addr().String())
	return "http://" + ln.Addr().String() + "/metadata/identity/oauth2/token", nil
}
