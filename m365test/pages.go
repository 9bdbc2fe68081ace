package m365test

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} - m365test fake Microsoft sign-in</title>
<style>body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0}main{background:#fff;max-width:440px;margin:48px auto;padding:32px;box-shadow:0 2px 6px rgba(0,0,0,.2)}
h1{font-size:1.4em}label{display:block;margin:12px 0 4px}input[type=text],input[type=password]{width:100%;padding:6px;box-sizing:border-box}
.err{color:#a80000}.buttons{margin-top:20px;display:flex;gap:8px;justify-content:flex-end}button{padding:6px 20px}
.primary{background:#0067b8;color:#fff;border:0}small{color:#666}</style></head>
<body><main>
<p><small>m365test fake Microsoft cloud &middot; not a real Microsoft page</small></p>
<h1>{{.Title}}</h1>
{{if .Error}}<p class="err" id="error">{{.Error}}</p>{{end}}
{{if .Form}}
<form method="post" action="{{.Action}}">
<input type="hidden" name="q" value="{{.Query}}"><input type="hidden" name="csrf" value="{{.CSRF}}">
<p><b>{{.App}}</b> {{.Tenant}}</p>
<label for="username">Email or phone</label><input type="text" id="username" name="username" value="{{.LoginHint}}" autocomplete="username">
<label for="password">Password</label><input type="password" id="password" name="password" autocomplete="current-password">
<p>Permissions requested:</p><ul id="permissions">{{range .Permissions}}<li>{{.}}</li>{{end}}</ul>
{{if .OfferOrg}}<label><input type="checkbox" name="consent_org" id="consent_org"> Consent on behalf of your organization</label>{{end}}
<div class="buttons"><button type="submit" name="action" value="cancel" id="cancel">Cancel</button>
<button type="submit" name="action" value="accept" id="accept" class="primary">Accept</button></div>
</form>{{end}}
</main></body></html>
`))

var formPostTmpl = template.Must(template.New("formpost").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Working...</title></head>
<body onload="document.forms[0].submit()"><form method="post" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<noscript><p>Script is disabled. Click Submit to continue.</p><button type="submit">Submit</button></noscript>
</form></body></html>
`))

// writeFormPost answers with an auto-submitting form posting q to action
// (OAuth 2.0 Form Post Response Mode).
func writeFormPost(w http.ResponseWriter, action string, q url.Values) {
	fields := make(map[string]string, len(q))
	for k := range q {
		fields[k] = q.Get(k)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_ = formPostTmpl.Execute(w, struct {
		Action string
		Fields map[string]string
	}{action, fields})
}

type pageData struct {
	Title, Error, Action, Query, CSRF, App, Tenant, LoginHint string
	Permissions                                               []string
	Form, OfferOrg                                            bool
}

func renderPage(w http.ResponseWriter, status int, d pageData) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, d)
}

// errorPage shows an error Entra cannot redirect to the app.
func (s *Server) errorPage(w http.ResponseWriter, e *entraError) {
	renderPage(w, e.status, pageData{Title: "Sorry, but we're having trouble signing you in.", Error: e.Error()})
}

func permissionList(scopes []string) []string {
	out := make([]string, 0, len(scopes)+1)
	out = append(out, "Sign you in and read your profile")
	for _, sc := range scopes {
		label := sc
		if adminOnlyScopes[strings.ToLower(sc)] {
			label += " (admin consent required)"
		}
		out = append(out, label)
	}
	return out
}

// signInPage shows the sign-in + consent page of an authorization request.
func (s *Server) signInPage(w http.ResponseWriter, r *http.Request, ar *authzRequest, errMsg string) {
	tenant := "wants to access your organization's data"
	if ar.tenant != nil {
		tenant = "wants to access " + ar.tenant.DisplayName
	}
	renderPage(w, http.StatusOK, pageData{
		Title: "Sign in and accept permissions", Error: errMsg, Form: true,
		Action: r.URL.Path, Query: ar.query.Encode(), CSRF: s.newPageToken(),
		App: ar.app.DisplayName, Tenant: tenant, LoginHint: ar.loginHint,
		Permissions: permissionList(ar.neededScopes()), OfferOrg: true,
	})
}

// adminConsentPage shows the admin consent page.
func (s *Server) adminConsentPage(w http.ResponseWriter, ar *adminConsentRequest, loginHint, errMsg string) {
	perms := append([]string{}, ar.app.delegated...)
	for _, r := range ar.app.appRoles {
		perms = append(perms, r+" (application)")
	}
	tenant := "for your organization"
	if ar.tenant != nil {
		tenant = "for " + ar.tenant.DisplayName
		if loginHint == "" {
			loginHint = ar.tenant.AdminUPN()
		}
	}
	renderPage(w, http.StatusOK, pageData{
		Title: "Permissions requested: accept for your organization", Error: errMsg, Form: true,
		Action: "/" + pathTenant(ar) + adminConsentPath(ar), Query: ar.query.Encode(), CSRF: s.newPageToken(),
		App: ar.app.DisplayName, Tenant: tenant, LoginHint: loginHint, Permissions: perms,
	})
}

func pathTenant(ar *adminConsentRequest) string {
	if ar.tenant != nil {
		return ar.tenant.ID
	}
	return "organizations"
}

// adminConsentPath is the path after the tenant of ar's admin consent URL.
func adminConsentPath(ar *adminConsentRequest) string {
	if ar.v1 {
		return "/adminconsent"
	}
	return "/v2.0/adminconsent"
}
