package m365test_test

import (
	"crypto/x509"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

type x509Cert = x509.Certificate

func itoa(i int) string { return strconv.Itoa(i) }

func readAll(t testing.TB, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return string(b)
}

func ptr[T any](v T) *T { return &v }

var (
	formAction = regexp.MustCompile(`<form method="post" action="([^"]*)">`)
	formField  = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)
)

// formPostBrowser behaves like a browser with scripts on: it opens u and,
// when the answer is an auto-submitting form (response_mode=form_post),
// posts it.
func formPostBrowser(u string) {
	resp, err := http.Get(u)
	if err != nil {
		return
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := formAction.FindSubmatch(b)
	if m == nil || !strings.Contains(string(b), "document.forms[0].submit()") {
		return
	}
	v := url.Values{}
	for _, f := range formField.FindAllSubmatch(b, -1) {
		v.Set(html.UnescapeString(string(f[1])), html.UnescapeString(string(f[2])))
	}
	if resp, err := http.PostForm(html.UnescapeString(string(m[1])), v); err == nil {
		resp.Body.Close()
	}
}

func decode(t testing.TB, body string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &m), "body %q", body)
	return m
}
