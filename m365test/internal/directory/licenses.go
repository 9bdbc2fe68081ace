package directory

import (
	"fmt"
	"strings"
)

// Licenses supplies what the directory does not keep about a user's
// licenses: Graph's assignedLicenses and assignedPlans properties, and
// the answer of the filter `assignedLicenses/any(x:x/skuId eq {guid})`.
// Package m365test keeps license assignments; i is the user's generator
// index (-1 for the Global Admin), as in [User.Index].
type Licenses interface {
	// AppendAssignedLicenses appends user i's assignedLicenses as a JSON
	// array to dst.
	AppendAssignedLicenses(dst []byte, i int) []byte
	// AppendAssignedPlans appends user i's assignedPlans as a JSON array
	// to dst.
	AppendAssignedPlans(dst []byte, i int) []byte
	// HasSku reports whether user i has the SKU sku assigned.
	HasSku(i int, sku [16]byte) bool
	// LicenseCount is how many SKUs user i has assigned (the filter
	// `assignedLicenses/$count eq N`).
	LicenseCount(i int) int
}

// SetLicenses makes l the source of the directory's license properties.
// Call it before the directory is used concurrently (right after [New]);
// without it users have no licenses (assignedLicenses is []).
func (d *Directory) SetLicenses(l Licenses) { d.lic = l }

// Declared properties that [Licenses] fills in.
var (
	pAssignedLicenses, _ = lookupDeclared("assignedLicenses")
	pAssignedPlans, _    = lookupDeclared("assignedPlans")
)

// appendLicenseProp appends a license property of u from lic; ok is false
// for any other property (or without lic).
func appendLicenseProp(dst []byte, u *User, p prop, lic Licenses) ([]byte, bool) {
	switch {
	case lic == nil:
		return dst, false
	case p == pAssignedLicenses:
		return lic.AppendAssignedLicenses(dst, u.Index), true
	case p == pAssignedPlans:
		return lic.AppendAssignedPlans(dst, u.Index), true
	}
	return dst, false
}

// AppendUser is [User.AppendSelected] with the license properties the
// directory's [Licenses] supply.
func (d *Directory) AppendUser(dst []byte, u User, names []string) ([]byte, []string, error) {
	return u.appendSelected(dst, names, d.lic)
}

// licensed reports, for the evaluator, whether a record has the SKU.
func (g *gen) licensed(sku [16]byte) bool { return g.d.lic != nil && g.d.lic.HasSku(g.i, sku) }

// licensed is false for a bare User: only the directory knows licenses.
func (u *User) licensed([16]byte) bool { return false }

// licenseCount is the number of SKUs a record has assigned.
func (g *gen) licenseCount() int {
	if g.d.lic == nil {
		return 0
	}
	return g.d.lic.LicenseCount(g.i)
}

// licenseCount is 0 for a bare User: only the directory knows licenses.
func (u *User) licenseCount() int { return 0 }

func (u dirUser) licenseCount() int {
	if u.d.lic == nil {
		return 0
	}
	return u.d.lic.LicenseCount(u.Index)
}

// dirUser is a materialized user of directory d, for the evaluator.
type dirUser struct {
	*User
	d *Directory
}

func (u dirUser) licensed(sku [16]byte) bool { return u.d.lic != nil && u.d.lic.HasSku(u.Index, sku) }

// licenseNode is `assignedLicenses/any(v:v/skuId eq {guid})`.
type licenseNode struct {
	varName string
	sku     [16]byte
}

func (n *licenseNode) eval(r record, _ string) bool { return r.licensed(n.sku) }

func (n *licenseNode) print(b *strings.Builder, _ int) {
	fmt.Fprintf(b, "assignedLicenses/any(%s:%s/skuId eq %s)", n.varName, n.varName, formatUUID(n.sku))
}

// parseLicenseLambda parses `/any(v:v/skuId eq {guid})` after
// assignedLicenses; the current token is the '/'. The skuId is an
// Edm.Guid: unquoted.
func (p *parser) parseLicenseLambda() (node, error) {
	if err := p.next(); err != nil { // the '/'
		return nil, err
	}
	if !p.tok.is("any") {
		if p.tok.is("all") {
			return nil, badRequest(CodeUnsupportedQuery, "The lambda operator 'all' is not supported on resource 'User'.")
		}
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected 'any' after 'assignedLicenses/', found %s", p.tok.describe()))
	}
	if err := p.next(); err != nil {
		return nil, err
	}
	if err := p.expect(tokLParen, "'(' after 'any'"); err != nil {
		return nil, err
	}
	if p.lambdaVar != "" {
		return nil, badRequest(CodeUnsupportedQuery, "Nested lambda operators are not supported on resource 'User'.")
	}
	if p.tok.kind != tokIdent || isKeyword(p.tok.text) {
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected a range variable, found %s", p.tok.describe()))
	}
	v := p.tok.text
	for _, step := range []struct {
		kind tokKind
		text string
	}{{tokIdent, ""}, {tokColon, ":"}, {tokIdent, v}, {tokSlash, "/"}, {tokIdent, "skuId"}, {tokIdent, "eq"}} {
		if step.text != "" && step.kind == tokIdent && !strings.EqualFold(p.tok.text, step.text) ||
			p.tok.kind != step.kind {
			return nil, badRequest(CodeUnsupportedQuery, "Only assignedLicenses/any(%s:%s/skuId eq {skuId}) is supported on 'assignedLicenses'.", v, v)
		}
		if step.text == "eq" {
			break
		}
		if err := p.next(); err != nil {
			return nil, err
		}
	}
	// The GUID literal: scan it from the source, as the tokenizer splits
	// a GUID that starts with a letter.
	start := p.off
	for start < len(p.src) && isBlank(p.src[start]) {
		start++
	}
	end := start
	for end < len(p.src) && (isIdentPart(p.src[end]) || p.src[end] == '-' || p.src[end] == '\'') {
		end++
	}
	lit := p.src[start:end]
	if strings.HasPrefix(lit, "'") {
		return nil, mismatch("Edm.Guid", "Edm.String", "Equal")
	}
	sku, ok := parseUUID(lit)
	if !ok {
		return nil, p.syntax(start, fmt.Sprintf("'%s' is not a valid Edm.Guid literal", lit))
	}
	p.off = end
	if err := p.next(); err != nil {
		return nil, err
	}
	return &licenseNode{varName: v, sku: sku}, p.expect(tokRParen, "')'")
}
