package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/audit"
	"github.com/tenantgate/tenantgate/events"
	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/voice"
)

// schemaTypes are the Go types the handlers encode and decode for each
// schema of the OpenAPI document.
var schemaTypes = map[string]reflect.Type{
	"Problem":           reflect.TypeFor[Problem](),
	"Settings":          reflect.TypeFor[settingsJSON](),
	"SettingsUpdate":    reflect.TypeFor[settingsUpdateJSON](),
	"ValidationReport":  reflect.TypeFor[reportJSON](),
	"InvitationRequest": reflect.TypeFor[invitationRequestJSON](),
	"Invitation":        reflect.TypeFor[invitationJSON](),
	"InvitationList": reflect.TypeFor[struct {
		Invitations []invitationJSON `json:"invitations"`
	}](),
	"WizardLink":       reflect.TypeFor[wizardLinkJSON](),
	"SignInLink":       reflect.TypeFor[signInLinkJSON](),
	"ConsentLink":      reflect.TypeFor[consentLinkJSON](),
	"Status":           reflect.TypeFor[statusJSON](),
	"QoE":              reflect.TypeFor[qoeJSON](),
	"QoEUpdate":        reflect.TypeFor[qoeUpdateJSON](),
	"SyncRun":          reflect.TypeFor[syncRunJSON](),
	"UserPage":         reflect.TypeFor[userPageJSON](),
	"Customer":         reflect.TypeFor[fleet.Customer](),
	"CustomerPage":     reflect.TypeFor[customerPageJSON](),
	"Offboarding":      reflect.TypeFor[offboardingJSON](),
	"User":             reflect.TypeFor[userJSON](),
	"AuditEntry":       reflect.TypeFor[auditEntryJSON](),
	"AuditPage":        reflect.TypeFor[auditPageJSON](),
	"AuditChainReport": reflect.TypeFor[audit.ChainReport](),
	"Event":            reflect.TypeFor[eventJSON](),
	"EventData":        reflect.TypeFor[events.Data](),
	"EventList":        reflect.TypeFor[eventListJSON](),
	"Delivery":         reflect.TypeFor[events.Delivery](),
	"DeliveryList":     reflect.TypeFor[deliveryListJSON](),

	"VoiceNumberPage":    reflect.TypeFor[voice.NumberPage](),
	"VoiceRanges":        reflect.TypeFor[rangesJSON](),
	"VoiceRangesPut":     reflect.TypeFor[rangesPutJSON](),
	"UserVoice":          reflect.TypeFor[voice.UserVoice](),
	"UserVoiceSet":       reflect.TypeFor[voice.SetRequest](),
	"VoiceOperation":     reflect.TypeFor[operationJSON](),
	"VoiceOperationPage": reflect.TypeFor[operationPageJSON](),
	"VoiceFleetPage":     reflect.TypeFor[voice.FleetPage](),
	"VoiceProfile":       reflect.TypeFor[voice.Profile](),
	"VoiceProfilePut":    reflect.TypeFor[profilePutJSON](),
	"VoiceProfiles":      reflect.TypeFor[profilesJSON](),
	"VoicePlanRequest":   reflect.TypeFor[voice.PlanRequest](),
	"VoicePlan":          reflect.TypeFor[voice.Plan](),
	"CustomerCreate":     reflect.TypeFor[customerCreateJSON](),
	"ScopePreview":       reflect.TypeFor[scopePreviewJSON](),
}

// TestOpenAPISchemasMatchTheJSONTypes: every schema has exactly the
// fields of the Go type behind it, with matching JSON types, and what the
// schema marks required is never omitted.
func TestOpenAPISchemasMatchTheJSONTypes(t *testing.T) {
	t.Parallel()
	for name := range schemas {
		assert.Contains(t, schemaTypes, name, "schema %s has no Go type in schemaTypes", name)
	}
	for name, typ := range schemaTypes {
		s, ok := schemas[name].(map[string]any)
		require.True(t, ok, "schema %s missing", name)
		compareSchema(t, name, s, typ)
	}
}

func compareSchema(t *testing.T, at string, s map[string]any, typ reflect.Type) {
	t.Helper()
	if r, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		want, known := schemaTypes[name]
		if assert.True(t, known, "%s: $ref to %s", at, name) {
			assert.Equal(t, want, deref(typ), "%s: $ref %s is another Go type", at, name)
		}
		return
	}
	typ = deref(typ)
	st, _ := schemaType(s)
	switch st {
	case "string":
		ok := typ.Kind() == reflect.String || typ == reflect.TypeFor[time.Time]()
		assert.True(t, ok, "%s: schema string, Go %s", at, typ)
		if s["format"] == "date-time" {
			assert.Equal(t, reflect.TypeFor[time.Time](), typ, "%s: date-time", at)
		}
	case "integer":
		assert.Contains(t, []reflect.Kind{reflect.Int, reflect.Int64, reflect.Int32}, typ.Kind(), "%s: schema integer, Go %s", at, typ)
	case "number":
		assert.Contains(t, []reflect.Kind{reflect.Float64, reflect.Float32}, typ.Kind(), "%s: schema number, Go %s", at, typ)
	case "boolean":
		assert.Equal(t, reflect.Bool, typ.Kind(), "%s: schema boolean", at)
	case "array":
		if assert.Equal(t, reflect.Slice, typ.Kind(), "%s: schema array", at) {
			compareSchema(t, at+"[]", s["items"].(map[string]any), typ.Elem())
		}
	case "object":
		if ap, ok := s["additionalProperties"].(map[string]any); ok {
			if assert.Equal(t, reflect.Map, typ.Kind(), "%s: schema map, Go %s", at, typ) {
				compareSchema(t, at+"{}", ap, typ.Elem())
			}
			return
		}
		if !assert.Equal(t, reflect.Struct, typ.Kind(), "%s: schema object, Go %s", at, typ) {
			return
		}
		props, _ := s["properties"].(map[string]any)
		fields := jsonFields(typ)
		for name, f := range fields {
			ps, ok := props[name].(map[string]any)
			if !assert.True(t, ok, "%s: Go field %q (%s) is not in the schema", at, name, f.Name) {
				continue
			}
			compareSchema(t, at+"."+name, ps, f.Type)
		}
		for name := range props {
			_, ok := fields[name]
			assert.True(t, ok, "%s: schema property %q is no field of %s", at, name, typ)
		}
		req, _ := s["required"].([]string)
		for _, name := range req {
			f, ok := fields[name]
			if assert.True(t, ok, "%s: required %q is no field", at, name) {
				assert.NotContains(t, f.Tag.Get("json"), "omitempty", "%s: required %q is omitempty", at, name)
			}
		}
	default:
		assert.Fail(t, "schema without a type", "%s: %v", at, s)
	}
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// jsonFields are the fields encoding/json writes for struct type typ, by
// JSON name.
func jsonFields(typ reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for f := range typ.Fields() {
		if f.Anonymous && f.Type.Kind() == reflect.Struct && f.Tag.Get("json") == "" {
			// An embedded struct's fields are the outer struct's, the
			// outer one's own winning.
			for name, inner := range jsonFields(f.Type) {
				if _, own := out[name]; !own {
					out[name] = inner
				}
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		out[name] = f
	}
	return out
}

// TestResponsesConformToTheDocument runs every admin route once against
// the fake and checks each answer against the schema the document names
// for it: no field the schema lacks, every required field present, the
// documented status.
func TestResponsesConformToTheDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.saveToken(t, "a", e.contoso)
	doc := e.do(t, "GET", "/openapi.json", tokenA, nil)
	require.Equal(t, http.StatusOK, doc.Code)
	var full struct {
		Paths map[string]map[string]struct {
			Responses map[string]struct {
				Content map[string]struct {
					Schema map[string]any `json:"schema"`
				} `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(doc.Body.Bytes(), &full))

	inv := decode[invitationJSON](t, e.do(t, "POST", "/customers/a/m365/invitations", tokenA, map[string]string{}), http.StatusCreated)
	calls := []struct {
		method, path, pattern string
		body                  any
	}{
		{"POST", "/customers", "/customers", map[string]string{"customer": "new1", "tenant": "contoso.onmicrosoft.com"}},
		{"POST", "/customers", "/customers", map[string]string{"customer": "a", "tenant": "contoso.onmicrosoft.com"}}, // a problem
		{"GET", "/customers/a/m365", "/customers/{customer}/m365", nil},
		{"PUT", "/customers/a/m365", "/customers/{customer}/m365", map[string]string{"userFilter": "UsageLocation -eq 'IT'"}},
		{"POST", "/customers/a/m365/validate", "/customers/{customer}/m365/validate", nil},
		{"POST", "/customers/a/m365/invitations", "/customers/{customer}/m365/invitations", map[string]string{}},
		{"GET", "/customers/a/m365/invitations", "/customers/{customer}/m365/invitations", nil},
		{"DELETE", "/customers/a/m365/invitations/" + inv.ID, "/customers/{customer}/m365/invitations/{id}", nil},
		{"POST", "/customers/a/m365/refresh-token", "/customers/{customer}/m365/refresh-token", nil},
		{"POST", "/customers/a/m365/switch-to-token", "/customers/{customer}/m365/switch-to-token", nil},
		{"POST", "/customers/a/m365/consent", "/customers/{customer}/m365/consent", nil},
		{"GET", "/customers/a/m365/status", "/customers/{customer}/m365/status", nil},
		{"PUT", "/customers/a/m365/qoe", "/customers/{customer}/m365/qoe", map[string]string{"appId": "d0d0d0d0-1111-2222-3333-444444444444", "clientSecret": "qoe-secret-0123456789abcdef"}},
		{"GET", "/customers/a/m365/qoe", "/customers/{customer}/m365/qoe", nil},
		{"POST", "/customers/a/users/sync", "/customers/{customer}/users/sync", nil},
		{"GET", "/customers/a/users/sync", "/customers/{customer}/users/sync", nil},
		{"GET", "/customers/a/users", "/customers/{customer}/users", nil},
		{"GET", "/customers/a/users/scope-preview?userFilter=UsageLocation+-eq+%27IT%27", "/customers/{customer}/users/scope-preview", nil},
		{"GET", "/customers/a/users/scope-preview?userFilter=UsageLocation", "/customers/{customer}/users/scope-preview", nil}, // a problem
		{"GET", "/customers/a/users?limit=0", "/customers/{customer}/users", nil},                                              // a problem
		{"DELETE", "/customers/a/users/sync", "/customers/{customer}/users/sync", nil},
		{"GET", "/customers", "/customers", nil},
		{"GET", "/customers?needsAction=maybe", "/customers", nil}, // a problem
		{"GET", "/customers/a", "/customers/{customer}", nil},
		{"GET", "/customers/a/qoe/summary", "/customers/{customer}/qoe/summary", nil},
		{"GET", "/customers/a/qoe/calls?poor=true", "/customers/{customer}/qoe/calls", nil},
		{"GET", "/customers/a/qoe/calls?from=nonsense", "/customers/{customer}/qoe/calls", nil}, // a problem
		{"GET", "/customers/a/qoe/pstn?from=2026-01-01&to=2026-01-31", "/customers/{customer}/qoe/pstn", nil},
		{"POST", "/customers/a/m365/qoe/validate", "/customers/{customer}/m365/qoe/validate", nil},
		{"GET", "/audit", "/audit", nil},
		{"GET", "/customers/a/audit?limit=2", "/customers/{customer}/audit", nil},
		{"GET", "/customers/a/audit/verify", "/customers/{customer}/audit/verify", nil},
		{"GET", "/customers/a/audit?after=forged", "/customers/{customer}/audit", nil}, // a problem
		{"GET", "/customers/a/events", "/customers/{customer}/events", nil},
		{"GET", "/webhooks/deliveries?customer=a", "/webhooks/deliveries", nil},
		{"GET", "/events?customer=a&type=sync.failed", "/events", nil},
		{"GET", "/events?type=sync.sideways", "/events", nil},                                                                                            // a problem
		{"POST", "/customers/a/webhooks/deliveries/msg_none/default/replay", "/customers/{customer}/webhooks/deliveries/{event}/{endpoint}/replay", nil}, // a problem
		{"POST", "/customers/a/voice/numbers/refresh", "/customers/{customer}/voice/numbers/refresh", nil},
		{"GET", "/customers/a/voice/numbers?status=unassigned&prefix=%2B3902", "/customers/{customer}/voice/numbers", nil},
		{"GET", "/customers/a/voice/numbers?status=maybe", "/customers/{customer}/voice/numbers", nil}, // a problem
		{"PUT", "/customers/a/voice/ranges", "/customers/{customer}/voice/ranges", map[string]any{"ranges": []map[string]any{
			{"name": "Milan", "from": "+39020000000", "to": "+39020009999", "type": "directRouting", "quarantineDays": 30}}}},
		{"PUT", "/customers/a/voice/ranges", "/customers/{customer}/voice/ranges", map[string]any{"ranges": []map[string]any{
			{"name": "A", "from": "+39020000000", "to": "+39020009999", "type": "directRouting"},
			{"name": "B", "from": "+39020000100", "to": "+39020000199", "type": "directRouting"}}}}, // a problem
		{"GET", "/customers/a/voice/ranges", "/customers/{customer}/voice/ranges", nil},
		{"GET", "/customers/a/users/user00024@contoso.onmicrosoft.com/voice", "/customers/{customer}/users/{user}/voice", nil},
		{"PUT", "/customers/a/users/user00004@contoso.onmicrosoft.com/voice", "/customers/{customer}/users/{user}/voice",
			map[string]any{"number": "+39020000004", "licenses": "auto", "policies": map[string]string{"OnlineVoiceRoutingPolicy": "VRP-IT", "TenantDialPlan": "DP-IT"}}},
		{"DELETE", "/customers/a/users/user00003@contoso.onmicrosoft.com/voice", "/customers/{customer}/users/{user}/voice", nil},
		{"GET", "/customers/a/voice/operations", "/customers/{customer}/voice/operations", nil},
		{"GET", "/customers/a/voice/operations/vop_unknown", "/customers/{customer}/voice/operations/{id}", nil},                // a problem
		{"POST", "/customers/a/voice/operations/vop_unknown/cancel", "/customers/{customer}/voice/operations/{id}/cancel", nil}, // a problem
		{"PUT", "/customers/a/voice/profiles/Two", "/customers/{customer}/voice/profiles/{profile}", map[string]any{"policies": map[string]string{"TenantDialPlan": "DP-IT"}}},
		{"PUT", "/customers/a/voice/profiles/Two", "/customers/{customer}/voice/profiles/{profile}", map[string]any{"range": "Nowhere"}}, // a problem
		{"GET", "/customers/a/voice/profiles", "/customers/{customer}/voice/profiles", nil},
		{"GET", "/customers/a/voice/profiles/Two", "/customers/{customer}/voice/profiles/{profile}", nil},
		{"GET", "/voice?sort=free", "/voice", nil},
		{"GET", "/voice?sort=sideways", "/voice", nil}, // a problem
		{"POST", "/customers/a/voice/plans", "/customers/{customer}/voice/plans", map[string]any{"profile": "Two", "filter": "UserPrincipalName -eq 'user00024@contoso.onmicrosoft.com'"}},
		{"POST", "/customers/a/voice/plans", "/customers/{customer}/voice/plans", map[string]any{"profile": "Nobody"}}, // a problem
		{"GET", "/customers/a/voice/plans/vpl_unknown", "/customers/{customer}/voice/plans/{id}", nil},
		{"POST", "/customers/a/voice/plans/vpl_unknown/apply", "/customers/{customer}/voice/plans/{id}/apply", nil}, // a problem
		{"DELETE", "/customers/a/voice/profiles/Two", "/customers/{customer}/voice/profiles/{profile}", nil},
	}
	seen := map[string]bool{}
	for _, c := range calls {
		w := e.do(t, c.method, c.path, tokenAll, c.body)
		ops, ok := full.Paths[c.pattern]
		require.True(t, ok, c.pattern)
		op, ok := ops[strings.ToLower(c.method)]
		require.True(t, ok, c.method+" "+c.pattern)
		seen[c.method+" "+c.pattern] = true
		resp, documented := op.Responses[itoa(w.Code)]
		if w.Code >= 400 {
			if w.Code < 500 {
				assert.True(t, documented, "%s %s answered %d, which the operation does not list", c.method, c.path, w.Code)
			}
			resp, documented = op.Responses["default"], true
		}
		if !assert.True(t, documented, "%s %s answered %d, not documented: %s", c.method, c.path, w.Code, w.Body) {
			continue
		}
		for ctype, content := range resp.Content {
			assert.Equal(t, ctype, strings.Split(w.Header().Get("Content-Type"), ";")[0], "%s %s", c.method, c.path)
			var v any
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v), c.path)
			conform(t, c.method+" "+c.path, content.Schema, v)
		}
	}
	// Sync done before offboarding.
	e.waitSync(t, "a")
	w := e.do(t, "DELETE", "/customers/a", tokenAll, nil)
	ops := full.Paths["/customers/{customer}"]
	for _, content := range ops["delete"].Responses[itoa(w.Code)].Content {
		var v any
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), &v))
		conform(t, "DELETE /customers/a", content.Schema, v)
	}
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	seen["DELETE /customers/{customer}"] = true
	for pattern, ops := range full.Paths {
		for m := range ops {
			if key := strings.ToUpper(m) + " " + pattern; pattern != "/openapi.json" {
				assert.True(t, seen[key], "%s is not exercised", key)
			}
		}
	}
	// Offboarding done before the test ends (the Store outlives it).
	require.Eventually(t, func() bool {
		return e.do(t, "GET", "/customers/a", tokenAll, nil).Code == http.StatusNotFound
	}, 20*time.Second, 20*time.Millisecond)
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// conform checks value v against schema s of the document.
func conform(t *testing.T, at string, s map[string]any, v any) {
	t.Helper()
	if r, ok := s["$ref"].(string); ok {
		var resolved map[string]any
		b, _ := json.Marshal(schemas[strings.TrimPrefix(r, "#/components/schemas/")])
		_ = json.Unmarshal(b, &resolved)
		s = resolved
	}
	st, nullable := schemaType(s)
	if v == nil && nullable {
		return
	}
	switch st {
	case "object":
		m, ok := v.(map[string]any)
		if !assert.True(t, ok, "%s: %T, want an object", at, v) {
			return
		}
		props, _ := s["properties"].(map[string]any)
		if extra, ok := s["additionalProperties"].(map[string]any); ok && props == nil {
			for k, fv := range m {
				conform(t, at+"."+k, extra, fv)
			}
			return
		}
		for k, fv := range m {
			ps, ok := props[k].(map[string]any)
			if assert.True(t, ok, "%s: field %q is not in the schema", at, k) {
				conform(t, at+"."+k, ps, fv)
			}
		}
		req, _ := s["required"].([]any)
		for _, k := range req {
			_, ok := m[k.(string)]
			assert.True(t, ok, "%s: required field %q missing", at, k)
		}
	case "array":
		a, ok := v.([]any)
		if assert.True(t, ok, "%s: %T, want an array", at, v) {
			for i, x := range a {
				conform(t, at+"["+itoa(i)+"]", s["items"].(map[string]any), x)
			}
		}
	case "string":
		str, ok := v.(string)
		if assert.True(t, ok, "%s: %T, want a string", at, v) {
			if enum, ok := s["enum"].([]any); ok {
				assert.True(t, slices.Contains(enum, any(str)), "%s: %q not in %v", at, str, enum)
			}
		}
	case "integer":
		f, ok := v.(float64)
		assert.True(t, ok && f == float64(int64(f)), "%s: %v, want an integer", at, v)
	case "number":
		_, ok := v.(float64)
		assert.True(t, ok, "%s: %T, want a number", at, v)
	case "boolean":
		_, ok := v.(bool)
		assert.True(t, ok, "%s: %T, want a boolean", at, v)
	}
}

// TestDocListsEveryRouteAndSchema: the package documentation's route
// table and schema list say what the route table and the document say.
func TestDocListsEveryRouteAndSchema(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("doc.go")
	require.NoError(t, err)
	doc := string(src)
	e := newEnv(t, nil)
	a, err := newAdmin(e.cfg)
	require.NoError(t, err)
	for _, rt := range a.routes {
		req, resp := "-", rt.response
		if rt.request != "" {
			req = rt.request
		}
		if resp == "" {
			resp = "the OpenAPI document"
			if rt.status == http.StatusNoContent {
				resp = "-"
			}
		}
		line := fmt.Sprintf("//\t%-6s %-45s %-17s %d %s\n", rt.method, rt.path, req, rt.status, resp)
		assert.Contains(t, doc, line, "doc.go's admin route table lacks this line")
	}
	for _, name := range slices.Sorted(maps.Keys(schemas)) {
		s := schemas[name].(map[string]any)
		props := s["properties"].(map[string]any)
		required, _ := s["required"].([]string)
		var fields []string
		for _, p := range slices.Sorted(maps.Keys(props)) {
			if slices.Contains(required, p) {
				p += "*"
			}
			fields = append(fields, p)
		}
		line := "//   - " + name + ": " + strings.Join(fields, ", ") + "\n"
		assert.Contains(t, doc, line, "doc.go's schema list lacks this line")
	}
}

// schemaType is a schema's type and whether null is allowed too (OpenAPI
// 3.1: "type": ["string", "null"]).
func schemaType(s map[string]any) (string, bool) {
	switch t := s["type"].(type) {
	case string:
		return t, false
	case []any:
		typ, null := "", false
		for _, x := range t {
			if x == "null" {
				null = true
			} else if str, ok := x.(string); ok {
				typ = str
			}
		}
		return typ, null
	}
	return "", false
}

// TestTimestampNaming: every time of the document is named <what>At,
// but for the names design.md fixes as a contract.
func TestTimestampNaming(t *testing.T) {
	t.Parallel()
	contract := map[string]bool{
		"VoiceOperation.created": true, "VoiceOperation.finished": true, // design.md's operation shape
		"VoiceNumberPage.numbers[].quarantinedUntil": true, // design.md's numbers
	}
	var walk func(at string, s map[string]any)
	walk = func(at string, s map[string]any) {
		if s["format"] == "date-time" {
			name := at[strings.LastIndex(at, ".")+1:]
			assert.True(t, strings.HasSuffix(name, "At") || contract[at], "%s: a time is named <what>At", at)
		}
		if items, ok := s["items"].(map[string]any); ok {
			walk(at+"[]", items)
		}
		props, _ := s["properties"].(map[string]any)
		for name, p := range props {
			if ps, ok := p.(map[string]any); ok {
				walk(at+"."+name, ps)
			}
		}
	}
	for name, s := range schemas {
		walk(name, s.(map[string]any))
	}
}
