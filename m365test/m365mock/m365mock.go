// Package m365mock registers the fake Microsoft cloud of package m365test
// as github.com/jarcoal/httpmock responders, for host services whose unit
// tests mock HTTP with httpmock: requests to Entra ID
// (https://login.microsoftonline.com) and Microsoft Graph
// (https://graph.microsoft.com) are answered by an m365test.Server, with
// all its behaviour (tokens, consent, Graph paging, throttling and the
// faults a test injects), while every other URL stays under the test's own
// responders.
//
// A fake created with m365test.Options{InMemory: true} opens no port: the
// whole exchange stays in memory.
package m365mock

import (
	"net/http"
	"regexp"

	"github.com/jarcoal/httpmock"

	"github.com/tenantgate/tenantgate/m365test"
)

// Methods are the HTTP methods the responders are registered for.
var Methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// URLs match the hosts the fake answers for: Entra ID and Microsoft Graph
// of the global cloud.
var URLs = []*regexp.Regexp{
	regexp.MustCompile(`^https://` + regexp.QuoteMeta(m365test.LoginHost) + `(:443)?/`),
	regexp.MustCompile(`^https://` + regexp.QuoteMeta(m365test.GraphHost) + `(:443)?/`),
}

// Register registers on mt, for each of Methods and URLs, a responder that
// answers from srv. Use the transport where the code under test takes an
// HTTP client or transport (m365access.Config.HTTPClient,
// usersync.GraphOptions.Transport), or activate it on a client with
// httpmock.ActivateNonDefault.
func Register(mt *httpmock.MockTransport, srv *m365test.Server) {
	r := Responder(srv)
	for _, u := range URLs {
		for _, m := range Methods {
			mt.RegisterRegexpResponder(m, u, r)
		}
	}
}

// Responder returns an httpmock.Responder that sends each request to srv
// and returns its answer.
func Responder(srv *m365test.Server) httpmock.Responder {
	tr := srv.Transport()
	return func(req *http.Request) (*http.Response, error) {
		return tr.RoundTrip(req)
	}
}

// New returns a MockTransport answering Entra ID and Graph from srv and,
// for any other URL, with httpmock's "no responder found" error until the
// test registers its own.
func New(srv *m365test.Server) *httpmock.MockTransport {
	mt := httpmock.NewMockTransport()
	Register(mt, srv)
	return mt
}
