package httpapi

import (
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func init() {
	maps.Copy(schemaTypes, map[string]reflect.Type{
		"QoESubscription":     reflect.TypeFor[qoeSubscriptionJSON](),
		"QoESummary":          reflect.TypeFor[qoeSummaryJSON](),
		"QoECallPage":         reflect.TypeFor[qoeCallPageJSON](),
		"QoEPSTN":             reflect.TypeFor[qoePSTNJSON](),
		"QoEValidationReport": reflect.TypeFor[qoeReportJSON](),
	})
}

func TestQoERoutes(t *testing.T) {
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	for _, c := range []struct {
		path   string
		status int
		code   string
	}{
		{"/customers/a/qoe/summary?from=2026-01-01&to=2026-01-31", 200, ""},
		{"/customers/a/qoe/summary?from=2026-02-01&to=2026-01-31", 400, codeBadQuery},
		{"/customers/a/qoe/summary?from=2020-01-01&to=2026-01-31", 400, codeBadQuery},
		{"/customers/a/qoe/summary?to=yesterday", 400, codeBadQuery},
		{"/customers/a/qoe/calls?poor=maybe", 400, codeBadQuery},
		{"/customers/a/qoe/calls?limit=0", 400, codeBadQuery},
		{"/customers/a/qoe/calls?after=bogus", 400, codeBadCursor},
		{"/customers/a/qoe/calls?from=2026-01-02&to=2026-01-01", 400, codeBadQuery},
		{"/customers/a/qoe/pstn", 200, ""},
	} {
		w := e.do(t, "GET", c.path, tokenA, nil)
		if w.Code != c.status || (c.code != "" && !contains(w.Body.String(), `"code":"`+c.code+`"`)) {
			t.Errorf("%s: %d %s", c.path, w.Code, w.Body)
		}
	}
	// Another customer's admin is refused.
	if w := e.do(t, "GET", "/customers/a/qoe/summary", tokenB, nil); w.Code != http.StatusForbidden {
		t.Errorf("admin of b: %d", w.Code)
	}
	// The summary lists every day of the range.
	s := decode[qoeSummaryJSON](t, e.do(t, "GET", "/customers/a/qoe/summary?from=2026-01-01&to=2026-01-31", tokenA, nil), 200)
	if len(s.Days) != 31 || s.Days[0].Date != "2026-01-01" || s.Subscription.State != "none" {
		t.Errorf("summary %+v", s)
	}
	// Validation without QoE settings says what to do.
	v := decode[qoeReportJSON](t, e.do(t, "POST", "/customers/a/m365/qoe/validate", tokenA, nil), 200)
	if v.OK || len(v.Checks) != 1 || v.Checks[0].Action == "" {
		t.Errorf("validate %+v", v)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
