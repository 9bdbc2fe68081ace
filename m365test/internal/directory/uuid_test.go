package directory

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUUIDv5KnownVector(t *testing.T) {
	t.Parallel()
	// RFC 9562 name space ID for DNS; Python's
	// uuid.uuid5(uuid.NAMESPACE_DNS, "python.org").
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	require.Equal(t, "886313e1-3b8a-5372-9b90-0c9aee199e5d", formatUUID(uuidV5(dns, []byte("python.org"))), "uuidV5")
}

// TestIDsMatchPython pins the documented derivation to values computed by
// Python's uuid module:
// uuid.uuid5(uuid.NAMESPACE_URL, "urn:tenantgate:m365test:" + tenant.lower() + ":user:" + i).
func TestIDsMatchPython(t *testing.T) {
	t.Parallel()
	d := New(specTenant, specDomain, specCompany, specN)
	for i, want := range map[int]string{
		0:     "7aca9b49-65d1-5fe0-aa47-295c37aaa09f",
		42:    "75c72354-4504-51ad-b3a9-50b576e3d55f",
		49999: "3a4cdb45-97be-5e84-816b-b99a2054503b",
	} {
		assert.Equal(t, want, d.UserAt(i).ID, "UserAt(%d).ID", i)
	}
	assert.Equal(t, "0d0a41ed-7aff-5b15-8d32-41615ee715a4", d.Admin().ID, "Admin().ID")
}

func TestParseUUID(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"7aca9b49-65d1-5fe0-aa47-295c37aaa09f", true},
		{"7ACA9B49-65D1-5FE0-AA47-295C37AAA09F", true},
		{"7aca9b49-65d1-5fe0-aa47-295c37aaa09", false},
		{"7aca9b4965d15fe0aa47295c37aaa09fabcd", false},
		{"7aca9b49-65d1-5fe0-aa47-295c37aaa0zz", false},
		{"", false},
	} {
		u, ok := parseUUID(tc.in)
		assert.Equal(t, tc.ok, ok, "parseUUID(%q) ok", tc.in)
		if ok {
			assert.Equal(t, "7aca9b49-65d1-5fe0-aa47-295c37aaa09f", formatUUID(u), "parseUUID(%q)", tc.in)
		}
	}
}
