package usersync

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodePage(t *testing.T) {
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
		{"unknown members skipped", `{"a":{"b":[1,{"c":null}]},"value":[{"id":"1","extra":{"x":[1]}}],"z":true}`, 1, "", -1, false},
		{"nulls", `{"value":[{"id":"1","city":null,"proxyAddresses":null}]}`, 1, "", -1, false},
		{"truncated", `{"value":[{"id":"1"},{"id":`, 0, "", 0, true},
		{"not an object", `[{"id":"1"}]`, 0, "", 0, true},
		{"value not an array", `{"value":{"id":"1"}}`, 0, "", 0, true},
		{"trailing data", `{"value":[]} {}`, 0, "", 0, true},
		{"wrong type", `{"value":[{"id":1}]}`, 0, "", 0, true},
		{"empty body", ``, 0, "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			users, next, count, err := decodePage(strings.NewReader(tt.in), make([]User, 5, 10))
			if tt.err {
				if err == nil {
					t.Fatalf("no error for %s", tt.in)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != tt.users || next != tt.next || count != tt.count {
				t.Errorf("got %d users, next %q, count %d; want %d, %q, %d", len(users), next, count, tt.users, tt.next, tt.count)
			}
		})
	}
}

func TestDecodePageResetsReusedUsers(t *testing.T) {
	buf := []User{{ID: "old", City: "Paris", ProxyAddresses: []string{"x"}}}
	users, _, _, err := decodePage(strings.NewReader(`{"value":[{"id":"new"}]}`), buf)
	if err != nil {
		t.Fatal(err)
	}
	if users[0].City != "" || users[0].ProxyAddresses != nil || users[0].ID != "new" {
		t.Errorf("reused user kept old fields: %+v", users[0])
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
		users, _, _, err := decodePage(strings.NewReader(in), nil)
		if err != nil {
			return
		}
		if !json.Valid([]byte(in)) {
			t.Fatalf("accepted invalid JSON %q", in)
		}
		for i := range users {
			b, err := json.Marshal(&users[i])
			if err != nil {
				t.Fatal(err)
			}
			var back User
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatalf("user %d does not round-trip: %v", i, err)
			}
		}
	})
}
