package usersync

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodePage decodes one page with the wire decoder.
func decodePage(in string, users []User) (_ []User, next string, count int64, err error) {
	var d pageDecoder
	p := wirePage{users: users}
	err = d.readPage(strings.NewReader(in), -1, &p)
	return p.users, p.next, p.count, err
}

func TestDecodePage(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		users int
		next  string
		count int64
		err   bool
	}{
		{"graph order", `{"@odata.context":"x","@odata.count":2,"@odata.nextLink":"https://g/next","value":[{"id":"1","accountEnabled":true},{"id":"2","proxyAddresses":["SMTP:a@b"]}]}`, 2, "https://g/next", 2, false},
		{"next after value", `{"value":[{"id":"1"}],"@odata.nextLink":"https://g/n"}`, 1, "https://g/n", -1, false},
		{"empty", `{"value":[]}`, 0, "", -1, false},
		{"white space", " {\n \"value\" : [ { \"id\" : \"1\" , \"city\" : null } ] }\n", 1, "", -1, false},
		{"unknown members skipped", `{"a":{"b":[1,{"c":null}]},"value":[{"id":"1","extra":{"x":[1,-2.5e3,"s",true,false,null]}}],"z":true}`, 1, "", -1, false},
		{"nulls", `{"value":[{"id":"1","city":null,"proxyAddresses":null,"accountEnabled":null}]}`, 1, "", -1, false},
		{"truncated", `{"value":[{"id":"1"},{"id":`, 0, "", 0, true},
		{"truncated string", `{"value":[{"id":"1`, 0, "", 0, true},
		{"not an object", `[{"id":"1"}]`, 0, "", 0, true},
		{"value not an array", `{"value":{"id":"1"}}`, 0, "", 0, true},
		{"trailing data", `{"value":[]} {}`, 0, "", 0, true},
		{"wrong type", `{"value":[{"id":1}]}`, 0, "", 0, true},
		{"wrong bool", `{"value":[{"accountEnabled":"yes"}]}`, 0, "", 0, true},
		{"count not an integer", `{"@odata.count":2.5,"value":[]}`, 0, "", 0, true},
		{"next not a string", `{"@odata.nextLink":1,"value":[]}`, 0, "", 0, true},
		{"bad number", `{"x":01,"value":[]}`, 0, "", 0, true},
		{"bad escape", `{"value":[{"id":"\x"}]}`, 0, "", 0, true},
		{"control character", "{\"value\":[{\"id\":\"a\tb\"}]}", 0, "", 0, true},
		{"missing comma", `{"value":[{"id":"1"} {"id":"2"}]}`, 0, "", 0, true},
		{"empty body", ``, 0, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, next, count, err := decodePage(tt.in, make([]User, 5, 10))
			var ref wirePage
			refErr := decodePageStd(strings.NewReader(tt.in), &ref)
			require.Equal(t, refErr == nil, err == nil, "wire decoder error %v, encoding/json error %v", err, refErr)
			if tt.err {
				require.Error(t, err, "no error for %s", tt.in)
				return
			}
			require.NoError(t, err)
			assert.Len(t, users, tt.users, "users")
			assert.Equal(t, tt.next, next, "next link")
			assert.Equal(t, tt.count, count, "count")
			if len(users) > 0 {
				assert.Equal(t, ref.users, users, "users against encoding/json's")
			}
		})
	}
}

func TestDecodeDeltaPage(t *testing.T) {
	t.Parallel()
	in := `{"@odata.context":"x","value":[{"id":"1","city":"Milan"},{"id":"2","@removed":{"reason":"deleted"}},{"id":"3","@removed":null}],"@odata.deltaLink":"https://g/delta?$deltatoken=t"}`
	var d pageDecoder
	var p wirePage
	require.NoError(t, d.decode([]byte(in), &p))
	if assert.Len(t, p.users, 2, "users") {
		assert.Equal(t, "Milan", p.users[0].City, "user 0's city")
		assert.Equal(t, "3", p.users[1].ID, "user 1's ID")
	}
	assert.Equal(t, []string{"2"}, p.removed, "removed")
	assert.Equal(t, "https://g/delta?$deltatoken=t", p.delta, "delta link")
	assert.Empty(t, p.next, "next link")
}

func TestDecodePageResetsReusedUsers(t *testing.T) {
	t.Parallel()
	buf := []User{{ID: "old", City: "Paris", ProxyAddresses: []string{"x"}}}
	users, _, _, err := decodePage(`{"value":[{"id":"new"}]}`, buf)
	require.NoError(t, err)
	assert.Empty(t, users[0].City, "reused user kept its city")
	assert.Nil(t, users[0].ProxyAddresses, "reused user kept its proxy addresses")
	assert.Equal(t, "new", users[0].ID, "reused user's ID")
}

// TestDecodeKeepsNoPageBytes checks that decoded strings do not alias the
// page buffer, which the next page overwrites.
func TestDecodeKeepsNoPageBytes(t *testing.T) {
	t.Parallel()
	var d pageDecoder
	var p wirePage
	require.NoError(t, d.readPage(strings.NewReader(`{"value":[{"id":"a1","city":"Rome","proxyAddresses":["x"]}]}`), -1, &p))
	u := p.users[0]
	var q wirePage
	require.NoError(t, d.readPage(strings.NewReader(`{"value":[{"id":"b2","city":"Oslo","proxyAddresses":["y"]}]}`), -1, &q))
	// The first page's user is unchanged after the second page.
	assert.Equal(t, "a1", u.ID, "first page's user's ID")
	assert.Equal(t, "Rome", u.City, "first page's user's city")
	assert.Equal(t, "x", u.ProxyAddresses[0], "first page's user's proxy address")
}

// TestDecodeDifferential decodes random pages with the wire decoder and
// with encoding/json, and requires the same result (or both an error).
func TestDecodeDifferential(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(17, 1))
	var d pageDecoder
	for i := range 3000 {
		in := randomPage(r)
		if i%4 == 3 { // damage some pages: cut, or flip a byte
			b := []byte(in)
			if r.IntN(2) == 0 {
				b = b[:r.IntN(len(b))]
			} else {
				const junk = "{}[],:\"\\ x0n"
				b[r.IntN(len(b))] = junk[r.IntN(len(junk))]
			}
			in = string(b)
		}
		compareDecoders(t, &d, in)
	}
}

func compareDecoders(t *testing.T, d *pageDecoder, in string) {
	t.Helper()
	var got, want wirePage
	err := d.decode([]byte(in), &got)
	refErr := decodePageStd(strings.NewReader(in), &want)
	require.Equal(t, refErr == nil, err == nil, "wire decoder error %v, encoding/json error %v, for\n%s", err, refErr, in)
	if err != nil {
		return
	}
	if len(got.users) == 0 && len(want.users) == 0 {
		got.users, want.users = nil, nil
	}
	if len(got.removed) == 0 && len(want.removed) == 0 {
		got.removed, want.removed = nil, nil
	}
	require.Equal(t, want, got, "decoders disagree on\n%s\n(expected: encoding/json, actual: wire)", in)
}

// randomPage returns a random Graph collection page: users with random
// properties (escapes, non-ASCII, invalid UTF-8, nulls, repeated and
// differently cased members, unknown members), random white space.
func randomPage(r *rand.Rand) string {
	var b strings.Builder
	ws := func() {
		if r.IntN(4) == 0 {
			b.WriteString([]string{" ", "\n", "\t ", "\r\n  "}[r.IntN(4)])
		}
	}
	b.WriteString("{")
	ws()
	var members []string
	if r.IntN(2) == 0 {
		members = append(members, `"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#users"`)
	}
	if r.IntN(2) == 0 {
		members = append(members, `"@odata.count":`+strconv.Itoa(r.IntN(100000)))
	}
	if r.IntN(2) == 0 {
		members = append(members, `"@odata.nextLink":`+randomString(r))
	}
	if r.IntN(3) == 0 {
		members = append(members, `"@odata.deltaLink":`+randomString(r))
	}
	if r.IntN(5) == 0 {
		members = append(members, `"x":`+randomValue(r, 3))
	}
	var users strings.Builder
	users.WriteString(`"value":[`)
	for i := range r.IntN(8) {
		if i > 0 {
			users.WriteString(",")
		}
		users.WriteString(randomUser(r))
	}
	users.WriteString("]")
	members = append(members, users.String())
	r.Shuffle(len(members), func(i, j int) { members[i], members[j] = members[j], members[i] })
	for i, m := range members {
		if i > 0 {
			b.WriteString(",")
			ws()
		}
		b.WriteString(m)
	}
	ws()
	b.WriteString("}")
	ws()
	return b.String()
}

func randomUser(r *rand.Rand) string {
	var parts []string
	for f := fieldID; f < numFields; f++ {
		if r.IntN(3) == 0 {
			continue
		}
		name := fieldNames[f]
		if r.IntN(10) == 0 {
			name = strings.ToUpper(name[:1]) + name[1:]
		}
		var v string
		switch f {
		case fieldAccountEnabled:
			v = []string{"true", "false", "null"}[r.IntN(3)]
		case fieldProxyAddresses:
			if r.IntN(5) == 0 {
				v = "null"
				break
			}
			var l []string
			for range r.IntN(3) {
				if r.IntN(6) == 0 {
					l = append(l, "null")
				} else {
					l = append(l, randomString(r))
				}
			}
			v = "[" + strings.Join(l, ",") + "]"
		case fieldRemoved:
			if r.IntN(4) != 0 {
				continue
			}
			v = `{"reason":"deleted"}`
		default:
			if r.IntN(8) == 0 {
				v = "null"
			} else {
				v = randomString(r)
			}
		}
		parts = append(parts, strconv.Quote(name)+":"+v)
		if r.IntN(12) == 0 { // a repeated member: the last one wins
			parts = append(parts, strconv.Quote(name)+":"+v)
		}
	}
	if r.IntN(6) == 0 {
		parts = append(parts, `"businessPhones":`+randomValue(r, 2))
	}
	r.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return "{" + strings.Join(parts, ",") + "}"
}

// randomString returns a JSON string literal, sometimes with escapes,
// non-ASCII or invalid UTF-8.
func randomString(r *rand.Rand) string {
	pool := []string{"Milan", "IT", "user00042@contoso.example", "Sales", "Zoë", "東京", "a\"b", `\`, "\u2028",
		"😀", "\x7f", "Contoso Ltd", "", "Director", "SMTP:x@y"}
	var b strings.Builder
	for range 1 + r.IntN(3) {
		b.WriteString(pool[r.IntN(len(pool))])
	}
	s := b.String()
	switch r.IntN(8) {
	case 0: // escaped by encoding/json (\u003c and friends)
		j, _ := json.Marshal(s + "<&>")
		return string(j)
	case 1: // \u escapes, surrogates, lone surrogates
		return `"` + []string{`\u00e9`, `\ud83d\ude00`, `\ud83d`, `\ude00x`, `\/`, `\b\f\n\r\t`, `\u0041`}[r.IntN(7)] + `"`
	case 2: // invalid UTF-8
		return `"` + s + "\xff\xc3" + `"`
	}
	j, _ := json.Marshal(s)
	return string(j)
}

func randomValue(r *rand.Rand, depth int) string {
	switch k := r.IntN(7); {
	case depth == 0 || k == 0:
		return []string{"1", "-0.5", "2e10", "true", "false", "null", `"s"`}[r.IntN(7)]
	case k < 4:
		var l []string
		for range r.IntN(3) {
			l = append(l, randomValue(r, depth-1))
		}
		return "[" + strings.Join(l, ",") + "]"
	default:
		var l []string
		for i := range r.IntN(3) {
			l = append(l, fmt.Sprintf(`"k%d":%s`, i, randomValue(r, depth-1)))
		}
		return "{" + strings.Join(l, ",") + "}"
	}
}

// FuzzDecodePage checks that the page decoder never panics, accepts only
// valid JSON, and agrees with json.Unmarshal on the users it returns.
func FuzzDecodePage(f *testing.F) {
	for _, s := range []string{
		`{"@odata.count":2,"@odata.nextLink":"https://g/next","value":[{"id":"1","accountEnabled":true},{"id":"2"}]}`,
		`{"value":[{"id":"1","proxyAddresses":["a","b"],"city":null}],"x":{"y":[1,2,{"z":"w"}]}}`,
		`{"value":[]}`, `{}`, `[]`, `{"value":[{"id":"1"}`, `{"value":[{"id":"\u00e9\"x"}]}`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		users, _, _, err := decodePage(in, nil)
		if err != nil {
			return
		}
		require.True(t, json.Valid([]byte(in)), "accepted invalid JSON %q", in)
		for i := range users {
			b, err := json.Marshal(&users[i])
			require.NoError(t, err)
			var back User
			require.NoError(t, json.Unmarshal(b, &back), "user %d does not round-trip", i)
			require.True(t, utf8.ValidString(users[i].ID), "user %d: ID is not valid UTF-8", i)
		}
	})
}

// FuzzDecodePageWire checks the wire decoder against encoding/json on
// arbitrary input: both fail, or both give the same page.
func FuzzDecodePageWire(f *testing.F) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		f.Add([]byte(randomPage(r)))
	}
	f.Add([]byte(`{"value":[{"id":"1","@removed":{"reason":"changed"}}],"@odata.deltaLink":"d"}`))
	f.Add([]byte(`{"value":[{"ID":"1","CITY":"x","city":null,"proxyaddresses":[null,"\ud800"]}]}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		var d pageDecoder
		compareDecoders(t, &d, string(in))
		// The decoder must not keep or change the input.
		c := bytes.Clone(in)
		var p wirePage
		_ = d.decode(c, &p)
		require.Equal(t, in, c, "decode changed its input")
	})
}
