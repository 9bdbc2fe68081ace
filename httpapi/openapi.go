package httpapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/tenantgate/tenantgate/events"
)

// openAPIDocument builds the OpenAPI 3.1 document of the admin API from
// the route table the mux is built from.
func (a *admin) openAPIDocument() map[string]any {
	paths := map[string]map[string]any{}
	ids := operationIDs(a.routes)
	for i, rt := range a.routes {
		op := map[string]any{
			"summary":     rt.summary,
			"operationId": ids[i],
			"x-operation": string(rt.op),
		}
		var params []any
		for _, name := range pathParams(rt.path) {
			params = append(params, map[string]any{"name": name, "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.query {
			params = append(params, map[string]any{"name": q.name, "in": "query", "description": q.description, "schema": map[string]any{"type": q.typ}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.request != "" {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": ref(rt.request)}}}
			if rt.requestCSV != "" {
				op["requestBody"].(map[string]any)["content"].(map[string]any)["text/csv"] = map[string]any{
					"schema": map[string]any{"type": "string", "description": rt.requestCSV}}
			}
		}
		ok := map[string]any{"description": "success"}
		if rt.response != "" {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": ref(rt.response)}}
		} else if rt.status != http.StatusNoContent {
			ok["content"] = map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}
		}
		problem := map[string]any{"description": "error", "content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
		responses := map[string]any{strconv.Itoa(rt.status): ok, "default": problem}
		for _, st := range errorStatuses(rt) {
			responses[strconv.Itoa(st)] = map[string]any{"description": http.StatusText(st),
				"content": map[string]any{"application/problem+json": map[string]any{"schema": ref("Problem")}}}
		}
		op["responses"] = responses
		if paths[rt.path] == nil {
			paths[rt.path] = map[string]any{}
		}
		paths[rt.path][strings.ToLower(rt.method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "tenantgate admin API", "version": "1",
			"description": "Microsoft 365 access of the provider's customers. Every route asks the host's authorizer; errors are application/problem+json with a stable code."},
		// The document is served at the mount point: "." is the API's base.
		"servers":  []any{map[string]any{"url": ".", "description": "where this document is served (the API's mount point)"}},
		"security": []any{map[string]any{"bearer": []any{}}},
		"paths":    paths,
		"components": map[string]any{"schemas": schemas, "securitySchemes": map[string]any{
			"bearer": map[string]any{"type": "http", "scheme": "bearer",
				"description": "what the host's Authorizer accepts (the reference portal: its admin token, or its session cookie)"}}},
	}
}

// operationIDs are the routes' operationIds, unique: a customer's route
// whose name another route has too gets "Customer" after its method
// (GET /audit is getAudit, GET /customers/{customer}/audit getCustomerAudit).
func operationIDs(routes []route) []string {
	ids := make([]string, len(routes))
	count := map[string]int{}
	for i, rt := range routes {
		ids[i] = operationID(rt)
		count[ids[i]]++
	}
	for i, rt := range routes {
		if count[ids[i]] > 1 && strings.Contains(rt.path, "{customer}") {
			m := strings.ToLower(rt.method)
			ids[i] = m + "Customer" + strings.TrimPrefix(ids[i], m)
		}
	}
	return ids
}

// errorStatuses are the 4xx and 5xx a route can answer besides default:
// each is documented with the Problem schema.
func errorStatuses(rt route) []int {
	out := []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests}
	if strings.Contains(rt.path, "{") || rt.bodyCustomer {
		out = append(out, http.StatusNotFound)
	}
	if rt.request != "" || rt.method != http.MethodGet {
		out = append(out, http.StatusConflict, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	} else if strings.Contains(rt.path, "{customer}") && rt.op != OpReadAudit && rt.op != OpReadEvents {
		// A customer's reads reach Microsoft 365 or the library's checks:
		// a refused connection is 409, a filter or value that does not
		// hold 422 (see problemFor).
		out = append(out, http.StatusConflict, http.StatusUnprocessableEntity)
	}
	if rt.method == http.MethodPut {
		out = append(out, http.StatusPreconditionFailed)
	}
	return out
}

func operationID(rt route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.method))
	switch rt.path {
	case "/customers":
		return b.String() + "Customers"
	case "/customers/{customer}":
		return b.String() + "Customer"
	}
	for _, seg := range strings.Split(rt.path, "/") {
		if seg == "" || strings.HasPrefix(seg, "{") || seg == "customers" {
			continue
		}
		seg = strings.TrimSuffix(seg, ".json")
		for _, part := range strings.Split(seg, "-") {
			if part != "" {
				b.WriteString(strings.ToUpper(part[:1]) + part[1:])
			}
		}
	}
	// An item of a list (.../{id}) is named apart from the list.
	if segs := strings.Split(rt.path, "/"); len(segs) > 0 {
		if last := segs[len(segs)-1]; strings.HasPrefix(last, "{") && last != "{customer}" {
			b.WriteString("ById")
		}
	}
	return b.String()
}

func pathParams(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(seg, "{"), "}"))
		}
	}
	return out
}

func ref(name string) map[string]any {
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func (a *admin) openAPI(w http.ResponseWriter, _ *http.Request, _ string) {
	writeJSON(w, http.StatusOK, a.openAPIDocument())
}

// Schema helpers.
func obj(props map[string]any, required ...string) map[string]any {
	o := map[string]any{"type": "object", "properties": props}
	if required != nil {
		o["required"] = required
	}
	return o
}

var (
	str     = map[string]any{"type": "string"}
	integer = map[string]any{"type": "integer"}
	boolean = map[string]any{"type": "boolean"}
	when    = map[string]any{"type": "string", "format": "date-time"}
)

func writeOnly(desc string) map[string]any {
	return map[string]any{"type": "string", "writeOnly": true, "description": desc}
}

func enum(vals ...string) map[string]any {
	return map[string]any{"type": "string", "enum": vals}
}

// schemas are the components of the document; the field names are those of
// the JSON types of this package.
var schemas = map[string]any{
	"Problem": obj(map[string]any{
		"type": str, "title": str, "status": integer, "detail": str, "code": str, "action": str, "reason": str,
		"fields": map[string]any{"type": "array", "items": obj(map[string]any{"field": str, "code": str, "message": str})},
	}, "title", "status", "code"),
	"Settings": obj(map[string]any{
		"customer": str, "version": integer, "updatedAt": when, "tenant": str, "tenantId": str,
		"authMode": enum("token", "appRegistration", "password"), "serviceAccount": str, "cloud": str,
		"clientId": str, "clientSecretSet": boolean, "clientSecretExpiresAt": when,
		"certificateSet": boolean, "certificateSha256": str, "certificateExpiresAt": when,
		"passwordSet": boolean, "userFilter": str,
	}, "customer", "version", "tenant", "authMode", "serviceAccount", "clientId", "clientSecretSet", "userFilter"),
	"SettingsUpdate": obj(map[string]any{
		"tenant": str, "authMode": enum("token", "appRegistration", "password"), "serviceAccount": str, "cloud": str,
		"clientId": str, "clientSecret": writeOnly("the app registration's client secret; reads give clientSecretSet"),
		"clientSecretExpiresAt": when, "certificatePem": writeOnly("certificate and unencrypted private key, PEM"),
		"password": writeOnly("legacy password mode only; deprecated"), "userFilter": str,
	}),
	"ScopePreview": obj(map[string]any{
		"userFilter": str, "total": integer, "keep": integer, "remove": integer,
		"removeSample": map[string]any{"type": "array", "items": str}, "confirmRemoval": boolean, "addedKnown": boolean,
	}, "userFilter", "total", "keep", "remove", "removeSample", "confirmRemoval", "addedKnown"),
	"ValidationReport": obj(map[string]any{
		"ok": boolean, "authMode": str, "tenantId": str, "validatedAt": when,
		"checks":       map[string]any{"type": "array", "items": obj(map[string]any{"name": str, "ok": boolean, "detail": str, "action": str})},
		"capabilities": map[string]any{"type": "array", "items": obj(map[string]any{"name": str, "permission": str, "granted": boolean, "detail": str, "action": str}, "name", "permission", "granted", "detail")},
	}, "ok", "checks"),
	"InvitationRequest": obj(map[string]any{"to": map[string]any{"type": "string", "description": "recipient; empty means the saved service account"}}),
	"Invitation": obj(map[string]any{
		"id": str, "status": enum("pending", "opened", "completed", "expired", "revoked", "failed"), "to": str, "sentBy": str,
		"createdAt": when, "expiresAt": when, "sentAt": when, "openedAt": when, "completedAt": when, "revokedAt": when, "failedAt": when,
	}, "id", "status", "expiresAt"),
	"InvitationList": obj(map[string]any{"invitations": map[string]any{"type": "array", "items": ref("Invitation")}}, "invitations"),
	"WizardLink":     obj(map[string]any{"invitation": ref("Invitation"), "link": str, "expiresAt": when}, "invitation", "link"),
	"SignInLink":     obj(map[string]any{"url": str, "expiresAt": when}, "url", "expiresAt"),
	"ConsentLink": obj(map[string]any{"url": str, "expiresAt": when, "shareUrl": str, "shareExpiresAt": when,
		"clientId": str, "customerApp": boolean, "redirectUri": str}, "url", "expiresAt", "shareUrl", "shareExpiresAt", "clientId", "customerApp", "redirectUri"),
	"Status": obj(map[string]any{
		"state":    enum("notConnected", "connected", "degraded", "reauthorizationRequired", "consentRequired", "credentialExpired", "consentPropagating", "accountBlocked"),
		"authMode": str, "account": str, "tenantId": str, "connectedAt": when, "lastRefreshAt": when, "lastValidatedAt": when,
		"lastValidationOk": boolean, "lastError": obj(map[string]any{"occurredAt": when, "op": str, "codes": map[string]any{"type": "array", "items": integer}, "graphCode": str, "action": str, "message": str}),
		"consentGrantedAt": when, "consentReportedAt": when, "grantedRoles": map[string]any{"type": "array", "items": str}, "refreshTokenExpiresAt": when,
		"capabilities":    map[string]any{"type": "array", "items": obj(map[string]any{"name": str, "permission": str, "granted": boolean, "detail": str, "action": str}, "name", "permission", "granted", "detail")},
		"secretExpiresAt": when, "certificateExpiresAt": when, "qoeSecretExpiresAt": when, "qoeSubscription": ref("QoESubscription"),
	}, "state", "authMode"),
	"QoE":       obj(map[string]any{"appId": str, "clientSecretSet": boolean, "clientSecretExpiresAt": when}, "appId", "clientSecretSet"),
	"QoEUpdate": obj(map[string]any{"appId": str, "clientSecret": writeOnly("the QoE app's client secret"), "clientSecretExpiresAt": when}),
	"SyncRun": obj(map[string]any{
		"id": str, "state": enum("queued", "running", "succeeded", "failed", "retrying", "cancelled", "interrupted"), "startedAt": when, "finishedAt": when,
		"added": integer, "changed": integer, "removed": integer, "unchanged": integer, "total": integer, "heartbeatAt": when,
		"job": integer, "attempt": integer, "trigger": str,
		"round": enum("full", "delta"), "roundReason": str, "requests": integer,
		"progress": obj(map[string]any{"pages": integer, "read": integer, "matched": integer, "estimate": integer, "percent": integer}),
		"error":    obj(map[string]any{"code": str, "action": str, "message": str}),
	}, "id", "state", "added", "changed", "removed", "total", "progress"),
	"Customer": obj(map[string]any{
		"customer": str, "name": str, "authMode": str,
		"state":  enum("notConnected", "connected", "degraded", "reauthorizationRequired", "consentRequired", "credentialExpired", "notConfigured", "offboarding"),
		"action": str, "lastValidatedAt": when, "lastSyncAt": when, "secretExpiresAt": when,
		"nextCheckAt": when, "nextSyncAt": when, "addedAt": when, "checks": integer, "syncs": integer,
	}, "customer", "name", "authMode", "state", "action", "checks", "syncs"),
	"CustomerPage": obj(map[string]any{"customers": map[string]any{"type": "array", "items": ref("Customer")}, "next": str}, "customers"),
	"Offboarding": obj(map[string]any{"customer": str, "job": integer, "state": str,
		"report": obj(map[string]any{"customer": str, "job": integer, "startedAt": when, "finishedAt": when,
			"items": map[string]any{"type": "array", "items": obj(map[string]any{
				"item": str, "result": enum("deleted", "revoked", "nothing", "actionRequired", "notDone"), "detail": str, "action": str,
			}, "item", "result", "detail")},
		}, "customer", "job", "startedAt", "items"),
	}, "customer", "job", "state"),
	"UserPage": obj(map[string]any{"users": map[string]any{"type": "array", "items": ref("User")}, "next": str, "total": integer}, "users", "total"),
	"User": obj(map[string]any{
		"id": str, "userPrincipalName": str, "displayName": str, "givenName": str, "surname": str, "mail": str,
		"jobTitle": str, "department": str, "companyName": str, "officeLocation": str, "streetAddress": str,
		"city": str, "state": str, "country": str, "usageLocation": str, "accountEnabled": boolean,
		"postalCode": str, "mobilePhone": str, "preferredLanguage": str, "mailNickname": str,
		"proxyAddresses": map[string]any{"type": "array", "items": str},
		"lineUri": map[string]any{"type": []any{"string", "null"},
			"description": "Get-CsOnlineUser's LineUri: tel: and the primary number; null without one"},
		"enterpriseVoiceEnabled": boolean, "accountType": str,
		"featureTypes":     map[string]any{"type": "array", "items": str},
		"telephoneNumbers": map[string]any{"type": "array", "items": obj(map[string]any{"number": str, "category": str}, "number", "category")},
		"policies": map[string]any{"type": "object", "additionalProperties": str,
			"description": "effective Teams policy type to policy name; an absent type is on the Global policy"},
	}, "id", "userPrincipalName", "lineUri", "enterpriseVoiceEnabled", "accountType", "featureTypes", "telephoneNumbers", "policies"),
	"AuditEntry": obj(map[string]any{
		"occurredAt": when, "actor": str, "action": str, "customer": str,
		"outcome": enum("attempted", "succeeded", "failed", "denied"), "requestId": str, "detail": str,
	}, "occurredAt", "actor", "action", "customer", "outcome"),
	"AuditPage": obj(map[string]any{"entries": map[string]any{"type": "array", "items": ref("AuditEntry")}, "next": str}, "entries", "next"),
	"AuditChainReport": obj(map[string]any{"customer": str, "entries": integer, "unchained": integer, "intact": boolean,
		"firstBroken": obj(map[string]any{"position": integer, "occurredAt": when, "action": str, "reason": enum("hash", "link", "unchained", "unkeyed")}, "position", "occurredAt", "action", "reason"),
	}, "customer", "entries", "unchained", "intact"),
	"Event": obj(map[string]any{
		"id": str, "type": enum(eventTypes()...), "occurredAt": when, "data": ref("EventData"),
	}, "id", "type", "occurredAt", "data"),
	"EventData": obj(map[string]any{
		"customer": str, "from": str, "to": str, "action": str, "error": str,
		"credential": enum("appSecret", "appCertificate", "qoeSecret", "refreshToken"), "expiresAt": when, "daysLeft": integer,
		"roles": map[string]any{"type": "array", "items": str},
		"users": integer, "added": integer, "changed": integer, "removed": integer, "durationMs": integer, "subscription": str,
		"operation": str, "user": str, "number": str, "state": str, "range": str, "free": integer, "numbers": integer,
		"profile": str, "dryRun": boolean,
	}, "customer"),
	"EventList": obj(map[string]any{"events": map[string]any{"type": "array", "items": ref("Event")}, "next": str}, "events", "next"),
	"Delivery": obj(map[string]any{
		"eventId": str, "endpoint": str, "customer": str, "type": str,
		"state": enum("pending", "queued", "retrying", "delivered", "failed"), "attempts": integer,
		"lastStatus": integer, "lastError": str, "replays": integer, "createdAt": when, "updatedAt": when,
	}, "eventId", "endpoint", "customer", "type", "state", "attempts", "replays", "createdAt", "updatedAt"),
	"DeliveryList": obj(map[string]any{"deliveries": map[string]any{"type": "array", "items": ref("Delivery")}, "next": str}, "deliveries", "next"),
}

func eventTypes() []string {
	out := make([]string, len(events.Types))
	for i, t := range events.Types {
		out[i] = string(t)
	}
	return out
}

// The body of POST /customers is SettingsUpdate plus the new customer's
// ID and display name.
func init() {
	props := map[string]any{
		"customer": map[string]any{"type": "string", "description": "the new customer's ID (the host's key); 409 when taken"},
		"name":     map[string]any{"type": "string", "description": "display name; empty asks the host"},
	}
	for k, v := range schemas["SettingsUpdate"].(map[string]any)["properties"].(map[string]any) {
		props[k] = v
	}
	schemas["CustomerCreate"] = obj(props, "customer")
}
