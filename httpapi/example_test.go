package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/invite"
	"github.com/tenantgate/tenantgate/invite/outbox"
	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/tokenstore"
	"github.com/tenantgate/tenantgate/tokenstore/memstore"
)

// The host mounts the handlers under /m365 of its own server, with its own
// authorization: here a fixed bearer token for customer "contoso".
func Example() {
	key, _ := tokenstore.GenerateKey("k1")
	kr, _ := tokenstore.NewKeyring(key)
	store := tokenstore.New(memstore.New(), kr)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))

	// The public base URL is configured once, on the provider app; the
	// invite Service takes it from the Manager and httpapi checks both.
	access, err := m365access.New(m365access.Config{
		Provider: m365access.ProviderConfig{ClientID: "0f0f0f0f-1111-2222-3333-444444444444",
			ClientSecret: "provider-secret-0123456789", PublicBaseURL: "https://portal.example.com/m365"},
		Store: store, Logger: quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	invitations, err := invite.New(invite.Options{Store: store, Mailer: outbox.New(outbox.Options{}), PublicBaseURL: access.PublicURLs().BaseURL, Logger: quiet})
	if err != nil {
		log.Fatal(err)
	}
	h, err := httpapi.New(httpapi.Config{
		Authorizer: httpapi.AuthorizerFunc(func(_ context.Context, r *http.Request, customer string, _ httpapi.Operation) error {
			if r.Header.Get("Authorization") != "Bearer s3cret" {
				return httpapi.ErrUnauthenticated
			}
			if customer != "contoso" && customer != "" {
				return fmt.Errorf("admin may not act for %q", customer)
			}
			return nil
		}),
		Access: access, Invitations: invitations, Store: store,
		ProviderName: "Example MSP", Logger: quiet,
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/m365/", http.StripPrefix("/m365", h))

	call := func(method, path, token, body string) {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		var v struct {
			Code            string
			Version         int
			Tenant          string
			ClientSecretSet bool
			Fields          []httpapi.FieldError
		}
		_ = json.Unmarshal(w.Body.Bytes(), &v)
		switch {
		case w.Code == http.StatusOK:
			fmt.Printf("%d version=%d tenant=%s clientSecretSet=%v secret in body: %v\n", w.Code, v.Version, v.Tenant,
				v.ClientSecretSet, strings.Contains(w.Body.String(), "never-shown-0123456789abc"))
		case len(v.Fields) > 0:
			fmt.Printf("%d %s field=%s\n", w.Code, v.Code, v.Fields[0].Field)
		default:
			fmt.Printf("%d %s\n", w.Code, v.Code)
		}
	}
	call("GET", "/m365/customers/contoso/m365/status", "", "")
	call("GET", "/m365/customers/fabrikam/m365/status", "s3cret", "")
	call("PUT", "/m365/customers/contoso/m365", "s3cret", `{"tenant":"contoso.onmicrosoft.com","authMode":"token","clientSecret":"never-shown-0123456789abc"}`)
	call("PUT", "/m365/customers/contoso/m365", "s3cret", `{"userFilter":"UsageLocation -eq"}`)
	call("PUT", "/m365/customers/contoso/m365", "s3cret", `{"tenant":"contoso.onmicrosoft.com","color":"blue"}`)
	// Output:
	// 401 unauthenticated
	// 403 forbidden
	// 200 version=1 tenant=contoso.onmicrosoft.com clientSecretSet=true secret in body: false
	// 422 validation_failed field=userFilter
	// 400 malformed_json
}
