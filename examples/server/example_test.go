package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
)

// Example starts the demo portal in-process, sends an invitation through
// the admin API with the bearer token, and reads the email from the demo
// outbox, as the browser test does before it opens the link.
func Example() {
	dir, _ := os.MkdirTemp("", "tenantgate-example")
	defer os.RemoveAll(dir)
	cfg, err := parseConfig([]string{"-addr", "127.0.0.1:0", "-data", dir, "-demo-users", "100",
		"-admin-token", "example-admin-token-0123456789"}, func(string) string { return "" }, io.Discard)
	if err != nil {
		fmt.Println(err)
		return
	}
	a, err := start(context.Background(), cfg, hooks{logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer a.shutdown(context.Background())

	call := func(method, path string, body string) *http.Response {
		req, _ := http.NewRequest(method, a.publicURL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer example-admin-token-0123456789")
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		return resp
	}
	resp := call("POST", "/api/customers/contoso/m365/invitations", `{}`)
	resp.Body.Close()
	fmt.Println("invitation:", resp.Status)

	resp = call("GET", "/dev/outbox", "")
	defer resp.Body.Close()
	var box struct {
		Emails []struct {
			To, Subject string
			Links       []string
		}
	}
	_ = json.NewDecoder(resp.Body).Decode(&box)
	e := box.Emails[0]
	fmt.Println(e.To)
	fmt.Println(e.Subject)
	fmt.Println(len(e.Links), strings.HasPrefix(e.Links[0], a.publicURL+"/invite/"))
	// Output:
	// invitation: 201 Created
	// admin@contoso.onmicrosoft.com
	// Tenantgate Demo Provider asks you to connect Contoso Ltd's Microsoft 365 tenant
	// 1 true
}
