package voice

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Range is one of the provider's number ranges of a customer: the
// numbers From through To (E.164, the same length), of one number type,
// with the emergency location numbers from it get and how long a
// released number rests before it is handed out again.
type Range struct {
	// Name identifies the range within the customer, for example "Milan".
	Name string `json:"name"`
	// From and To are the first and last number, inclusive.
	From string `json:"from"`
	To   string `json:"to"`
	// Type is the numbers' type.
	Type NumberType `json:"type"`
	// LocationID is the emergency location assigned with a number (Calling
	// Plan and Operator Connect numbers need one); optional.
	LocationID string `json:"locationId,omitempty"`
	// QuarantineDays is how long a released number is not handed out by
	// "next"; zero means it is free again at once.
	QuarantineDays int `json:"quarantineDays"`
}

// Contains reports whether number (canonical E.164) lies in r.
func (r Range) Contains(number string) bool {
	return len(number) == len(r.From) && number >= r.From && number <= r.To
}

// Size is how many numbers r holds.
func (r Range) Size() int64 {
	a, _ := strconv.ParseInt(r.From[1:], 10, 64)
	b, _ := strconv.ParseInt(r.To[1:], 10, 64)
	return b - a + 1
}

// MaxQuarantineDays bounds Range.QuarantineDays.
const MaxQuarantineDays = 3650

// maxRanges bounds how many ranges a customer has.
const maxRanges = 1000

// FieldError is bad input, naming the offending field (a JSON pointer
// such as "/ranges/1/to").
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return "voice: " + e.Field + ": " + e.Reason }

// checkRanges validates a customer's whole set of ranges and returns it
// in canonical form (numbers canonical, sorted by From). Every problem is
// reported, each as a *FieldError joined with errors.Join.
func checkRanges(in []Range) ([]Range, error) {
	var errs []error
	bad := func(i int, field, format string, a ...any) {
		errs = append(errs, &FieldError{Field: fmt.Sprintf("/ranges/%d/%s", i, field), Reason: fmt.Sprintf(format, a...)})
	}
	if len(in) > maxRanges {
		return nil, &FieldError{Field: "/ranges", Reason: fmt.Sprintf("at most %d ranges", maxRanges)}
	}
	out := make([]Range, len(in))
	names := map[string]int{}
	idx := make([]int, 0, len(in))
	for i, r := range in {
		r.Name = strings.TrimSpace(r.Name)
		switch {
		case r.Name == "":
			bad(i, "name", "required")
		case len(r.Name) > 64 || strings.ContainsFunc(r.Name, func(c rune) bool { return c < 0x20 || c == 0x7f || c == '/' }):
			bad(i, "name", "at most 64 printable characters, no /")
		default:
			if j, dup := names[strings.ToLower(r.Name)]; dup {
				bad(i, "name", "the name of range %d too", j)
			}
			names[strings.ToLower(r.Name)] = i
		}
		from, errF := ParseNumber(r.From)
		if errF != nil {
			bad(i, "from", "%v", errF)
		}
		to, errT := ParseNumber(r.To)
		if errT != nil {
			bad(i, "to", "%v", errT)
		}
		if errF == nil && errT == nil {
			switch {
			case len(from) != len(to):
				bad(i, "to", "must have as many digits as from")
			case to < from:
				bad(i, "to", "must not come before from")
			default:
				idx = append(idx, i)
			}
		}
		r.From, r.To = from, to
		if !r.Type.Valid() {
			bad(i, "type", "must be directRouting, callingPlan or operatorConnect")
		}
		if r.QuarantineDays < 0 || r.QuarantineDays > MaxQuarantineDays {
			bad(i, "quarantineDays", "must be 0 to %d", MaxQuarantineDays)
		}
		if len(r.LocationID) > 128 {
			bad(i, "locationId", "at most 128 characters")
		}
		out[i] = r
	}
	// Overlaps: sort the valid ranges by length then From; a range
	// overlaps its predecessor of the same length when it starts at or
	// before the end of the one ending last before it.
	slices.SortFunc(idx, func(a, b int) int {
		if c := len(out[a].From) - len(out[b].From); c != 0 {
			return c
		}
		return strings.Compare(out[a].From, out[b].From)
	})
	// reach is, of the ranges before, the one ending last.
	for k, reach := 1, 0; k < len(idx); k++ {
		if k == 1 {
			reach = idx[0]
		}
		p, c := out[reach], out[idx[k]]
		if len(p.From) == len(c.From) && c.From <= p.To {
			bad(idx[k], "from", "overlaps range %q (%s to %s)", p.Name, p.From, p.To)
		}
		if len(p.From) != len(c.From) || c.To > p.To {
			reach = idx[k]
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.SortFunc(out, func(a, b Range) int { return strings.Compare(a.From, b.From) })
	return out, nil
}

// rangeOf returns the range of rs holding number.
func rangeOf(rs []Range, number string) (Range, bool) {
	for _, r := range rs {
		if r.Contains(number) {
			return r, true
		}
	}
	return Range{}, false
}
