package directory

import (
	"fmt"
	"strings"
)

// Identity is one objectIdentity of a user: how it signs in.
type Identity struct {
	// SignInType is emailAddress, userName, federated, or another
	// string (userPrincipalName identities derive from the user's
	// userPrincipalName and are not kept here).
	SignInType string
	// Issuer is the identity's issuer: a domain, or for federated
	// identities the provider ("facebook.com", "ExternalAzureAD").
	Issuer string
	// IssuerAssignedID is the user's name at the issuer; "" is null.
	IssuerAssignedID string
}

// identityList is the evaluator's view of a record's identities besides
// the userPrincipalName one.
func (u *User) identityList() []Identity { return u.Identities }

// identityList is nil for a generated user: it has only its
// userPrincipalName identity.
func (g *gen) identityList() []Identity { return nil }

// issuersAlone are the issuers a filter may name without an
// issuerAssignedId (objectIdentity resource, "Filtering").
var issuersAlone = []string{"google.com", "facebook.com", "mail", "phone"}

// identityNode is `identities/any(v:v/issuerAssignedId eq 'x' and
// v/issuer eq 'y')`, or `identities/any(v:v/issuer eq 'y')` for the
// issuers of issuersAlone.
type identityNode struct {
	varName    string
	issuer     string
	assignedID string
	hasID      bool
}

// eval follows the objectIdentity resource's filtering rules: a
// userPrincipalName identity is never found this way (filter on
// userPrincipalName instead); userName and emailAddress identities
// (emailAddress1 and the like too) match on issuerAssignedId alone, the
// issuer ignored; others (federated) need both to match.
func (n *identityNode) eval(r record, _ string) bool {
	for _, id := range r.identityList() {
		if strings.EqualFold(id.SignInType, "userPrincipalName") {
			continue
		}
		if !n.hasID {
			if strings.EqualFold(id.Issuer, n.issuer) {
				return true
			}
			continue
		}
		if id.IssuerAssignedID == "" || !strings.EqualFold(id.IssuerAssignedID, n.assignedID) {
			continue
		}
		local := strings.EqualFold(id.SignInType, "userName") || hasPrefixFold(id.SignInType, "emailAddress")
		if local || strings.EqualFold(id.Issuer, n.issuer) {
			return true
		}
	}
	return false
}

func (n *identityNode) print(b *strings.Builder, _ int) {
	v := n.varName
	fmt.Fprintf(b, "identities/any(%s:", v)
	if n.hasID {
		fmt.Fprintf(b, "%s/issuerAssignedId eq ", v)
		literal{kind: litString, s: n.assignedID}.print(b)
		b.WriteString(" and ")
	}
	fmt.Fprintf(b, "%s/issuer eq ", v)
	literal{kind: litString, s: n.issuer}.print(b)
	b.WriteByte(')')
}

// unsupportedIdentities is Graph's answer to an identities filter of
// another shape.
func unsupportedIdentities() *QueryError {
	return badRequest(CodeUnsupportedQuery, "Unsupported or invalid query filter clause specified for property 'identities' of resource 'User'.")
}

// parseIdentityLambda parses `/any(v: ...)` after identities; the current
// token is the '/'. The body is `v/issuerAssignedId eq '...' and v/issuer
// eq '...'` in either order, or `v/issuer eq '...'` alone for google.com,
// facebook.com, mail and phone (objectIdentity resource, "Filtering": "you
// must supply both issuer and issuerAssignedId"). Any other body, `all`,
// ne and in are refused with Request_UnsupportedQuery.
func (p *parser) parseIdentityLambda() (node, error) {
	if err := p.next(); err != nil { // the '/'
		return nil, err
	}
	switch {
	case p.tok.is("any"):
	case p.tok.is("all"):
		return nil, badRequest(CodeUnsupportedQuery, "The lambda operator 'all' is not supported on resource 'User'.")
	default:
		return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected 'any' after 'identities/', found %s", p.tok.describe()))
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
	n := &identityNode{varName: p.tok.text}
	if err := p.next(); err != nil {
		return nil, err
	}
	if err := p.expect(tokColon, "':' after the range variable"); err != nil {
		return nil, err
	}
	var hasIssuer bool
	for {
		// v/property eq 'value'
		if p.tok.kind != tokIdent || p.tok.text != n.varName {
			return nil, unsupportedIdentities()
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		if err := p.expect(tokSlash, "'/' after the range variable"); err != nil {
			return nil, err
		}
		name := p.tok
		if name.kind != tokIdent {
			return nil, p.syntax(name.pos, fmt.Sprintf("expected a property of objectIdentity, found %s", name.describe()))
		}
		var dst *string
		switch {
		case strings.EqualFold(name.text, "issuer") && !hasIssuer:
			dst, hasIssuer = &n.issuer, true
		case strings.EqualFold(name.text, "issuerAssignedId") && !n.hasID:
			dst, n.hasID = &n.assignedID, true
		case strings.EqualFold(name.text, "signInType"), strings.EqualFold(name.text, "issuer"), strings.EqualFold(name.text, "issuerAssignedId"):
			return nil, unsupportedIdentities()
		default:
			return nil, &QueryError{Status: 400, Code: CodeBadRequest,
				Message: fmt.Sprintf("Could not find a property named '%s' on type 'microsoft.graph.objectIdentity'.", name.text)}
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		if !p.tok.is("eq") {
			return nil, unsupportedIdentities()
		}
		if err := p.next(); err != nil {
			return nil, err
		}
		if p.tok.kind != tokString {
			if p.tok.kind == tokIdent || p.tok.kind == tokNumber {
				return nil, mismatch("Edm.String", "Edm.Int32", "Equal")
			}
			return nil, p.syntax(p.tok.pos, fmt.Sprintf("expected a string literal, found %s", p.tok.describe()))
		}
		*dst = p.tok.text
		if err := p.next(); err != nil {
			return nil, err
		}
		if !p.tok.is("and") {
			break
		}
		if err := p.next(); err != nil {
			return nil, err
		}
	}
	if err := p.expect(tokRParen, "')'"); err != nil {
		return nil, err
	}
	switch {
	case !hasIssuer:
		return nil, badRequest(CodeUnsupportedQuery, "Filtering on identities by issuerAssignedId needs the issuer too: identities/any(c:c/issuerAssignedId eq '...' and c/issuer eq '...').")
	case !n.hasID:
		ok := false
		for _, is := range issuersAlone {
			ok = ok || strings.EqualFold(n.issuer, is)
		}
		if !ok {
			return nil, unsupportedIdentities()
		}
	}
	return n, nil
}
