package m365access

import (
	"fmt"
	"strings"
)

// Cloud names a Microsoft cloud: the worldwide service or a sovereign one.
// The zero value means CloudGlobal.
type Cloud string

// The clouds the library knows. Their endpoints are in DefaultClouds.
const (
	// CloudGlobal is the worldwide Microsoft 365 service.
	CloudGlobal Cloud = "global"
	// CloudUSGovL4 is Microsoft 365 GCC High (US Government L4).
	CloudUSGovL4 Cloud = "usGovL4"
	// CloudUSGovL5 is Microsoft 365 DoD (US Government L5).
	CloudUSGovL5 Cloud = "usGovL5"
	// CloudChina is Microsoft 365 operated by 21Vianet.
	CloudChina Cloud = "china"
)

// CloudEndpoints is where one cloud's identity platform and Graph live.
type CloudEndpoints struct {
	// AuthorityHost is the scheme and host of Entra ID, for example
	// "https://login.microsoftonline.com" (no trailing slash).
	AuthorityHost string
	// GraphEndpoint is the scheme and host of Microsoft Graph, for example
	// "https://graph.microsoft.com" (no trailing slash, no version).
	GraphEndpoint string
	// GraphResource is Graph's resource identifier used in scopes and as
	// the token audience; empty means GraphEndpoint. A fake Graph served
	// elsewhere keeps "https://graph.microsoft.com" here.
	GraphResource string
	// DisableInstanceDiscovery turns MSAL's instance discovery off. Set it
	// for an authority MSAL does not know, such as a test fake; the
	// Microsoft clouds leave it false.
	DisableInstanceDiscovery bool
}

// GraphScope is the app-only scope for this cloud's Graph: the Graph
// resource followed by "/.default".
func (e CloudEndpoints) GraphScope() string {
	if e.GraphResource != "" {
		return e.GraphResource + "/.default"
	}
	return e.GraphEndpoint + "/.default"
}

// GraphHost is the host name of GraphEndpoint, for the Graph client's list
// of hosts that may receive the token.
func (e CloudEndpoints) GraphHost() string {
	h := strings.TrimPrefix(strings.TrimPrefix(e.GraphEndpoint, "https://"), "http://")
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	return h
}

// CloudTable maps each cloud to its endpoints.
type CloudTable map[Cloud]CloudEndpoints

// DefaultClouds are the endpoints of the Microsoft clouds, from Microsoft's
// national cloud deployment documentation.
var DefaultClouds = CloudTable{
	CloudGlobal: {
		AuthorityHost: "https://login.microsoftonline.com",
		GraphEndpoint: "https://graph.microsoft.com",
	},
	CloudUSGovL4: {
		AuthorityHost: "https://login.microsoftonline.us",
		GraphEndpoint: "https://graph.microsoft.us",
	},
	CloudUSGovL5: {
		AuthorityHost: "https://login.microsoftonline.us",
		GraphEndpoint: "https://dod-graph.microsoft.us",
	},
	CloudChina: {
		AuthorityHost: "https://login.chinacloudapi.cn",
		GraphEndpoint: "https://microsoftgraph.chinacloudapi.cn",
	},
}

// Lookup returns the endpoints of c ("" means CloudGlobal).
func (t CloudTable) Lookup(c Cloud) (CloudEndpoints, error) {
	if c == "" {
		c = CloudGlobal
	}
	e, ok := t[c]
	if !ok {
		return CloudEndpoints{}, fmt.Errorf("m365access: unknown cloud %q", c)
	}
	return e, nil
}
