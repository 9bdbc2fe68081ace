package m365test

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// DeltaLinkLifetime is how long the fake's /users/delta links stay valid
// (by the server's clock, Options.Now): seven days, as Graph's for
// identity resources. Past it Graph answers 400 with code
// syncStateNotFound.
const DeltaLinkLifetime = directory.DeltaLinkLifetime

// CodeSyncStateNotFound is the Graph error code of an expired or reset
// delta link: the client must read every user again.
const CodeSyncStateNotFound = directory.CodeSyncStateNotFound

// handleUsersDelta is GET /v1.0/users/delta: a first request (optionally
// with $select) lists every user and ends with an @odata.deltaLink; the
// deltaLink lists the users changed or added since (deleted ones as
// {"id", "@removed": {"reason": "changed"}}) and a new deltaLink.
// $deltatoken=latest answers no users and a deltaLink for now. Pages hold
// Prefer: odata.maxpagesize entries, 200 by default; $select is carried
// by the links. $filter is refused: Graph filters delta only by object
// ID, which this fake does not model.
func (s *Server) handleUsersDelta(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permUsers)
	if !ok {
		return
	}
	qv := r.URL.Query()
	for k := range qv {
		switch k {
		case "$select", "$deltatoken", "$skiptoken":
		case "$filter":
			s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: directory.CodeUnsupportedQuery,
				msg: "Only object ID filters are supported on delta queries; this fake supports none."})
			return
		default:
			if strings.HasPrefix(k, "$") {
				s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: directory.CodeRequestBadRequest,
					msg: "The query parameter '" + k + "' is not supported with delta queries."})
				return
			}
		}
	}
	q := directory.DeltaQuery{DeltaToken: qv.Get("$deltatoken"), SkipToken: qv.Get("$skiptoken"), Now: s.Now()}
	if sel := qv.Get("$select"); sel != "" {
		for _, f := range strings.Split(sel, ",") {
			q.Select = append(q.Select, strings.TrimSpace(f))
		}
	}
	for _, pref := range r.Header.Values("Prefer") {
		for _, part := range strings.Split(pref, ",") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(part), "odata.maxpagesize="); ok {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 {
					s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: directory.CodeRequestBadRequest,
						msg: "Invalid odata.maxpagesize preference."})
					return
				}
				q.PageSize = n
			}
		}
	}
	res, err := p.tenant.dir.Delta(q)
	if err != nil {
		var qe *directory.QueryError
		if errors.As(err, &qe) {
			s.writeGraphError(w, r, &graphError{status: qe.Status, code: qe.Code, msg: qe.Message})
			return
		}
		s.writeGraphError(w, r, &graphError{status: http.StatusInternalServerError, code: "generalException", msg: "Internal error."})
		return
	}
	base := "https://" + r.Host + "/v1.0/users/delta?"
	out := make([]byte, 0, 512+len(res.Users)*400)
	out = append(out, `{"@odata.context":`...)
	out = appendJSONString(out, graphContext+"users("+strings.Join(res.Select, ",")+")")
	if res.NextSkipToken != "" {
		out = append(out, `,"@odata.nextLink":`...)
		out = appendJSONString(out, base+url.Values{"$skiptoken": {res.NextSkipToken}}.Encode())
	}
	out = append(out, `,"value":`...)
	out = res.AppendValue(out)
	if res.DeltaToken != "" {
		out = append(out, `,"@odata.deltaLink":`...)
		out = appendJSONString(out, base+url.Values{"$deltatoken": {res.DeltaToken}}.Encode())
	}
	out = append(out, '}')
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	if res.NextSkipToken != "" || res.DeltaToken != "" {
		w.Header().Set("Preference-Applied", "odata.track-changes")
	}
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
}
