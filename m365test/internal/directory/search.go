package directory

import (
	"strings"
	"unicode"
)

// searchProps are the user properties $search reads (Graph's "Use the
// $search query parameter": displayName, givenName, surname, mail,
// mailNickname, userPrincipalName, jobTitle, department...); the fake
// searches these.
var searchProps = map[string]prop{
	"displayname": pDisplayName, "givenname": pGivenName, "surname": pSurname, "mail": pMail,
	"mailnickname": pMailNickname, "userprincipalname": pUserPrincipalName, "jobtitle": pJobTitle,
	"department": pDepartment, "officelocation": pOfficeLocation,
}

// search is a parsed $search: "property:value" clauses joined by AND or
// OR (one operator for the whole expression).
type search struct {
	raw     string
	clauses []searchClause
	or      bool
}

type searchClause struct {
	p     prop
	value string // lower case
}

// parseSearch parses $search as Graph documents it for directory objects:
// each clause in double quotes, "property:value", joined by AND or OR.
func parseSearch(raw string) (*search, error) {
	s := &search{raw: raw}
	rest := strings.TrimSpace(raw)
	op := ""
	for rest != "" {
		if !strings.HasPrefix(rest, `"`) {
			return nil, badRequest(CodeRequestBadRequest, "Invalid $search: each clause must be in double quotes, as \"displayName:value\".")
		}
		end := strings.Index(rest[1:], `"`)
		if end < 0 {
			return nil, badRequest(CodeRequestBadRequest, "Invalid $search: unterminated quote.")
		}
		clause := rest[1 : end+1]
		rest = strings.TrimSpace(rest[end+2:])
		name, value, ok := strings.Cut(clause, ":")
		p, known := searchProps[strings.ToLower(strings.TrimSpace(name))]
		if !ok || !known || strings.TrimSpace(value) == "" {
			return nil, badRequest(CodeRequestBadRequest, "Invalid $search clause '%s': use \"property:value\" on a searchable property.", clause)
		}
		s.clauses = append(s.clauses, searchClause{p: p, value: strings.ToLower(strings.TrimSpace(value))})
		if rest == "" {
			break
		}
		word, after, _ := strings.Cut(rest, " ")
		w := strings.ToUpper(word)
		if (w != "AND" && w != "OR") || (op != "" && op != w) {
			return nil, badRequest(CodeRequestBadRequest, "Invalid $search: clauses are joined by AND or OR, one operator per expression.")
		}
		op, rest = w, strings.TrimSpace(after)
	}
	if len(s.clauses) == 0 {
		return nil, badRequest(CodeRequestBadRequest, "Invalid $search: empty.")
	}
	s.or = op == "OR"
	return s, nil
}

// match reports whether u matches: a clause matches when the property's
// value, or one of its words (split at spaces and punctuation), starts
// with the clause's value, case-insensitively (Graph's tokenized search
// matches word prefixes).
func (s *search) match(u *User) bool {
	for _, c := range s.clauses {
		v, _ := u.str(c.p)
		ok := tokenPrefix(strings.ToLower(v), c.value)
		if s.or && ok {
			return true
		}
		if !s.or && !ok {
			return false
		}
	}
	return !s.or
}

func tokenPrefix(v, q string) bool {
	if strings.HasPrefix(v, q) {
		return true
	}
	for i, r := range v {
		if !unicode.IsLetter(r) && !unicode.IsDigit(r) && strings.HasPrefix(v[i+len(string(r)):], q) {
			return true
		}
	}
	return false
}
