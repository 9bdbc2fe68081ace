package directory

// MaxInValues is the largest number of values Graph accepts in an `in` list.
const MaxInValues = 15

// Validate applies Graph's rules for filtering users: which operators each
// property supports, and which only in an advanced query (request header
// ConsistencyLevel: eventual together with $count=true; pass advanced =
// true for those). It returns nil or a *[QueryError] with Status 400 and
// Code [CodeUnsupportedQuery], as Graph answers:
//
//   - ne, not and endsWith need an advanced query; endsWith works only on
//     mail, otherMails, userPrincipalName and proxyAddresses;
//   - companyName, officeLocation, mobilePhone, postalCode,
//     preferredLanguage and streetAddress are filterable only in advanced
//     queries; comparisons with null too, and not on id, accountEnabled,
//     usageLocation or userPrincipalName;
//   - accountEnabled, userType and id support eq and in, not startsWith;
//   - an `in` list holds at most [MaxInValues] values;
//   - ge and le only where the table has them (per operator);
//   - `collection/$count eq|ne N` only in advanced queries.
//
// The rules follow Microsoft's table "Advanced query capabilities on Microsoft
// Entra ID objects" (filter-directory-objects).
func (e Expr) Validate(advanced bool) error {
	if e.root == nil {
		return nil
	}
	return validate(e.root, advanced, pVar)
}

// validate checks n; coll is the collection property of the enclosing
// lambda (pVar outside one).
func validate(n node, advanced bool, coll prop) error {
	switch n := n.(type) {
	case *logicNode:
		for _, t := range n.terms {
			if err := validate(t, advanced, coll); err != nil {
				return err
			}
		}
	case *notNode:
		if _, ok := n.x.(*identityNode); ok { // the filter table: eq only
			return unsupportedIdentities()
		}
		if !advanced {
			return unsupportedOperator("not")
		}
		return validate(n.x, advanced, coll)
	case *cmpNode:
		if err := checkEq(n.o, coll, []literal{n.lit}, advanced); err != nil {
			return err
		}
		if n.ne && !advanced {
			return unsupportedOperator("ne")
		}
	case *inNode:
		if len(n.lits) > MaxInValues {
			return badRequest(CodeUnsupportedQuery, "Too many child clauses specified in search filter expression containing 'OR' operators: %d. Max allowed: %d.", len(n.lits), MaxInValues)
		}
		return checkEq(n.o, coll, n.lits, advanced)
	case *funcNode:
		p, err := target(n.o, coll)
		if err != nil {
			return err
		}
		if n.ends {
			if !props[p].endsWith {
				return unsupportedClause(p)
			}
			if !advanced {
				return unsupportedOperator("endsWith")
			}
			return nil
		}
		return need(props[p].startsWith, p, advanced)
	case *rangeNode:
		return checkRange(n, coll, advanced)
	case *countNode:
		if !advanced {
			return badRequest(CodeUnsupportedQuery, "Unsupported or invalid query filter clause specified for property '%s' of resource 'User'. $count in a filter needs the ConsistencyLevel: eventual header and $count=true.", propName(n.p))
		}
	case *anyNode:
		return validate(n.body, advanced, n.p)
	case *dateNode:
		switch {
		case n.op == dateNe && !advanced:
			return unsupportedOperator("ne")
		case n.op == dateIn && !advanced:
			return badRequest(CodeUnsupportedQuery, "Unsupported or invalid query filter clause specified for property 'createdDateTime' of resource 'User'.")
		}
	case *licenseNode:
		// By default: the filter table lists eq on assignedLicenses as
		// default (not as advanced), and the user list reference's
		// example 9 sends it without the advanced parameters.
	}
	return nil
}

// target is the property an operand filters on: inside a lambda the range
// variable stands for the collection; other properties are not allowed there.
func target(o operand, coll prop) (prop, error) {
	switch {
	case o.p == pVar:
		return coll, nil
	case coll != pVar:
		return 0, badRequest(CodeUnsupportedQuery, "Only the range variable may be used inside a lambda operator on '%s'.", props[coll].name)
	}
	return o.p, nil
}

// checkEq checks eq, ne or in of o against lits.
func checkEq(o operand, coll prop, lits []literal, advanced bool) error {
	p, err := target(o, coll)
	if err != nil {
		return err
	}
	if err := need(props[p].eq, p, advanced); err != nil {
		return err
	}
	for _, l := range lits {
		if l.kind != litNull {
			continue
		}
		if o.p == pVar {
			return unsupportedClause(p)
		}
		if err := need(props[p].null, p, advanced); err != nil {
			return err
		}
	}
	return nil
}

// need checks that a capability with support s is available.
func need(s support, p prop, advanced bool) error {
	if s == unsupported || (s == advancedOnly && !advanced) {
		return unsupportedClause(p)
	}
	return nil
}
