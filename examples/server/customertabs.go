package main

// customerTab is one tab of the customer page: each is its own URL
// (/?customer=...&tab=name), rendered by the server with only its panel
// shown, so a tab is linkable and works without script.
type customerTab struct {
	Name, Label string
	Selected    bool
}

// customerTabNames are the customer page's tabs in order; the first is
// the default.
var customerTabNames = [...][2]string{
	{"connection", "Connection"},
	{"users", "Users"},
	{"voice", "Voice"},
	{"quality", "Call quality"},
	{"activity", "Activity"},
}

// customerTabs returns the tab asked for (the first one when it names
// none of them) and every tab with that one selected.
func customerTabs(asked string) (string, []customerTab) {
	tab := customerTabNames[0][0]
	for _, t := range customerTabNames {
		if t[0] == asked {
			tab = asked
		}
	}
	tabs := make([]customerTab, 0, len(customerTabNames))
	for _, t := range customerTabNames {
		tabs = append(tabs, customerTab{Name: t[0], Label: t[1], Selected: t[0] == tab})
	}
	return tab, tabs
}
