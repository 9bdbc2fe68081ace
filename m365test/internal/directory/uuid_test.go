package directory

import "testing"

func TestUUIDv5KnownVector(t *testing.T) {
	t.Parallel()
	// RFC 9562 name space ID for DNS; Python's
	// uuid.uuid5(uuid.NAMESPACE_DNS, "python.org").
	dns := [16]byte{0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8}
	if got, want := formatUUID(uuidV5(dns, []byte("python.org"))), "886313e1-3b8a-5372-9b90-0c9aee199e5d"; got != want {
		t.Fatalf("uuidV5 = %s, want %s", got, want)
	}
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
		if got := d.UserAt(i).ID; got != want {
			t.Errorf("UserAt(%d).ID = %s, want %s", i, got, want)
		}
	}
	if got, want := d.Admin().ID, "0d0a41ed-7aff-5b15-8d32-41615ee715a4"; got != want {
		t.Errorf("Admin().ID = %s, want %s", got, want)
	}
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
		if ok != tc.ok {
			t.Errorf("parseUUID(%q) ok = %v, want %v", tc.in, ok, tc.ok)
		}
		if ok && formatUUID(u) != "7aca9b49-65d1-5fe0-aa47-295c37aaa09f" {
			t.Errorf("parseUUID(%q) = %s", tc.in, formatUUID(u))
		}
	}
}
