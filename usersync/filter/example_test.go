package filter_test

import (
	"errors"
	"fmt"

	"github.com/tenantgate/tenantgate/usersync/filter"
)

func ExampleCompile() {
	plan, err := filter.Compile("UsageLocation -eq 'IT'")
	if err != nil {
		panic(err)
	}
	fmt.Println(plan.GraphFilter, plan.Advanced)

	// A mixed filter: Graph evaluates what it can, the rest runs client-side.
	plan, err = filter.Compile("UsageLocation -eq 'IT' -and (Department -eq 'Sales' -or Department -eq 'Support') -and City -like '*ila*'")
	if err != nil {
		panic(err)
	}
	fmt.Println(plan)
	fmt.Println(plan.Select)
	// Output:
	// usageLocation eq 'IT' false
	// $filter: usageLocation eq 'IT' and department in ('Sales','Support')
	// advanced query: no
	// pushed down: UsageLocation -eq 'IT' => usageLocation eq 'IT'
	// pushed down: Department -eq 'Sales' -or Department -eq 'Support' => department in ('Sales','Support')
	// client-side: City -like '*ila*' (Graph has no $filter form for a '*text*' pattern)
	// [city department usageLocation]
}

func ExamplePlan_MatchClientSide() {
	plan, err := filter.Compile("UsageLocation -eq 'IT' -and City -like '*ila*'")
	if err != nil {
		panic(err)
	}
	// Users as Graph returned them for plan.GraphFilter.
	for _, u := range []filter.MapUser{
		{"usageLocation": "IT", "city": "Milan"},
		{"usageLocation": "IT", "city": "Rome"},
	} {
		fmt.Println(u["city"], plan.MatchClientSide(u))
	}
	// Output:
	// Milan true
	// Rome false
}

func ExampleAttributeError() {
	_, err := filter.Compile("UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq 'yes'")
	var ae *filter.AttributeError
	if errors.As(err, &ae) && ae.Kind == filter.InvalidComparison {
		fmt.Println(err)
	}
	// Output:
	// filter: invalid comparison on EnterpriseVoiceEnabled at 28 (line 1, column 29): EnterpriseVoiceEnabled takes $true or $false, not 'yes'
}

// A filter mixing Entra ID and Teams attributes: /users evaluates the
// first part, /admin/teams/userConfigurations (optimistically) the second,
// and the join by user ID re-checks the Teams part.
func ExampleCompile_teams() {
	plan, err := filter.Compile("UsageLocation -eq 'IT' -and EnterpriseVoiceEnabled -eq $true")
	if err != nil {
		panic(err)
	}
	fmt.Println(plan)
	// Output:
	// $filter: usageLocation eq 'IT'
	// advanced query: no
	// pushed down: UsageLocation -eq 'IT' => usageLocation eq 'IT'
	// userConfigurations $filter: isEnterpriseVoiceEnabled eq true (optimistic: without it if Graph refuses it)
	// pushed to userConfigurations: EnterpriseVoiceEnabled -eq $true => isEnterpriseVoiceEnabled eq true (re-checked after the join)
}

func ExampleSyntaxError() {
	_, err := filter.Compile("UsageLocation -eq")
	fmt.Println(err)
	// Output:
	// filter: expected a value after -eq at 17 (line 1, column 18), found end of filter
}
