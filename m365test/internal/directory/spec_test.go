package directory

import "fmt"

// This file is the test's own reading of the demo data specification
// (package m365test's documentation, "Demo data"), written
// independently of the generator so the tests compare two implementations.

const (
	specTenant  = "3F2504E0-4F89-11D3-9A0C-0305E82C3301"
	specDomain  = "contoso.onmicrosoft.com"
	specCompany = "Contoso Ltd"
	specN       = 50000
)

// specUser is one user as the spec describes it.
type specUser struct {
	upn, display, usage, country, city, dept, title string
	enabled                                         bool
}

// specUsers lists the tenant in listing order: the Global Admin, then users
// 0..n-1.
func specUsers(domain string, n int) []specUser {
	usage := []string{"US", "GB", "DE", "FR", "IT", "ES", "NL", "SE", "PL", "JP"}
	country := []string{"United States", "United Kingdom", "Germany", "France", "Italy", "Spain", "Netherlands", "Sweden", "Poland", "Japan"}
	city := []string{"Seattle", "London", "Berlin", "Paris", "Milan", "Madrid", "Amsterdam", "Stockholm", "Warsaw", "Tokyo"}
	dept := []string{"Sales", "Engineering", "Support", "Finance", "Marketing"}
	title := []string{"Engineer", "Manager", "Analyst", "Director"}
	out := []specUser{{
		upn: "admin@" + domain, display: "Global Admin", usage: "US", country: "United States",
		city: "Seattle", dept: "Administration", title: "Global Administrator", enabled: true,
	}}
	for i := 0; i < n; i++ {
		out = append(out, specUser{
			upn:     fmt.Sprintf("user%05d@%s", i, domain),
			display: fmt.Sprintf("User %05d", i),
			usage:   usage[i%10], country: country[i%10], city: city[i%10],
			dept:    dept[(i/10)%5],
			title:   title[(i/50)%4],
			enabled: i%20 != 19,
		})
	}
	return out
}
