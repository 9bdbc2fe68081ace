package usersync

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// batchRef decodes a $batch answer with encoding/json, the reference.
func batchRef(data []byte) ([]batchPart, error) {
	var v struct {
		Responses []struct {
			ID      string             `json:"id"`
			Status  int                `json:"status"`
			Headers map[string]*string `json:"headers"`
			Body    json.RawMessage    `json:"body"`
		} `json:"responses"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return nil, err
	}
	var out []batchPart
	for _, r := range v.Responses {
		p := batchPart{id: r.ID, status: r.Status, body: r.Body}
		for k, val := range r.Headers {
			if val == nil {
				continue
			}
			if p.header == nil {
				p.header = http.Header{}
			}
			p.header.Set(k, *val)
		}
		if string(p.body) == "null" {
			p.body = nil // encoding/json keeps null as is; the answer has no body
		}
		out = append(out, p)
	}
	return out, nil
}

func sameParts(a, b []batchPart) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if x.id != y.id || x.status != y.status || !bytes.Equal(x.body, y.body) || len(x.header) != len(y.header) {
			return false
		}
		for k := range x.header {
			if x.header.Get(k) != y.header.Get(k) {
				return false
			}
		}
	}
	return true
}

var batchSeeds = []string{
	`{"responses":[{"id":"teams","status":200,"headers":{"Content-Type":"application/json"},"body":{"value":[],"@odata.nextLink":"https://graph.microsoft.com/v1.0/admin/teams/userConfigurations?$skiptoken=x"}},{"id":"users","status":429,"headers":{"Retry-After":"7"},"body":{"error":{"code":"TooManyRequests","message":"slow down"}}}]}`,
	`{"responses":[{"id":"1","status":404}]}`,
	`{"responses":[]}`,
	`{"RESPONSES":[{"ID":"x","Status":200,"Body":"aGVsbG8="}]}`,
	`{"responses":[{"id":"1","status":200,"body":null,"headers":null}]}`,
	`{"responses":[{"id":"1","status":"200"}]}`,
	`{"responses":[{"id":"1","status":2e2}]}`,
	`{"nothing":1}`,
	`[]`,
}

// TestDecodeBatch checks the $batch answer decoder against encoding/json.
func TestDecodeBatch(t *testing.T) {
	t.Parallel()
	for _, s := range batchSeeds {
		checkBatch(t, []byte(s))
	}
}

// FuzzDecodeBatch: whatever the input, the decoder agrees with
// encoding/json on answers both accept, and accepts nothing that is not
// JSON.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range batchSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { checkBatch(t, data) })
}

func checkBatch(t *testing.T, data []byte) {
	t.Helper()
	var d pageDecoder
	got, err := d.decodeBatch(data, nil)
	if err != nil {
		return // stricter than encoding/json is fine (a number status it cannot read, no "responses")
	}
	require.True(t, json.Valid(data), "decoded invalid JSON %q", data)
	want, werr := batchRef(data)
	if werr != nil {
		return // encoding/json refuses types the decoder skips or reads differently (e.g. a string where it wants an object)
	}
	require.True(t, sameParts(got, want), "decodeBatch(%q) = %+v, encoding/json %+v", data, got, want)
}
