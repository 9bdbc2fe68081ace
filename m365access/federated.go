package m365access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// TokenExchangeAudience is the audience of a token presented through a
// federated identity credential in Microsoft's public cloud.
const TokenExchangeAudience = "api://AzureADTokenExchange"

// DefaultManagedIdentityEndpoint is the Azure Instance Metadata
// Service's managed identity token endpoint (Azure VMs, VM scale sets,
// AKS nodes).
const DefaultManagedIdentityEndpoint = "http://169.254.169.254/metadata/identity/oauth2/token"

// ManagedIdentityOptions configures ManagedIdentityAssertion. The zero
// value uses the system-assigned identity through IMDS.
type ManagedIdentityOptions struct {
	// ClientID selects a user-assigned managed identity; empty means the
	// system-assigned one.
	ClientID string
	// Endpoint is the token endpoint; empty means
	// DefaultManagedIdentityEndpoint (tests point it at a fake).
	Endpoint string
	// Audience is the resource asked for; empty means
	// TokenExchangeAudience.
	Audience string
	// HTTPClient sends the requests; nil means a client with a 10 s
	// timeout (IMDS is on the host).
	HTTPClient *http.Client
}

// ManagedIdentityAssertion returns a ProviderConfig.ClientAssertion that
// presents a token of an Azure managed identity, made a federated
// identity credential of the provider app (issuer
// https://login.microsoftonline.com/{tenant}/v2.0, subject the
// identity's object ID). The token is asked from IMDS and reused until
// five minutes before it expires.
func ManagedIdentityAssertion(o ManagedIdentityOptions) func(ctx context.Context) (string, error) {
	if o.Endpoint == "" {
		o.Endpoint = DefaultManagedIdentityEndpoint
	}
	if o.Audience == "" {
		o.Audience = TokenExchangeAudience
	}
	hc := o.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	var (
		mu     sync.Mutex
		cached string
		until  time.Time
	)
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if cached != "" && time.Now().Before(until) {
			return cached, nil
		}
		u, err := url.Parse(o.Endpoint)
		if err != nil {
			return "", fmt.Errorf("m365access: managed identity endpoint: %w", err)
		}
		q := u.Query()
		q.Set("api-version", "2018-02-01")
		q.Set("resource", o.Audience)
		if o.ClientID != "" {
			q.Set("client_id", o.ClientID)
		}
		u.RawQuery = q.Encode()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Metadata", "true")
		resp, err := hc.Do(req)
		if err != nil {
			return "", fmt.Errorf("m365access: managed identity token: %w (is this process running on Azure with a managed identity?)", err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return "", fmt.Errorf("m365access: managed identity token: %w", err)
		}
		var out struct {
			AccessToken string `json:"access_token"`
			ExpiresOn   string `json:"expires_on"`
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if err := json.Unmarshal(body, &out); err != nil || resp.StatusCode != http.StatusOK || out.AccessToken == "" {
			return "", fmt.Errorf("m365access: managed identity token: HTTP %d %s %s", resp.StatusCode, out.Error, out.Description)
		}
		until = time.Now().Add(time.Hour)
		if secs, err := strconv.ParseInt(out.ExpiresOn, 10, 64); err == nil {
			until = time.Unix(secs, 0)
		}
		until = until.Add(-5 * time.Minute)
		cached = out.AccessToken
		return cached, nil
	}
}

// TokenFileAssertion returns a ProviderConfig.ClientAssertion that
// presents the token in the file at path: the projected service account
// token of Azure Workload Identity on Kubernetes
// (AZURE_FEDERATED_TOKEN_FILE), or a token a CI job wrote (GitHub
// Actions' OIDC token). The file is read at each call, since its owner
// replaces the token before it expires.
func TokenFileAssertion(path string) func(ctx context.Context) (string, error) {
	return func(context.Context) (string, error) {
		if path == "" {
			return "", errors.New("m365access: no federated token file (AZURE_FEDERATED_TOKEN_FILE)")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return "", fmt.Errorf("m365access: read the federated token file: %w", err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", fmt.Errorf("m365access: the federated token file %s is empty", path)
		}
		return tok, nil
	}
}
