package directory

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"usageLocation eq 'IT'",
		"startswith(displayName,'O''Brien') and not (city eq 'a' or city in ('b','c'))",
		"NOT startsWith(displayName, 'Conf')",
		"endsWith(mail,'@contoso.com') and accountEnabled ne false",
		"proxyAddresses/any (p:endsWith(p, 'OnMicrosoft.com'))",
		"otherMails/any(x:x eq 'a' or startsWith(x,'b'))",
		"state eq null or companyName ne null",
		"((((city eq 'a'))))",
		"city eq 'x",
		"city eq 5",
		"frob(x)",
		"",
		"not",
		"city in ()",
		"city eq 'ä\x00'",
		"assignedLicenses/any(x:x/skuId eq e43b5b99-8dfb-405f-9987-dc307f34bcbd) and usageLocation eq 'IT'",
		"not(assignedLicenses/any(s: s/skuId eq 05E9A617-0261-4cee-bb44-138d3ef5d965))",
		"assignedLicenses/any(x:x/skuId eq 'e43b5b99-8dfb-405f-9987-dc307f34bcbd')",
		"assignedLicenses/any(x:x/disabledPlans eq 1)",
		"surname ge '00010' and surname le '00012'",
		"otherMails/any(m:m le 'b') or accountEnabled ge true",
		"city ge null",
		"assignedLicenses/$count eq 0 and businessPhones/$COUNT ne 1",
		"proxyAddresses/$count eq -1",
		"city/$count eq 0",
		"$count eq 0",
	} {
		f.Add(s)
	}
	d := New(specTenant, specDomain, specCompany, 100)
	samples := []User{d.Admin(), d.UserAt(0), d.UserAt(19), d.UserAt(42), d.UserAt(99),
		{Index: -3, DisplayName: "O'Brien", OtherMails: []string{"b@x", "a"}, State: "WA"}}
	f.Fuzz(func(t *testing.T, filter string) {
		e, err := ParseFilter(filter)
		if err != nil {
			var qe *QueryError
			require.ErrorAs(t, err, &qe, "ParseFilter(%q) error is not a QueryError", filter)
			require.Equal(t, 400, qe.Status, "ParseFilter(%q) error %#v", filter, err)
			require.NotEmpty(t, qe.Code, "ParseFilter(%q) error %#v", filter, err)
			require.NotEmpty(t, qe.Message, "ParseFilter(%q) error %#v", filter, err)
			return
		}
		require.False(t, e.IsZero(), "ParseFilter(%q) returned the empty filter without error", filter)
		s := e.String()
		e2, err := ParseFilter(s)
		require.NoError(t, err, "ParseFilter(%q) ok, but its String %q does not parse", filter, s)
		require.Equal(t, s, e2.String(), "unstable: %q -> %q -> String", filter, s)
		for _, u := range samples {
			require.Equal(t, e.Match(u), e2.Match(u), "%q and %q disagree on user %d", filter, s, u.Index)
		}
		for _, adv := range []bool{false, true} {
			if err := e.Validate(adv); err != nil {
				var qe *QueryError
				require.ErrorAs(t, err, &qe, "Validate(%q, %v)", filter, adv)
				require.Equal(t, CodeUnsupportedQuery, qe.Code, "Validate(%q, %v) = %#v", filter, adv, err)
			}
			require.Equal(t, e.Validate(adv) == nil, e2.Validate(adv) == nil, "%q and %q validate differently", filter, s)
		}
		_, _ = d.Query(Query{Filter: filter, Top: 3, Count: true, ConsistencyEventual: true})
	})
}

func FuzzSkipToken(f *testing.F) {
	d := New(specTenant, specDomain, specCompany, 100)
	res, err := d.Query(Query{Top: 7})
	require.NoError(f, err)
	f.Add(res.NextSkipToken)
	res, _ = d.Query(Query{Top: 7, SkipToken: res.NextSkipToken})
	f.Add(res.NextSkipToken)
	for _, s := range []string{"", "AQ", "AQAA", "////", "not a token", "AQcAAAAAAAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if tok == "" {
			return
		}
		res, err := d.Query(Query{Top: 7, SkipToken: tok})
		if err != nil {
			var qe *QueryError
			require.ErrorAs(t, err, &qe, "token %q", tok)
			require.Equal(t, 400, qe.Status, "token %q: %#v", tok, err)
			require.Equal(t, CodeRequestBadRequest, qe.Code, "token %q: %#v", tok, err)
			return
		}
		// Only a token this directory issued can get here: it starts a
		// page at a position the directory handed out.
		require.NotEmpty(t, res.Users, "token %q accepted but the page is empty", tok)
	})
}
