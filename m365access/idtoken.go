package m365access

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// idClaims are the id_token claims the token connection checks. The token
// comes straight from the token endpoint over TLS, which OpenID Connect
// Core (3.1.3.7) accepts in place of checking the signature.
type idClaims struct {
	Nonce             string `json:"nonce"`
	TenantID          string `json:"tid"`
	PreferredUsername string `json:"preferred_username"`
	UPN               string `json:"upn"`
	Email             string `json:"email"`
}

// user is the signed-in user's name: upn, else preferred_username, else
// email.
func (c idClaims) user() string {
	switch {
	case c.UPN != "":
		return c.UPN
	case c.PreferredUsername != "":
		return c.PreferredUsername
	}
	return c.Email
}

// idTokenClaims decodes a JWT's payload. Its errors never quote the token.
func idTokenClaims(raw string) (idClaims, error) {
	var c idClaims
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return c, errors.New("not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, errors.New("bad JWT payload encoding")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, errors.New("bad JWT payload")
	}
	return c, nil
}

// accessTokenClaims are the access token claims Validate reads. Graph
// access tokens are JWTs the client may read (not verify).
type accessTokenClaims struct {
	TenantID string   `json:"tid"`
	Scp      string   `json:"scp"`
	Roles    []string `json:"roles"`
	UPN      string   `json:"upn"`
	Unique   string   `json:"unique_name"`
	AppID    string   `json:"appid"`
}

func decodeAccessToken(raw string) (accessTokenClaims, error) {
	var c accessTokenClaims
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return c, errors.New("the access token is not a JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, errors.New("bad access token payload encoding")
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return c, errors.New("bad access token payload")
	}
	return c, nil
}
