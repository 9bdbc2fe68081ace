package m365test

import (
	"bufio"
	"net"
	"net/http"
	"time"
)

// Endpoint names one kind of request the fake serves, for the request log,
// counters and fault injection.
type Endpoint string

// Endpoints of the fake cloud.
const (
	EndpointDiscovery     Endpoint = "discovery"     // /{tenant}/v2.0/.well-known/openid-configuration
	EndpointJWKS          Endpoint = "jwks"          // /{tenant}/discovery/v2.0/keys
	EndpointUserRealm     Endpoint = "userrealm"     // /common/UserRealm/{upn}
	EndpointAuthorize     Endpoint = "authorize"     // /{tenant}/oauth2/v2.0/authorize
	EndpointToken         Endpoint = "token"         // /{tenant}/oauth2/v2.0/token
	EndpointAdminConsent  Endpoint = "adminconsent"  // /{tenant}/v2.0/adminconsent
	EndpointOrganization  Endpoint = "organization"  // /v1.0/organization
	EndpointMe            Endpoint = "me"            // /v1.0/me
	EndpointUsers         Endpoint = "users"         // /v1.0/users and /v1.0/users/{id}
	EndpointSendMail      Endpoint = "sendMail"      // /v1.0/users/{id}/sendMail
	EndpointSubscriptions Endpoint = "subscriptions" // /v1.0/subscriptions[/{id}]
	EndpointCallRecords   Endpoint = "callRecords"   // /v1.0/communications/callRecords[/{id}[/sessions]], and the PSTN report functions

	EndpointTeamsUserConfigurations Endpoint = "teamsUserConfigurations" // /v1.0/admin/teams/userConfigurations[/{id}]
	// EndpointServicePrincipals is /v1.0/servicePrincipals/{id},
	// /v1.0/servicePrincipals(appId='{appId}') and
	// /v1.0/servicePrincipals/{id}/appRoleAssignments.
	EndpointServicePrincipals Endpoint = "servicePrincipals"
	// EndpointPermissionGrants is /v1.0/oauth2PermissionGrants (list,
	// delete).
	EndpointPermissionGrants Endpoint = "oauth2PermissionGrants"
	// EndpointBatch is POST /v1.0/$batch; each request it carries is
	// logged as well, under its own endpoint.
	EndpointBatch Endpoint = "batch"
)

// Request is one entry of the request log. It never holds secrets: no
// query strings, bodies or headers.
type Request struct {
	Time     time.Time
	Method   string
	Path     string
	Endpoint Endpoint
	// Tenant is the tenant GUID when the request could be tied to a
	// tenant, else the tenant segment of the path as sent, else "".
	Tenant string
	// ClientID is the app the request was made by or for, when known.
	ClientID string
	// GrantType is the token request's grant_type.
	GrantType string
	// Status is the HTTP status answered (0 for a dropped connection).
	Status int
	// Fault reports whether an injected fault decided the answer.
	Fault bool
}

// Match selects requests for [Server.Count]; zero fields match anything.
type Match struct {
	Endpoint  Endpoint
	Tenant    string
	ClientID  string
	GrantType string
	Status    int
}

func (m Match) matches(k Match) bool {
	return (m.Endpoint == "" || m.Endpoint == k.Endpoint) &&
		(m.Tenant == "" || m.Tenant == k.Tenant) &&
		(m.ClientID == "" || m.ClientID == k.ClientID) &&
		(m.GrantType == "" || m.GrantType == k.GrantType) &&
		(m.Status == 0 || m.Status == k.Status)
}

// Requests returns a copy of the request log, oldest first (at most
// Options.MaxLog entries).
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, 0, len(s.log))
	out = append(out, s.log[s.logStart:]...)
	return append(out, s.log[:s.logStart]...)
}

// Count returns how many requests matched m since the server started or
// since [Server.ResetLog].
func (s *Server) Count(m Match) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for k, c := range s.counts {
		if m.matches(k) {
			n += c
		}
	}
	return n
}

// ResetLog empties the request log and the counters.
func (s *Server) ResetLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = nil
	s.logStart = 0
	s.counts = map[Match]int{}
}

func (s *Server) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.log) < s.opts.MaxLog {
		s.log = append(s.log, r)
	} else {
		s.log[s.logStart] = r
		s.logStart = (s.logStart + 1) % len(s.log)
	}
	s.counts[Match{Endpoint: r.Endpoint, Tenant: r.Tenant, ClientID: r.ClientID, GrantType: r.GrantType, Status: r.Status}]++
}

// call is the per-request bookkeeping the handlers fill in.
type call struct {
	endpoint  Endpoint
	tenant    string
	clientID  string
	grantType string
	fault     bool
}

// statusWriter captures the status code of a response and reports it
// once, before the response leaves, so a client that has its answer can
// count on the request log.
type statusWriter struct {
	http.ResponseWriter
	status   int
	done     bool
	onStatus func(status int)
}

func (w *statusWriter) report(status int) {
	if !w.done {
		w.done = true
		w.status = status
		w.onStatus(status)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.report(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.report(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack lets a fault drop the connection.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.report(0)
	return http.NewResponseController(w.ResponseWriter).Hijack()
}
