package graphhttp

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	khttp "github.com/microsoft/kiota-http-go"
)

// TokenEvicter is a credential that can forget a token a resource
// rejected, so that its next GetToken gets a fresh one from Entra ID
// instead of serving the rejected one from a cache until it expires. The
// credentials of an *m365access.Manager implement it.
type TokenEvicter interface {
	EvictToken(token string)
}

// RenewedHeader is set on a 401 response the pipeline got with a token it
// had just renewed after a first 401: the fresh token was refused too, so
// retrying cannot help and a person must act (m365access.ParseGraphError
// reads it).
const RenewedHeader = "X-Tenantgate-Token-Renewed"

// authInfo is what Authorize put on a request: the credential and scopes
// its bearer token came from.
type authInfo struct {
	cred   azcore.TokenCredential
	scopes []string
	token  string
}

type authKey struct{}

// reauth answers a 401 from Graph once: it evicts the rejected token
// (TokenEvicter), gets a fresh one — with the claims of a Continuous
// Access Evaluation challenge when the 401 carries one
// (WWW-Authenticate: Bearer error="insufficient_claims", claims="…") —
// and sends the request again. A second 401 comes back marked with
// RenewedHeader. Requests Authorize did not authorize, and credentials
// that can neither evict nor answer a challenge, get the 401 as it came.
type reauth struct{}

func (reauth) Intercept(p khttp.Pipeline, i int, req *http.Request) (*http.Response, error) {
	resp, err := p.Next(req, i)
	if err != nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	ai, _ := req.Context().Value(authKey{}).(*authInfo)
	if ai == nil {
		return resp, nil
	}
	claims := challengeClaims(resp.Header.Values("WWW-Authenticate"))
	ev, canEvict := ai.cred.(TokenEvicter)
	if !canEvict && claims == "" {
		return resp, nil
	}
	if req.Body != nil && req.Body != http.NoBody && req.GetBody == nil {
		return resp, nil // the body cannot be sent again
	}
	if canEvict {
		ev.EvictToken(ai.token)
	}
	tok, terr := ai.cred.GetToken(req.Context(), policy.TokenRequestOptions{Scopes: ai.scopes, Claims: claims, EnableCAE: claims != ""})
	if terr != nil || tok.Token == "" || tok.Token == ai.token {
		// No fresher token: the caller sees the 401 (and, on its next
		// request, the credential's own error).
		resp.Header.Set(RenewedHeader, "failed")
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBody))
	_ = resp.Body.Close()
	again := req.Clone(req.Context())
	if req.GetBody != nil {
		if again.Body, err = req.GetBody(); err != nil {
			return nil, err
		}
	}
	again.Header.Set("Authorization", "Bearer "+tok.Token)
	resp, err = p.Next(again, i)
	if err == nil && resp != nil && resp.StatusCode == http.StatusUnauthorized {
		resp.Header.Set(RenewedHeader, "refused")
	}
	return resp, err
}

// challengeClaims returns the decoded claims of a CAE challenge among
// WWW-Authenticate values, "" when there is none.
func challengeClaims(values []string) string {
	for _, v := range values {
		params := authParams(v)
		if params["error"] != "insufficient_claims" || params["claims"] == "" {
			continue
		}
		raw := params["claims"]
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(raw); err == nil {
				return string(b)
			}
		}
	}
	return ""
}

// authParams parses the auth-params of one Bearer challenge
// (name="value" pairs, RFC 9110 section 11.6.1).
func authParams(challenge string) map[string]string {
	rest, ok := strings.CutPrefix(strings.TrimSpace(challenge), "Bearer")
	if !ok {
		return nil
	}
	out := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		name, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		name = strings.ToLower(strings.TrimSpace(strings.TrimLeft(name, ", ")))
		after = strings.TrimSpace(after)
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.IndexByte(after[1:], '"')
			if end < 0 {
				break
			}
			val, rest = after[1:1+end], after[2+end:]
		} else {
			val, rest, _ = strings.Cut(after, ",")
		}
		out[name] = strings.TrimSpace(val)
		rest = strings.TrimLeft(strings.TrimSpace(rest), ", ")
	}
	return out
}

// withAuth records on req the credential its token came from, for reauth.
func withAuth(req *http.Request, cred azcore.TokenCredential, scopes []string, token string) {
	*req = *req.WithContext(context.WithValue(req.Context(), authKey{}, &authInfo{cred: cred, scopes: scopes, token: token}))
}
