package m365test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
)

// serveBeta answers a request to Graph's /beta endpoint. Where beta
// answers as v1.0 does for what the fake serves, the request is served by
// the v1.0 handler and its links and context URLs name /beta; everything
// else answers a Graph-style 404, so a client that uses beta where the
// fake cannot answer as beta does learns it at once instead of passing
// against a v1.0 answer:
//
//   - served: /subscriptions, /communications/callRecords (and its
//     sessions, participants_v2 and PSTN functions), /$batch,
//     /oauth2PermissionGrants, and /users, /users/{id} and /me with a
//     $select (beta returns more properties by default, the same ones
//     when they are selected);
//   - not served: /users and /me without $select, /users/delta,
//     /organization, /servicePrincipals and /admin/teams, whose beta
//     shapes carry properties or defaults v1.0 does not.
func (s *Server) serveBeta(w http.ResponseWriter, r *http.Request, rest string) {
	if !betaServed(rest, r) {
		s.writeGraphError(w, r, &graphError{status: http.StatusNotFound, code: "NotFound",
			msg: "Resource '/beta/" + rest + "' is not served by m365test: its beta answer differs from v1.0's; use /v1.0."})
		return
	}
	sub := r.Clone(r.Context())
	sub.URL.Path = "/v1.0/" + rest
	sub.URL.RawPath = ""
	sub.RequestURI = strings.Replace(r.RequestURI, "/beta/", "/v1.0/", 1)
	rec := httptest.NewRecorder()
	s.graphMux.ServeHTTP(rec, sub)
	body := rec.Body.Bytes()
	if strings.Contains(rec.Header().Get("Content-Type"), "json") {
		for _, host := range []string{"https://" + GraphHost, "https://" + r.Host} {
			body = bytes.ReplaceAll(body, []byte(host+"/v1.0/"), []byte(host+"/beta/"))
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	if w.Header().Get("Content-Length") != "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(body)
}

// betaServed reports whether /beta/{rest} answers as /v1.0/{rest} does
// for what the fake serves.
func betaServed(rest string, r *http.Request) bool {
	first, tail, _ := strings.Cut(rest, "/")
	first = strings.ToLower(first)
	switch {
	case first == "subscriptions", first == "$batch", first == "oauth2permissiongrants":
		return true
	case first == "communications" && strings.HasPrefix(strings.ToLower(tail), "callrecords"):
		return true
	case first == "users" || first == "me" || strings.HasPrefix(first, "users("):
		return r.URL.Query().Get("$select") != "" && !strings.EqualFold(tail, "delta")
	}
	return false
}
