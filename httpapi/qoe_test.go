package httpapi

import (
	"maps"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
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
	t.Parallel()
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
		assert.Equal(t, c.status, w.Code, "%s: %s", c.path, w.Body)
		if c.code != "" {
			assert.True(t, contains(w.Body.String(), `"code":"`+c.code+`"`), "%s: want code %s: %s", c.path, c.code, w.Body)
		}
	}
	// Another customer's admin is refused.
	assert.Equal(t, http.StatusForbidden, e.do(t, "GET", "/customers/a/qoe/summary", tokenB, nil).Code, "admin of b")
	// The summary lists every day of the range.
	s := decode[qoeSummaryJSON](t, e.do(t, "GET", "/customers/a/qoe/summary?from=2026-01-01&to=2026-01-31", tokenA, nil), 200)
	if assert.Len(t, s.Days, 31, "summary days") {
		assert.Equal(t, "2026-01-01", s.Days[0].Date, "summary's first day")
	}
	assert.Equal(t, "none", s.Subscription.State, "summary's subscription")
	// Validation without QoE settings says what to do.
	v := decode[qoeReportJSON](t, e.do(t, "POST", "/customers/a/m365/qoe/validate", tokenA, nil), 200)
	assert.False(t, v.OK, "validate %+v", v)
	if assert.Len(t, v.Checks, 1, "validate %+v", v) {
		assert.NotEmpty(t, v.Checks[0].Action, "validate %+v", v)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
