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
// by the links, and id is always returned ("the id property is always
// returned", user delta reference). $filter takes Graph's one delta
// filter, `id eq '{id}'` joined by `or` (at most 50 IDs), carried by the
// links; any other filter is 400 Request_UnsupportedQuery "Unsupported
// Query.", Graph's answer as users of Graph report it.
func (s *Server) handleUsersDelta(w http.ResponseWriter, r *http.Request, c *call) {
	p, ok := s.graphAuth(w, r, c, permUsers)
	if !ok {
		return
	}
	qv := r.URL.Query()
	var ids []string
	for k := range qv {
		switch k {
		case "$select", "$deltatoken", "$skiptoken":
		case "$filter":
			var ok bool
			if ids, ok = deltaIDFilter(qv.Get(k)); !ok {
				s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: directory.CodeUnsupportedQuery, msg: "Unsupported Query."})
				return
			}
		default:
			if strings.HasPrefix(k, "$") {
				s.writeGraphError(w, r, &graphError{status: http.StatusBadRequest, code: directory.CodeRequestBadRequest,
					msg: "The query parameter '" + k + "' is not supported with delta queries."})
				return
			}
		}
	}
	q := directory.DeltaQuery{DeltaToken: qv.Get("$deltatoken"), SkipToken: qv.Get("$skiptoken"), Now: s.Now(), IDs: ids}
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
	link := func(name, token string) string {
		v := url.Values{name: {token}}
		if len(ids) > 0 {
			v.Set("$filter", qv.Get("$filter"))
		}
		return base + v.Encode()
	}
	out := make([]byte, 0, 512+len(res.Users)*400)
	out = append(out, `{"@odata.context":`...)
	out = appendJSONString(out, graphContext+"users("+strings.Join(res.Select, ",")+")")
	if res.NextSkipToken != "" {
		out = append(out, `,"@odata.nextLink":`...)
		out = appendJSONString(out, link("$skiptoken", res.NextSkipToken))
	}
	out = append(out, `,"value":`...)
	out = res.AppendValue(out)
	if res.DeltaToken != "" {
		out = append(out, `,"@odata.deltaLink":`...)
		out = appendJSONString(out, link("$deltatoken", res.DeltaToken))
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

// maxDeltaIDs is how many object IDs one delta $filter may name ("up to
// 50", user delta reference).
const maxDeltaIDs = 50

// deltaIDFilter parses Graph's one delta filter: `id eq '{id}'` clauses
// joined by `or`, at most maxDeltaIDs of them.
func deltaIDFilter(f string) ([]string, bool) {
	var ids []string
	for _, part := range splitFold(f, " or ") {
		part = strings.TrimSpace(part)
		for strings.HasPrefix(part, "(") && strings.HasSuffix(part, ")") {
			part = strings.TrimSpace(part[1 : len(part)-1])
		}
		fields := strings.Fields(part)
		if len(fields) != 3 || !strings.EqualFold(fields[0], "id") || !strings.EqualFold(fields[1], "eq") {
			return nil, false
		}
		v, opened := strings.CutPrefix(fields[2], "'")
		v, closed := strings.CutSuffix(v, "'")
		if !opened || !closed || v == "" || strings.Contains(v, "'") {
			return nil, false
		}
		ids = append(ids, v)
	}
	return ids, len(ids) > 0 && len(ids) <= maxDeltaIDs
}

// splitFold splits s around each ASCII-case-insensitive instance of sep.
func splitFold(s, sep string) []string {
	var out []string
	start := 0
	for i := 0; i+len(sep) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sep)], sep) {
			out = append(out, s[start:i])
			start = i + len(sep)
			i = start - 1
		}
	}
	return append(out, s[start:])
}
