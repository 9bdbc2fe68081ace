package directory_test

import (
	"fmt"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// Page through the Italian users of the demo tenant, as GET /v1.0/users does.
func ExampleDirectory_Query() {
	d := directory.New("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "contoso.onmicrosoft.com", "Contoso Ltd", 50000)
	q := directory.Query{
		Filter: "usageLocation eq 'IT'",
		Select: []string{"id", "displayName", "city"},
		Top:    999,
	}
	users, pages := 0, 0
	for {
		res, err := d.Query(q)
		if err != nil {
			fmt.Println(err)
			return
		}
		if pages == 0 {
			u := res.Users[0]
			fmt.Println("first:", u.DisplayName, u.City, u.ID)
			fmt.Printf("as JSON: %.60s...\n", res.Value())
		}
		users += len(res.Users)
		pages++
		if res.NextSkipToken == "" {
			break
		}
		q.SkipToken = res.NextSkipToken // from @odata.nextLink
	}
	fmt.Println(users, "users in", pages, "pages")
	// Output:
	// first: User 00004 Milan aafccc35-6235-5954-9c5f-1993e75d4e1b
	// as JSON: [{"id":"aafccc35-6235-5954-9c5f-1993e75d4e1b","displayName":...
	// 5000 users in 6 pages
}

// Graph refuses operators that need an advanced query.
func ExampleDirectory_Query_advanced() {
	d := directory.New("3f2504e0-4f89-11d3-9a0c-0305e82c3301", "contoso.onmicrosoft.com", "Contoso Ltd", 1000)
	_, err := d.Query(directory.Query{Filter: "accountEnabled ne true"})
	fmt.Println(err.(*directory.QueryError).Code)
	res, _ := d.Query(directory.Query{Filter: "accountEnabled ne true", Count: true, ConsistencyEventual: true})
	fmt.Println(res.Count)
	// Output:
	// Request_UnsupportedQuery
	// 50
}

// Evaluate a compiled $filter the way the fake does.
func ExampleParseFilter() {
	e, err := directory.ParseFilter("startswith(Department,'eng') and not(usageLocation in ('US','GB'))")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)
	fmt.Println(e.Match(directory.User{Department: "Engineering", UsageLocation: "IT"}))
	fmt.Println(e.Validate(false))
	// Output:
	// startsWith(department,'eng') and not(usageLocation in ('US','GB'))
	// true
	// graph 400 Request_UnsupportedQuery: Operator 'not' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information
}
