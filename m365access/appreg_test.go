package m365access

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tenantgate/tenantgate/m365test"
)

const (
	custAppID     = "c0c0c0c0-1111-2222-3333-444444444444"
	custAppSecret = "customer-app-secret-0123456789"
)

func TestAppRegistrationSecretAndCertificate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "secret", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All"})
	tok, err := e.m.Credential("secret").GetToken(ctx, graphScope())
	if err != nil {
		t.Fatal(err)
	}
	if st := e.graphStatus(t, tok.Token, "/organization?$select=id"); st != 200 {
		t.Errorf("the app-only token cannot read contoso's organization: %d", st)
	}

	certPEM, _ := selfSignedPEM(t, time.Now().Add(30*24*time.Hour))
	e.saveAppRegistration(t, "cert", "c1c1c1c1-1111-2222-3333-444444444444", "", certPEM, []string{"User.Read.All", "Organization.Read.All"})
	if _, err := e.m.Credential("cert").GetToken(ctx, graphScope()); err != nil {
		t.Fatal(err)
	}
	st, _ := e.m.Status(ctx, "cert")
	// A token is no proof that Graph answers: the state waits for Validate.
	if st.State != StateNotConnected || st.CertificateExpiresAt == nil || time.Until(*st.CertificateExpiresAt) < 29*24*time.Hour {
		t.Errorf("status %+v", st)
	}
	if strings.Contains(e.logs(), custAppSecret) || strings.Contains(e.logs(), "PRIVATE KEY") {
		t.Error("a credential reached the logs")
	}
}

func TestAppRegistrationBadAndExpiredSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "c1", custAppID, custAppSecret, "", []string{"User.Read.All"})

	// A wrong secret: 7000215, rotate the secret.
	const wrong = "wrong-secret-value-0123456789"
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{AppClientSecret: ptr(wrong)}); err != nil {
		t.Fatal(err)
	}
	_, err := e.m.Credential("c1").GetToken(ctx, graphScope())
	var ae *Error
	if !errors.As(err, &ae) || !ae.HasCode(7000215) || ae.Action != ActionRotateSecret {
		t.Fatalf("wrong secret: %v", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Error("the error holds the secret")
	}
	st, _ := e.m.Status(ctx, "c1")
	if st.State != StateCredentialExpired || st.LastError == nil || st.LastError.Action != ActionRotateSecret {
		t.Errorf("status %+v", st)
	}

	// The right secret, then it expires at the fake: 7000222.
	if _, err := e.m.SaveSettings(ctx, "c1", SettingsUpdate{AppClientSecret: ptr(custAppSecret)}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.m.Credential("c1").GetToken(ctx, graphScope()); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.ExpireSecrets(custAppID); err != nil {
		t.Fatal(err)
	}
	m2, _ := e.manager(t) // no token in memory
	_, err = m2.Credential("c1").GetToken(ctx, graphScope())
	if !errors.As(err, &ae) || !ae.HasCode(7000222) || ae.Action != ActionRotateSecret {
		t.Fatalf("expired secret: %v", err)
	}
}

// TestValidateAfterConsentGetsFreshToken: Validate, grant consent,
// Validate again once the grant replicated: the second Validate and the
// day-two credential see the roles, although MSAL cached a roles-less
// token an hour long.
func TestValidateAfterConsentGetsFreshToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	e.saveAppRegistration(t, "c1", custAppID, custAppSecret, "", []string{"User.Read.All", "Organization.Read.All", TeamsPermission})
	if err := e.srv.WithdrawConsent(e.contoso.ID, custAppID); err != nil {
		t.Fatal(err)
	}
	r, err := e.m.Validate(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := r.Check("permissions"); r.OK || c.OK || c.Action != ActionGrantConsent {
		t.Fatalf("before consent: %+v", r)
	}
	// The day-two credential caches a roles-less token too.
	if _, err := e.m.Credential("c1").GetToken(ctx, graphScope()); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.GrantAdminConsentNow(e.contoso.ID, custAppID); err != nil {
		t.Fatal(err)
	}
	e.srv.Advance(m365test.DefaultConsentReplicationDelay)
	r, err = e.m.Validate(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK {
		t.Fatalf("after consent replicated, Validate still fails (a cached token?): %+v", r.Checks)
	}
	tok, err := e.m.Credential("c1").GetToken(ctx, graphScope())
	if err != nil {
		t.Fatal(err)
	}
	if st := e.graphStatus(t, tok.Token, "/users?$top=1&$select=id"); st != 200 {
		t.Errorf("the credential still serves the roles-less token: GET /users answers %d", st)
	}
	if st, _ := e.m.Status(ctx, "c1"); st.State != StateConnected {
		t.Errorf("status %+v", st)
	}
}
