package m365access

import (
	"regexp"
	"strings"
)

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	labelRE  = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?$`)
	localRE  = regexp.MustCompile("^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$")
	reserved = map[string]bool{"common": true, "organizations": true, "consumers": true}
)

// isGUID reports whether s is a GUID in its usual 8-4-4-4-12 form.
func isGUID(s string) bool { return guidRE.MatchString(s) }

// isDomain reports whether s is a DNS name with at least two labels and an
// alphabetic top-level label, as verified Entra domains are.
func isDomain(s string) bool {
	if len(s) > 253 || reserved[strings.ToLower(s)] {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if !labelRE.MatchString(l) {
			return false
		}
	}
	tld := labels[len(labels)-1]
	for _, r := range tld {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

// isUPN reports whether s looks like a user principal name: local@domain.
func isUPN(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 {
		return false
	}
	local := s[:at]
	return localRE.MatchString(local) && !strings.HasPrefix(local, ".") &&
		!strings.HasSuffix(local, ".") && !strings.Contains(local, "..") && isDomain(s[at+1:])
}

// isTenant reports whether s names a tenant: a GUID or a verified domain.
func isTenant(s string) bool { return isGUID(s) || isDomain(s) }
