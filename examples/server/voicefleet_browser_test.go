package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedVoiceSummaries gives 300 more customers (t000 to t299) a voice
// summary, as the after-sync job and the range checks would leave it
// (their tenants are not in the fake): customer i has 10+i voice users,
// i%7 without a number and i%3 without a voice routing policy, and a
// range "Main" of 100 numbers with i*37%100 free, so t000, t100 and t200
// are exhausted.
func seedVoiceSummaries(t *testing.T, d *demo) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.a.cfg.DataDir, "tenantgate.db")+"?_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	defer db.Close()
	at := time.Now().UnixNano()
	for i := range 300 {
		users, free := 10+i, i*37%100
		notReady := map[string]int{}
		if i%7 > 0 {
			notReady["primaryNumber"] = i % 7
		}
		if i%3 > 0 {
			notReady["voiceRoutingPolicy"] = i % 3
		}
		u, _ := json.Marshal(map[string]any{"users": users, "ready": users - i%7 - i%3, "notReady": notReady})
		level := "ok"
		switch {
		case free == 0:
			level = "exhausted"
		case free <= 10:
			level = "low"
		}
		r, _ := json.Marshal([]map[string]any{{"name": "Main", "type": "directRouting", "numbers": 100, "free": free, "level": level}})
		_, err := db.ExecContext(t.Context(), `INSERT INTO tenantgate_voice_summaries (customer, users, users_at, ranges, ranges_at) VALUES (?, ?, ?, ?, ?)`,
			fmt.Sprintf("t%03d", i), string(u), at, string(r), at)
		require.NoError(t, err)
	}
}

// TestBrowserVoiceFleet: Teams Phone across a fleet of 301 customers at
// 1366x768: the demo customer counted from its tenant (1,000 users),
// 300 more seeded; search by name, show only those with a range running
// low sorted by fewest free numbers (the exhausted ones first), every
// choice in the URL, the next page, and each row linking to the
// customer's Teams Phone page.
func TestBrowserVoiceFleet(t *testing.T) {
	t.Parallel()
	step := browserAt(t, 240*time.Second)
	d := startDemo(t, t.TempDir(), "-demo-users", "1000")
	connectWithoutBrowser(t, d)
	ictx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	require.NoError(t, inventoryRead(ictx, d, 1000))
	_, err := d.a.voice.Refresh(t.Context(), "contoso") // the ranges' free numbers
	require.NoError(t, err)
	cv, err := d.a.voice.Summarize(t.Context(), "contoso")
	require.NoError(t, err)
	assert.Equal(t, 334, cv.Users, "every third of 1,000 users")
	seedVoiceSummaries(t, d)

	var info, first, href, url1 string
	var rows []string
	step("the fleet's Teams Phone",
		d.logIn(),
		chromedp.Navigate(d.base+"/customers"),
		chromedp.Click(css(`#voice-fleet-link`)),
		chromedp.WaitVisible(css(`#fleet-voice tr[data-customer="contoso"]`)),
		into(&info, chromedp.Text(css(`#page-info`))),
		into(&rows, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#fleet-voice tbody tr")).map(r => r.dataset.customer)`)),
		into(&href, chromedp.Evaluate[string](`document.querySelector('#fleet-voice tr[data-customer="contoso"] a').getAttribute("href")`)),
		viewportShot("24-voice-fleet"),
	)
	assert.Equal(t, "301 customers match, 50 a page.", info)
	require.Len(t, rows, 50)
	assert.Equal(t, "contoso", rows[0])
	assert.Equal(t, "/voice?customer=contoso", href)

	step("search by name",
		chromedp.SendKeys(css(`#f-search`), "Contoso Ltd"),
		chromedp.Click(css(`#apply`)),
		chromedp.WaitNotPresent(css(`#fleet-voice tr[data-customer="t000"]`)),
		chromedp.WaitVisible(css(`#fleet-voice tr[data-customer="contoso"]`)),
		into(&rows, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#fleet-voice tbody tr")).map(r => r.dataset.customer)`)),
		into(&url1, chromedp.Evaluate[string](`location.search`)),
		into(&first, chromedp.Text(css(`#fleet-voice tr[data-customer="contoso"]`))),
		viewportShot("24-voice-fleet-search"),
	)
	assert.Equal(t, []string{"contoso"}, rows)
	assert.Equal(t, "?search=Contoso+Ltd", url1)
	assert.Contains(t, first, "334")

	var level string
	step("ranges running low, fewest free first",
		chromedp.Navigate(d.base+"/voice/fleet"),
		chromedp.WaitVisible(css(`#fleet-voice tr[data-customer="t000"]`)),
		// Both choices, then Apply: one navigation. (Changing a select
		// alone submits the form, so two SetValues would navigate twice
		// and the second could meet a page that is being replaced.)
		into(new(bool), chromedp.Evaluate[bool](`document.getElementById("f-sort").value = "free"; document.getElementById("f-show").value = "low"; true`)),
		chromedp.Click(css(`#apply`)),
		chromedp.WaitVisible(css(`#fleet-voice tbody tr:first-child .badge.level[data-level="exhausted"]`)),
		into(&rows, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#fleet-voice tbody tr")).map(r => r.dataset.customer)`)),
		into(&url1, chromedp.Evaluate[string](`location.search`)),
		into(&level, chromedp.Text(css(`#fleet-voice tbody tr:first-child td:nth-child(5)`))),
		viewportShot("24-voice-fleet-low"),
	)
	assert.Equal(t, "?show=low&sort=free", url1)
	require.GreaterOrEqual(t, len(rows), 3)
	assert.Equal(t, []string{"t000", "t100", "t200"}, rows[:3])
	assert.Equal(t, "Main: 0 free of 100 exhausted", level)

	step("the next page",
		chromedp.Navigate(d.base+"/voice/fleet"),
		chromedp.WaitVisible(css(`#next-page`)),
		chromedp.Click(css(`#next-page`)),
		chromedp.WaitVisible(css(`#fleet-voice tr[data-customer="t049"]`)),
		into(&rows, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("#fleet-voice tbody tr")).map(r => r.dataset.customer)`)),
		into(&info, chromedp.Text(css(`#page-info`))),
	)
	assert.Equal(t, "t049", rows[0])
	assert.Contains(t, info, "a later page")

	step("a row opens the customer's Teams Phone",
		chromedp.Click(css(`#fleet-voice tr[data-customer="t049"] a`)),
		chromedp.WaitVisible(css(`body`)),
		into(&url1, chromedp.Evaluate[string](`location.pathname + location.search`)),
	)
	assert.Equal(t, "/voice?customer=t049", url1)

	// The customer's Teams Phone page reads the inventory again as an
	// operation (202) and follows it to its end.
	var msg string
	step("read the numbers again",
		chromedp.Navigate(d.base+"/voice?customer=contoso"),
		// The ranges are drawn by the page's script after it bound the
		// button: a click before that would be lost.
		chromedp.WaitVisible(css(`#ranges tbody tr[data-range="Milan"]`)),
		chromedp.Click(css(`#numbers-refresh`)),
		chromedp.Poll[chromedp.Void](`document.getElementById("message").textContent.startsWith("Read 1000 numbers")`, chromedp.WithPollingTimeout(60*time.Second)),
		into(&msg, chromedp.Text(css(`#message`))),
	)
	assert.Contains(t, msg, "Read 1000 numbers from Microsoft at ")
}
