package events

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every Standard Webhooks signing secret.
const SecretPrefix = "whsec_"

// Endpoint is a webhook receiver.
type Endpoint struct {
	// Name identifies the endpoint in delivery jobs and the delivery log
	// (letters, digits, '-', '_', '.'; at most 64). Empty means
	// "default". Jobs name the endpoint, never its URL or secrets, so a
	// queued delivery follows a changed URL or secret after a restart.
	Name string
	// URL receives the POSTs: https, or http to a loopback address when
	// Options.AllowLoopbackHTTP is set (demos and tests).
	URL string
	// Secrets sign every delivery ("whsec_" + base64 of 24 to 64 random
	// bytes). During a rotation give both the new and the old secret:
	// each delivery carries one signature per secret, and the receiver
	// accepts any it knows.
	Secrets []string
}

// secretKey decodes a "whsec_" secret.
func secretKey(s string) ([]byte, error) {
	raw, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return nil, errors.New(`a webhook secret starts with "whsec_"`)
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return nil, errors.New(`a webhook secret is "whsec_" followed by standard base64`)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("a webhook secret holds 24 to 64 bytes, this one %d", len(key))
	}
	return key, nil
}

// GenerateSecret returns a new random signing secret ("whsec_" + base64
// of 32 bytes).
func GenerateSecret() string {
	b := make([]byte, 32)
	randRead(b)
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// Sign returns the webhook-signature header value for a message: one
// "v1,<base64 HMAC-SHA256 of id.timestamp.body>" per key, separated by
// spaces.
func Sign(keys [][]byte, id string, ts time.Time, body []byte) string {
	var b strings.Builder
	t := strconv.FormatInt(ts.Unix(), 10)
	for i, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte(id))
		mac.Write([]byte{'.'})
		mac.Write([]byte(t))
		mac.Write([]byte{'.'})
		mac.Write(body)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("v1,")
		b.WriteString(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return b.String()
}

// Validate reports what is wrong with e, as New would: a name, an https
// URL (or, with allowLoopbackHTTP, http to a loopback address) and at
// least one well-formed secret. Errors never quote a secret.
func (e Endpoint) Validate(allowLoopbackHTTP bool) error {
	_, err := checkEndpoint(e, allowLoopbackHTTP)
	return err
}

// endpoint is a checked Endpoint.
type endpoint struct {
	name string
	url  string
	keys [][]byte
}

func checkEndpoint(e Endpoint, allowLoopback bool) (endpoint, error) {
	name := e.Name
	if name == "" {
		name = "default"
	}
	if !validName(name) {
		return endpoint{}, fmt.Errorf("webhook endpoint name %q: use letters, digits, '-', '_' or '.', at most 64", name)
	}
	u, err := url.Parse(e.URL)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return endpoint{}, fmt.Errorf("webhook endpoint %s: the URL must be absolute, without user info or fragment", name)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !allowLoopback || !isLoopback(u.Hostname()) {
			return endpoint{}, fmt.Errorf("webhook endpoint %s: the URL must be https (http only to a loopback address, in demo mode)", name)
		}
	default:
		return endpoint{}, fmt.Errorf("webhook endpoint %s: the URL must be https", name)
	}
	if len(e.Secrets) == 0 {
		return endpoint{}, fmt.Errorf("webhook endpoint %s: no signing secret", name)
	}
	ep := endpoint{name: name, url: u.String()}
	for i, s := range e.Secrets {
		k, err := secretKey(s)
		if err != nil {
			return endpoint{}, fmt.Errorf("webhook endpoint %s, secret %d: %w", name, i+1, err)
		}
		ep.keys = append(ep.keys, k)
	}
	return ep, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}
