package m365test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// TokenExchangeAudience is the audience Entra ID expects in a federated
// identity credential's token (the default of FederatedCredential).
const TokenExchangeAudience = "api://AzureADTokenExchange"

// The AADSTS codes of federated client assertions Entra ID answers.
const (
	CodeFederatedNoMatch  = 70021  // no federated identity credential matches issuer, subject and audience
	CodeFederatedIssuer   = 700211 // no federated identity credential with the assertion's issuer
	CodeFederatedAudience = 700212 // ... with the assertion's audience
	CodeFederatedSubject  = 700213 // ... with the assertion's subject
)

// FederatedCredential is a federated identity credential of an app
// registration (Graph's federatedIdentityCredential): the app accepts, as
// its client assertion, a token of Issuer for Subject with one of
// Audiences, instead of a secret or certificate.
type FederatedCredential struct {
	// Name names the credential.
	Name string
	// Issuer is the trusted issuer's URL (the iss claim), for example a
	// Kubernetes cluster's OIDC issuer, https://token.actions.githubusercontent.com,
	// or https://login.microsoftonline.com/{tenant}/v2.0 for a managed
	// identity.
	Issuer string
	// Subject is the external identity (the sub claim): a service
	// account, a repository and environment, a managed identity's
	// principal ID.
	Subject string
	// Audiences may appear in the aud claim; nil means
	// TokenExchangeAudience.
	Audiences []string
}

// FederatedIssuer is an external token issuer the fake trusts, standing
// in for the OIDC issuer whose signing keys Entra ID would fetch: it
// mints the tokens a workload presents as client_assertion.
type FederatedIssuer struct {
	// URL is the issuer (the iss claim of its tokens).
	URL    string
	s      *Server
	sg     *signer
	issued atomic.Int64
}

// federation is the Server's federated issuers and credentials.
type federation struct {
	mu      sync.Mutex
	issuers map[string]*FederatedIssuer      // by URL
	creds   map[string][]FederatedCredential // by client ID
}

// AddFederatedIssuer creates an issuer at url with a key of its own that
// the fake trusts. Adding the same URL again returns the same issuer.
func (s *Server) AddFederatedIssuer(url string) (*FederatedIssuer, error) {
	if url == "" {
		return nil, fmt.Errorf("m365test: AddFederatedIssuer: empty issuer URL")
	}
	s.fed.mu.Lock()
	defer s.fed.mu.Unlock()
	if fi, ok := s.fed.issuers[url]; ok {
		return fi, nil
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	if s.fed.issuers == nil {
		s.fed.issuers = map[string]*FederatedIssuer{}
	}
	fi := &FederatedIssuer{URL: url, s: s, sg: newSigner(key)}
	s.fed.issuers[url] = fi
	return fi, nil
}

// AddFederatedCredential adds a federated identity credential to the app
// clientID (at most 20, as Entra allows).
func (s *Server) AddFederatedCredential(clientID string, fc FederatedCredential) error {
	if fc.Issuer == "" || fc.Subject == "" {
		return fmt.Errorf("m365test: AddFederatedCredential: issuer and subject are required")
	}
	s.mu.Lock()
	_, ok := s.apps[strings.ToLower(clientID)]
	s.mu.Unlock()
	if !ok {
		return fmt.Errorf("m365test: AddFederatedCredential: unknown app %q", clientID)
	}
	if len(fc.Audiences) == 0 {
		fc.Audiences = []string{TokenExchangeAudience}
	}
	s.fed.mu.Lock()
	defer s.fed.mu.Unlock()
	if s.fed.creds == nil {
		s.fed.creds = map[string][]FederatedCredential{}
	}
	id := strings.ToLower(clientID)
	if len(s.fed.creds[id]) >= 20 {
		return fmt.Errorf("m365test: AddFederatedCredential: app %q has 20 federated identity credentials already", clientID)
	}
	s.fed.creds[id] = append(s.fed.creds[id], fc)
	return nil
}

// Token mints a token of the issuer for subject and audience, valid for
// ttl from the fake's clock (Options.Now).
func (fi *FederatedIssuer) Token(subject, audience string, ttl time.Duration) (string, error) {
	now := fi.s.opts.Now()
	fi.issued.Add(1)
	return fi.sg.sign(map[string]any{"iss": fi.URL, "sub": subject, "aud": audience,
		"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(ttl).Unix(), "jti": newID()})
}

// Issued counts the tokens the issuer minted.
func (fi *FederatedIssuer) Issued() int64 { return fi.issued.Load() }

// ManagedIdentityHandler serves the Azure Instance Metadata Service's
// managed identity token endpoint (GET
// /metadata/identity/oauth2/token?api-version=2018-02-01&resource=...,
// header Metadata: true) for the managed identity subject: a token of
// the issuer for the requested resource, valid an hour, in IMDS's JSON
// (access_token, expires_on and expires_in as strings of seconds,
// resource, token_type).
func (fi *FederatedIssuer) ManagedIdentityHandler(subject string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		q := r.URL.Query()
		switch {
		case r.Method != http.MethodGet:
			w.WriteHeader(http.StatusMethodNotAllowed)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "GET only"})
			return
		case r.Header.Get("Metadata") != "true":
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "Required metadata header not specified"})
			return
		case q.Get("api-version") == "" || q.Get("resource") == "":
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": "Required query variable 'resource' or 'api-version' is missing"})
			return
		}
		const ttl = time.Hour
		tok, err := fi.Token(subject, q.Get("resource"), ttl)
		if err != nil {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		exp := fi.s.opts.Now().Add(ttl).Unix()
		_ = json.NewEncoder(w).Encode(map[string]string{"access_token": tok, "expires_on": strconv.FormatInt(exp, 10),
			"expires_in": strconv.Itoa(int(ttl.Seconds())), "resource": q.Get("resource"), "token_type": "Bearer"})
	})
}

// verifyFederated checks a client assertion issued by someone else than
// the app against the app's federated identity credentials, like Entra
// ID: an issuer, then a subject, then an audience that matches a
// credential (AADSTS700211, 700213, 700212; 70021 when the app has
// none), a signature by the issuer's key (AADSTS700027) and a time
// window (AADSTS700024).
func (s *Server) verifyFederated(j *jws, a *App) *entraError {
	iss, sub, auds := j.str("iss"), j.str("sub"), j.strs("aud")
	if len(auds) == 0 && j.str("aud") != "" {
		auds = []string{j.str("aud")}
	}
	s.fed.mu.Lock()
	creds := slices.Clone(s.fed.creds[strings.ToLower(a.ClientID)])
	fi := s.fed.issuers[iss]
	s.fed.mu.Unlock()
	if len(creds) == 0 {
		return newEntraError(http.StatusBadRequest, "invalid_request", CodeFederatedNoMatch,
			"No matching federated identity record found for presented assertion. Assertion Issuer: '%s'. Assertion Subject: '%s'. Assertion Audience: '%s'.", iss, sub, strings.Join(auds, ","))
	}
	creds = slices.DeleteFunc(creds, func(c FederatedCredential) bool { return c.Issuer != iss })
	if len(creds) == 0 {
		return newEntraError(http.StatusBadRequest, "invalid_request", CodeFederatedIssuer,
			"No matching federated identity record found for presented assertion issuer '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", iss)
	}
	creds = slices.DeleteFunc(creds, func(c FederatedCredential) bool { return c.Subject != sub })
	if len(creds) == 0 {
		return newEntraError(http.StatusBadRequest, "invalid_request", CodeFederatedSubject,
			"No matching federated identity record found for presented assertion subject '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", sub)
	}
	creds = slices.DeleteFunc(creds, func(c FederatedCredential) bool {
		return !slices.ContainsFunc(c.Audiences, func(want string) bool { return slices.Contains(auds, want) })
	})
	if len(creds) == 0 {
		return newEntraError(http.StatusBadRequest, "invalid_request", CodeFederatedAudience,
			"No matching federated identity record found for presented assertion audience '%s'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion.", strings.Join(auds, ","))
	}
	if fi == nil {
		return badAssertion("Client assertion failed signature validation. Reason - the signing keys of issuer '%s' could not be retrieved.", iss)
	}
	if err := j.verifyRSA(&fi.sg.key.PublicKey); err != nil {
		return badAssertion("Client assertion failed signature validation. Reason - The signature is invalid.")
	}
	now := s.opts.Now()
	exp, okE := j.unix("exp")
	nbf, okN := j.unix("nbf")
	const skew = 5 * time.Minute
	if !okE || now.After(time.Unix(exp, 0).Add(skew)) || (okN && now.Add(skew).Before(time.Unix(nbf, 0))) {
		return newEntraError(http.StatusUnauthorized, "invalid_client", CodeAssertionExpired, "Client assertion is not within its valid time range.")
	}
	return nil
}
