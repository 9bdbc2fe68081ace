package directory

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Default and maximum page sizes of GET /users.
const (
	DefaultTop = 100
	MaxTop     = 999
)

// Query is one GET /users request, its query options already URL-decoded.
// The zero Query lists the first 100 users with Graph's default properties.
type Query struct {
	// Filter is $filter; "" means none.
	Filter string
	// Select is $select split at commas; empty means Graph's default set
	// (businessPhones, displayName, givenName, jobTitle, mail, mobilePhone,
	// officeLocation, preferredLanguage, surname, userPrincipalName, id).
	// "*" selects every property.
	Select []string
	// Top is $top: 0 means the default of 100, 1..999 the page size; any
	// other value is refused.
	Top int
	// SkipToken is $skiptoken from a previous page's nextLink, or "".
	SkipToken string
	// Count is $count=true.
	Count bool
	// ConsistencyEventual is the request header ConsistencyLevel: eventual.
	// Together with Count it makes the request an advanced query.
	ConsistencyEventual bool
	// Search is $search ("" none): "property:value" clauses joined by AND
	// or OR, matched on word prefixes. It needs ConsistencyEventual, as
	// Graph's $search on directory objects does.
	Search string
	// OrderBy is $orderby: "", or "displayName" or "userPrincipalName",
	// or in an advanced query "createdDateTime", optionally followed by
	// " asc" or " desc".
	OrderBy string
	// Now is the time of the request and SkipTokenLifetime how long a
	// skip token works after its page was served; a zero Now or a
	// SkipTokenLifetime <= 0 never expires tokens. An expired token is
	// [CodeExpiredPageToken].
	Now               time.Time
	SkipTokenLifetime time.Duration
	// IndexAsOf, when set, answers a request with ConsistencyEventual
	// from the directory as it was at that time, as Graph's eventually
	// consistent index for advanced queries lags behind writes (see
	// [Directory.KeepHistory]). Requests without ConsistencyEventual read
	// the directory as it is.
	IndexAsOf time.Time
}

// CodeExpiredPageToken is Graph's error code for a skip token used after
// it expired.
const CodeExpiredPageToken = "Directory_ExpiredPageToken"

// Result is one page of users.
type Result struct {
	// Users is the page, in listing order.
	Users []User
	// Select is the property names each user is written with by Value, in
	// output order. Like Graph, an explicit $select returns only the named
	// properties: id too only when selected.
	Select []string
	// NextSkipToken is the $skiptoken of the next page, "" on the last page.
	NextSkipToken string
	// Count is @odata.count, the number of users matching the filter over all
	// pages; -1 when not requested (Graph answers $count=true without
	// ConsistencyLevel: eventual as if $count were absent).
	Count int

	sel []prop
	lic Licenses
}

// Value returns the page as Graph's "value" array: each user as a JSON
// object with only the selected properties.
func (r *Result) Value() json.RawMessage { return r.AppendValue(nil) }

// AppendValue appends the page as Graph's "value" array to dst.
func (r *Result) AppendValue(dst []byte) []byte {
	dst = slices.Grow(dst, 2+len(r.Users)*len(r.sel)*48)
	dst = append(dst, '[')
	for i := range r.Users {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = r.Users[i].appendJSONLic(dst, r.sel, r.lic)
	}
	return append(dst, ']')
}

// Query answers one page of GET /users. Errors are *[QueryError] values with
// the status and code Graph would send.
//
// A page costs time proportional to the users scanned to fill it: the skip
// token records the position where the next page starts. With $count in an
// advanced query the first page also scans the whole tenant once to count;
// later pages carry the count in their skip token.
func (d *Directory) Query(q Query) (Result, error) {
	top := q.Top
	if top == 0 {
		top = DefaultTop
	}
	if top < 1 || top > MaxTop {
		return Result{}, badRequest(CodeRequestBadRequest, "Invalid page size specified: '%d'. Must be between 1 and %d inclusive.", q.Top, MaxTop)
	}
	advanced := q.Count && q.ConsistencyEventual

	var expr Expr
	if q.Filter != "" {
		var err error
		if expr, err = ParseFilter(q.Filter); err != nil {
			return Result{}, err
		}
		if err := expr.Validate(advanced); err != nil {
			return Result{}, err
		}
	}
	sel, err := parseSelectOf(q.Select, true, true)
	if err != nil {
		return Result{}, err
	}
	sortKey, desc, err := parseOrderBy(q.OrderBy, advanced)
	if err != nil {
		return Result{}, err
	}
	if sortKey != "" && !expr.IsZero() && !advanced {
		return Result{}, badRequest(CodeUnsupportedQuery, "Sorting not supported for current query.")
	}

	var srch *search
	if q.Search != "" {
		if !q.ConsistencyEventual {
			// The advanced query page's error example: Request_UnsupportedQuery.
			return Result{}, badRequest(CodeUnsupportedQuery, "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
		}
		if srch, err = parseSearch(q.Search); err != nil {
			return Result{}, err
		}
	}
	ov := d.ov.Load()
	if q.ConsistencyEventual && !q.IndexAsOf.IsZero() {
		ov = d.asOf(q.IndexAsOf)
	}
	var g gen
	match := func(pos int) bool {
		if !d.matchAt(ov, expr, pos, &g) {
			return false
		}
		if srch == nil {
			return true
		}
		u := d.userAtPos(ov, pos)
		return srch.match(&u)
	}
	bind := binding(expr.String()+"\x00"+q.Search, desc, sortKey, advanced)
	start, count := 0, -1
	if q.SkipToken != "" {
		t, ok := d.decodeToken(q.SkipToken)
		if !ok || t.binding != bind || (t.count >= 0) != advanced {
			return Result{}, badRequest(CodeRequestBadRequest, "The $skiptoken is not valid for this query: send the @odata.nextLink back unchanged, with the same $filter, $orderby and $count.")
		}
		if !q.Now.IsZero() && q.SkipTokenLifetime > 0 && q.Now.Unix()-t.issued > int64(q.SkipTokenLifetime/time.Second) {
			return Result{}, badRequest(CodeExpiredPageToken, "The specified page token value has expired and can no longer be included in your request.")
		}
		start, count = t.pos, t.count
	} else if advanced {
		if srch == nil {
			count = d.count(ov, expr)
		} else {
			count = 0
			for pos := range positionsOf(d.n, ov) {
				if match(pos) {
					count++
				}
			}
		}
	}

	total := positionsOf(d.n, ov)
	res := Result{Count: count, sel: sel, lic: d.lic, Users: make([]User, 0, min(top, total-start))}
	res.Select = make([]string, len(sel))
	for i, p := range sel {
		res.Select[i] = propName(p)
	}
	k := start
	for ; k < total; k++ {
		pos := k
		if desc {
			pos = total - 1 - k
		}
		if !match(pos) {
			continue
		}
		if len(res.Users) == top {
			var issued int64
			if !q.Now.IsZero() {
				issued = q.Now.Unix()
			}
			res.NextSkipToken = d.encodeToken(skipToken{pos: k, count: count, issued: issued, binding: bind})
			break
		}
		res.Users = append(res.Users, d.userAtPos(ov, pos))
	}
	return res, nil
}

// matchAt evaluates expr for the user at listing position pos; g is scratch
// space reused across calls to spare an allocation per user.
func (d *Directory) matchAt(ov *overlay, expr Expr, pos int, g *gen) bool {
	if ov != nil {
		if ov.isDeleted(pos - 1) {
			return false
		}
		if u, ok := ov.changed[pos-1]; ok {
			return expr.root == nil || expr.root.eval(dirUser{u, d}, "")
		}
	}
	if expr.root == nil {
		return true
	}
	if pos == 0 {
		return expr.root.eval(dirUser{&d.admin, d}, "")
	}
	*g = gen{d: d, i: pos - 1}
	return expr.root.eval(g, "")
}

func (d *Directory) userAtPos(ov *overlay, pos int) User {
	if u, ok := ov.changedUser(pos - 1); ok {
		return u.clone()
	}
	if pos == 0 {
		return d.admin.clone()
	}
	return d.generate(pos - 1)
}

// count returns the number of users matching expr in the directory with
// overlay ov.
func (d *Directory) count(ov *overlay, expr Expr) int {
	if expr.root == nil {
		return d.n + 1 + ov.addedUsers() - ov.deletedUsers()
	}
	var g gen
	n := 0
	for pos := range positionsOf(d.n, ov) {
		if d.matchAt(ov, expr, pos, &g) {
			n++
		}
	}
	return n
}

// Count returns the number of users (the Global Admin included) matching
// expr, without Graph's advanced-query rules.
func (d *Directory) Count(expr Expr) int { return d.count(d.ov.Load(), expr) }

// parseSelect resolves $select into properties. Graph returns exactly the
// selected properties of a user, so id is not added (a client that needs
// the id must select it; see msgraph-sdk-powershell issue 1091).
func parseSelect(names []string) ([]prop, error) { return parseSelectOf(names, true, false) }

// parseSelectOf is parseSelect; withDeclared accepts the declared
// properties that are not modelled (written as null or []); list refuses
// those Graph returns for a single user only, with its 501.
func parseSelectOf(names []string, withDeclared, list bool) ([]prop, error) {
	if len(names) == 0 {
		return defaultSelect, nil
	}
	var seen [256]bool
	var sel []prop
	for _, raw := range names {
		name := strings.TrimSpace(raw)
		if name == "*" {
			sel = sel[:0]
			for p := range numProps {
				sel = append(sel, p)
			}
			return sel, nil
		}
		p, ok := lookupProp(name)
		if !ok && withDeclared {
			p, ok = lookupDeclared(name)
		}
		if !ok {
			return nil, badRequest(CodeBadRequest, "Parsing OData Select and Expand failed: %s", unknownProperty(name))
		}
		if list && p >= firstDeclared && declared[p-firstDeclared].single {
			return nil, &QueryError{Status: 501, Code: CodeNotImplemented,
				Message: fmt.Sprintf("The property '%s' is only returned for a single user: GET /users/{id}?$select=%s.", declared[p-firstDeclared].name, declared[p-firstDeclared].name)}
		}
		if !seen[p] {
			seen[p] = true
			sel = append(sel, p)
		}
	}
	return sel, nil
}

// parseOrderBy parses $orderby: displayName and userPrincipalName sort
// by default on users, createdDateTime in advanced queries only, and all
// three follow listing order. Another declared property does not sort.
func parseOrderBy(s string, advanced bool) (key string, desc bool, err error) {
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return "", false, nil
	}
	if len(fields) > 2 || strings.Contains(s, ",") {
		return "", false, badRequest(CodeUnsupportedQuery, "Sorting by more than one property is not supported.")
	}
	if len(fields) == 2 {
		switch strings.ToLower(fields[1]) {
		case "asc":
		case "desc":
			desc = true
		default:
			return "", false, badRequest(CodeBadRequest, "Syntax error: '%s' is not a valid sort direction in $orderby '%s'.", fields[1], s)
		}
	}
	if strings.EqualFold(fields[0], "createdDateTime") {
		// Sorts in advanced queries only (the $orderby table of the
		// advanced query page); creation times follow listing order.
		if !advanced {
			return "", false, badRequest(CodeUnsupportedQuery, "Sorting not supported for current query.")
		}
		return "createdDateTime", desc, nil
	}
	p, ok := lookupProp(fields[0])
	if !ok {
		if _, declared := lookupDeclared(fields[0]); declared {
			return "", false, badRequest(CodeUnsupportedQuery, "Sorting not supported for current query.")
		}
		return "", false, badRequest(CodeBadRequest, "%s", unknownProperty(fields[0]))
	}
	if p != pDisplayName && p != pUserPrincipalName {
		return "", false, badRequest(CodeUnsupportedQuery, "Sorting not supported for current query.")
	}
	return props[p].name, desc, nil
}
