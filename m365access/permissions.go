package m365access

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
)

// PermissionSource names where a permissions check learned what is
// granted. Access tokens are opaque to clients (Microsoft may change or
// encrypt their format), so the library never reads roles or scopes from
// one.
type PermissionSource string

const (
	// PermissionsFromDirectory: the app's service principal and its app
	// role assignments, read through Graph. Exact; it needs the
	// application permission Application.Read.All (recommended for exact
	// permission reports, not required).
	PermissionsFromDirectory PermissionSource = "appRoleAssignments"
	// PermissionsFromProbes: without Application.Read.All, each required
	// permission is tried with the cheapest Graph request that needs it
	// (see permissionProbes); a permission with no safe probe is reported
	// not verifiable.
	PermissionsFromProbes PermissionSource = "probes"
	// PermissionsFromGrantedScopes: the delegated scopes the token
	// endpoint named as granted (its scope parameter, MSAL's
	// AuthResult.GrantedScopes).
	PermissionsFromGrantedScopes PermissionSource = "grantedScopes"
)

// describe says where the permissions came from, for a report.
func (s PermissionSource) describe() string {
	switch s {
	case PermissionsFromDirectory:
		return "from the service principal's app role assignments"
	case PermissionsFromProbes:
		return "from a Graph request per permission (grant Application.Read.All for an exact report)"
	case PermissionsFromGrantedScopes:
		return "from the token endpoint's granted scopes"
	}
	return string(s)
}

// ApplicationReadPermission is the application permission that lets an
// app read its own service principal's app role assignments, so Validate
// and consent confirmation report exactly which permissions are granted.
// It is optional: without it each required permission is checked with a
// Graph request that needs it.
const ApplicationReadPermission = "Application.Read.All"

// graphResourceAppID is Microsoft Graph's application ID: its service
// principal in each tenant holds the app roles (application permissions)
// that assignments name by ID.
const graphResourceAppID = "00000003-0000-0000-c000-000000000000"

// appPermissions is what an app holds in a tenant, as far as Graph tells.
type appPermissions struct {
	Source PermissionSource
	// Granted are the granted permissions: every Graph app role assigned
	// (directory), or the required ones a probe confirmed (probes).
	Granted []string
	// Missing are the required permissions shown not granted.
	Missing []string
	// Unverifiable are the required permissions no probe can check.
	Unverifiable []string
}

// detail describes the permissions for a report line.
func (p appPermissions) detail() string {
	var b strings.Builder
	fmt.Fprintf(&b, "application permissions %s: ", p.Source.describe())
	if len(p.Granted) == 0 {
		b.WriteString("none granted")
	} else {
		b.WriteString("granted " + strings.Join(p.Granted, ", "))
	}
	if len(p.Missing) > 0 {
		b.WriteString("; not granted: " + strings.Join(p.Missing, ", "))
	}
	if len(p.Unverifiable) > 0 {
		b.WriteString("; not verifiable without " + ApplicationReadPermission + ": " + strings.Join(p.Unverifiable, ", "))
	}
	return b.String()
}

// errNoDirectoryRead is the directory read refused (403): the app does
// not hold Application.Read.All.
var errNoDirectoryRead = errors.New("m365access: the app may not read service principals")

// readAppPermissions finds which of required the app clientID holds in the
// token's tenant, reading Graph with tok (the app's own app-only token):
// the service principal's app role assignments when the app may read
// them, else one probe per permission.
func (m *Manager) readAppPermissions(ctx context.Context, op, customer string, tok azcore.AccessToken, ep CloudEndpoints, clientID string, required []string) (appPermissions, error) {
	roles, err := m.assignedAppRoles(ctx, op, customer, tok, ep, clientID)
	switch {
	case err == nil:
		p := appPermissions{Source: PermissionsFromDirectory, Granted: roles, Missing: missingRoles(required, roles)}
		return p, nil
	case errors.Is(err, errNoDirectoryRead):
		return m.probePermissions(ctx, op, customer, tok, ep, required)
	default:
		return appPermissions{}, err
	}
}

// assignedAppRoles returns the Microsoft Graph application permissions
// assigned to the service principal of clientID, sorted; errNoDirectoryRead
// when Graph refuses the read.
func (m *Manager) assignedAppRoles(ctx context.Context, op, customer string, tok azcore.AccessToken, ep CloudEndpoints, clientID string) ([]string, error) {
	var sp struct {
		ID string `json:"id"`
	}
	err := m.graphGet(ctx, op, customer, tok, ep, "/servicePrincipals(appId='"+url.PathEscape(clientID)+"')?$select=id", &sp)
	var ge *Error
	switch {
	case errors.As(err, &ge) && ge.HTTPStatus == 403:
		return nil, errNoDirectoryRead
	case errors.As(err, &ge) && ge.HTTPStatus == 404:
		// No service principal: nothing is granted in the tenant.
		return nil, nil
	case err != nil:
		return nil, err
	case sp.ID == "":
		return nil, &Error{Op: op, Customer: customer, Err: errors.New("the service principal Graph returned has no id")}
	}
	var graph struct {
		ID       string `json:"id"`
		AppRoles []struct {
			ID    string `json:"id"`
			Value string `json:"value"`
		} `json:"appRoles"`
	}
	if err := m.graphGet(ctx, op, customer, tok, ep, "/servicePrincipals(appId='"+graphResourceAppID+"')?$select=id,appRoles", &graph); err != nil {
		if errors.As(err, &ge) && ge.HTTPStatus == 403 {
			return nil, errNoDirectoryRead
		}
		return nil, err
	}
	byID := make(map[string]string, len(graph.AppRoles))
	for _, r := range graph.AppRoles {
		byID[strings.ToLower(r.ID)] = r.Value
	}
	var roles []string
	path := "/servicePrincipals/" + url.PathEscape(sp.ID) + "/appRoleAssignments?$select=appRoleId,resourceId"
	for page := 0; path != ""; page++ {
		if page == maxAssignmentPages {
			return nil, &Error{Op: op, Customer: customer, Err: fmt.Errorf("more than %d pages of app role assignments", maxAssignmentPages)}
		}
		var res struct {
			Value []struct {
				AppRoleID  string `json:"appRoleId"`
				ResourceID string `json:"resourceId"`
			} `json:"value"`
			NextLink string `json:"@odata.nextLink"`
		}
		if err := m.graphGet(ctx, op, customer, tok, ep, path, &res); err != nil {
			if errors.As(err, &ge) && ge.HTTPStatus == 403 {
				return nil, errNoDirectoryRead
			}
			return nil, err
		}
		for _, a := range res.Value {
			if !strings.EqualFold(a.ResourceID, graph.ID) {
				continue // another API's role
			}
			if v, ok := byID[strings.ToLower(a.AppRoleID)]; ok && !slices.Contains(roles, v) {
				roles = append(roles, v)
			}
		}
		path = ""
		if res.NextLink != "" {
			rest, ok := strings.CutPrefix(res.NextLink, ep.GraphEndpoint+"/v1.0")
			if !ok {
				return nil, &Error{Op: op, Customer: customer, Err: errors.New("the next link of the app role assignments points at another host")}
			}
			path = rest
		}
	}
	slices.Sort(roles)
	return roles, nil
}

// maxAssignmentPages bounds the app role assignment pages read (Graph
// pages them at 100; an app holds a few dozen at most).
const maxAssignmentPages = 20

// probePermissions checks each required permission with its probe: a
// 2xx answer shows it granted, 403 not granted; a permission without a
// probe is unverifiable. Other failures are returned.
func (m *Manager) probePermissions(ctx context.Context, op, customer string, tok azcore.AccessToken, ep CloudEndpoints, required []string) (appPermissions, error) {
	p := appPermissions{Source: PermissionsFromProbes}
	for _, perm := range required {
		if strings.EqualFold(perm, ApplicationReadPermission) {
			// The directory read was refused: it is not granted.
			p.Missing = append(p.Missing, perm)
			continue
		}
		probe, ok := permissionProbe(perm, m.now())
		if !ok {
			p.Unverifiable = append(p.Unverifiable, perm)
			continue
		}
		var sink struct{}
		err := m.graphGet(ctx, op+" (probe "+perm+")", customer, tok, ep, probe, &sink)
		var ge *Error
		switch {
		case err == nil:
			p.Granted = append(p.Granted, perm)
		case errors.As(err, &ge) && ge.HTTPStatus == 403:
			p.Missing = append(p.Missing, perm)
		default:
			return appPermissions{}, err
		}
	}
	return p, nil
}
