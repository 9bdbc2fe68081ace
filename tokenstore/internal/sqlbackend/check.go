package sqlbackend

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantgate/tenantgate/tokenstore"
)

// The errors of the Check functions match tokenstore.ErrInvalid: the
// caller passed something no backend can store, and nothing was written.

// CheckKey reports whether k can be stored (see tokenstore.Key.Validate:
// PostgreSQL text cannot hold NUL, and both SQL backends must accept
// exactly the same keys).
func CheckKey(k tokenstore.Key) error {
	return k.Validate()
}

// CheckScope checks the customer and kind a List call pages through, by
// the rules of tokenstore.Key.Validate.
func CheckScope(customer, kind string) error {
	if err := checkPart("customer", customer); err != nil {
		return err
	}
	return checkPart("kind", kind)
}

func checkPart(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s is empty", tokenstore.ErrInvalid, what)
	case len(s) > tokenstore.MaxKeyPartLen:
		return fmt.Errorf("%w: %s is %d bytes, longer than %d", tokenstore.ErrInvalid, what, len(s), tokenstore.MaxKeyPartLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not valid UTF-8", tokenstore.ErrInvalid, what)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s contains a NUL byte", tokenstore.ErrInvalid, what)
	}
	return nil
}

// CheckPutVersion rejects an expected version Put cannot honour: Put takes
// 0 (create-only) or the version being replaced.
func CheckPutVersion(expect int64) error {
	if expect < 0 {
		return fmt.Errorf("%w: Put needs expected version 0 (create) or the stored version, got %d", tokenstore.ErrInvalid, expect)
	}
	return nil
}

// CheckDeleteVersion rejects an expected version Delete cannot honour:
// Delete takes a stored version or tokenstore.AnyVersion.
func CheckDeleteVersion(expect int64) error {
	if expect < 0 && expect != tokenstore.AnyVersion {
		return fmt.Errorf("%w: Delete needs the stored version or AnyVersion, got %d", tokenstore.ErrInvalid, expect)
	}
	return nil
}

// CheckTTL rejects a lease duration that is not positive.
func CheckTTL(ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("%w: lease ttl must be positive, got %v", tokenstore.ErrInvalid, ttl)
	}
	return nil
}

// CheckLeaseName rejects a lease name no backend can store.
func CheckLeaseName(name string) error {
	return checkPart("lease name", name)
}

// PageLimit turns a caller's page size into the one used: non-positive
// means tokenstore.DefaultPageSize.
func PageLimit(n int) int {
	if n <= 0 {
		return tokenstore.DefaultPageSize
	}
	return n
}
