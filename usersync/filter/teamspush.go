package filter

import (
	"fmt"
	"strings"

	"github.com/tenantgate/tenantgate/usersync/filter/internal/syntax"
)

// sides says which endpoints a node's attributes come from.
type sides struct{ entra, teams bool }

func sidesOf(n node) sides {
	var s sides
	var walk func(node)
	walk = func(n node) {
		switch n := n.(type) {
		case andNode:
			for _, c := range n {
				walk(c)
			}
		case orNode:
			for _, c := range n {
				walk(c)
			}
		case *leaf:
			if n.attr.Teams {
				s.teams = true
			} else {
				s.entra = true
			}
		}
	}
	walk(n)
	return s
}

// teamsAccountTypes maps accountType values, lower-cased, to Graph's
// spelling of the enum member.
var teamsAccountTypes = map[string]string{
	"user": "user", "resourceaccount": "resourceAccount", "guest": "guest",
	"sfbonpremuser": "sfbOnPremUser", "unknown": "unknown", "ineligibleuser": "ineligibleUser",
}

// pushTeams compiles a Teams-only part to a $filter for
// /admin/teams/userConfigurations, or says why it stays client-side. Only
// forms whose Graph result includes every user the part matches are
// produced (so dropping the users Graph leaves out is exact); negations
// are never pushed, because a user without a configuration reads null
// and -ne/-notlike match null.
func pushTeams(n node) (string, string) {
	switch n := n.(type) {
	case *leaf:
		return pushTeamsLeaf(n)
	case andNode:
		parts := make([]string, 0, len(n))
		for _, k := range n {
			f, reason := pushTeams(k)
			if reason != "" {
				return "", reason
			}
			if _, ok := k.(orNode); ok {
				f = "(" + f + ")"
			}
			parts = append(parts, f)
		}
		return strings.Join(parts, " and "), ""
	case orNode:
		parts := make([]string, 0, len(n))
		for _, k := range n {
			f, reason := pushTeams(k)
			if reason != "" {
				return "", fmt.Sprintf("its -or branch %s has no userConfigurations $filter form (%s)", k.source(), reason)
			}
			if _, ok := k.(andNode); ok {
				f = "(" + f + ")"
			}
			parts = append(parts, f)
		}
		return strings.Join(parts, " or "), ""
	}
	return "", "unknown node"
}

func pushTeamsLeaf(l *leaf) (string, string) {
	if l.neg {
		return "", "a negated Teams comparison has no userConfigurations $filter form (users without a configuration match it)"
	}
	lit := l.lit
	if l.like {
		if l.pat.shape != shapeExact && l.pat.shape != shapePrefix {
			return "", fmt.Sprintf("the pattern %s has no userConfigurations $filter form", l.lit)
		}
		lit = syntax.Literal{Kind: syntax.LitString, Str: l.pat.lit}
	}
	if lit.Kind == syntax.LitNull {
		return "", "a $null test has no userConfigurations $filter form"
	}
	prefix := l.like && l.pat.shape == shapePrefix
	switch p := l.attr.Graph; {
	case p == TeamsEnterpriseVoiceEnabled:
		return fmt.Sprintf("isEnterpriseVoiceEnabled eq %t", lit.Kind == syntax.LitTrue), ""
	case p == TeamsAccountType:
		v, ok := teamsAccountTypes[strings.ToLower(lit.Str)]
		if !ok || prefix {
			return "", fmt.Sprintf("%s is not an accountType value", lit)
		}
		return "accountType eq " + quote(v), ""
	case p == TeamsFeatureTypes:
		if prefix {
			return "featureTypes/any(x:startsWith(x," + quote(lit.Str) + "))", ""
		}
		return "featureTypes/any(x:x eq " + quote(lit.Str) + ")", ""
	case p == TeamsLineURI:
		num, ok := cutPrefixFold(lit.Str, "tel:")
		if !ok || num == "" {
			return "", "only a LineUri starting with tel: and a number has a userConfigurations $filter form"
		}
		// LineUri is the primary number; any number matching is a superset.
		if prefix {
			return "telephoneNumbers/any(t:startsWith(t/telephoneNumber," + quote(num) + "))", ""
		}
		return "telephoneNumbers/any(t:t/telephoneNumber eq " + quote(num) + ")", ""
	case strings.HasPrefix(p, TeamsPolicyPrefix):
		if prefix {
			return "", "a policy name pattern has no userConfigurations $filter form"
		}
		return "effectivePolicyAssignments/any(p:p/policyType eq " + quote(strings.TrimPrefix(p, TeamsPolicyPrefix)) +
			" and p/policyAssignment/displayName eq " + quote(lit.Str) + ")", ""
	}
	return "", "no userConfigurations $filter form"
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}
