package audit

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tenantgate/tenantgate/internal/redact"
)

// Outcome is how an audited action ended.
type Outcome string

// The outcomes.
const (
	// Succeeded: the action was carried out.
	Succeeded Outcome = "succeeded"
	// Failed: the action was allowed but failed (bad input, an error).
	Failed Outcome = "failed"
	// Denied: the authorizer refused the action.
	Denied Outcome = "denied"
	// Attempted: the action is about to be carried out; an entry with
	// its outcome follows. Recording the attempt first means no change is
	// made unaudited: a host that cannot record it does not act.
	Attempted Outcome = "attempted"
)

// Entry is one audited action.
type Entry struct {
	// At is when it happened; Append sets it when zero.
	At time.Time `json:"at"`
	// Actor names the principal who acted, as the host's authorizer
	// names it (an admin's e-mail, a session name, a service).
	Actor string `json:"actor"`
	// Action is what was done, such as "settings.write".
	Action string `json:"action"`
	// Customer is the customer acted on; "" for actions on no customer.
	Customer string `json:"customer"`
	// Outcome says how it ended.
	Outcome Outcome `json:"outcome"`
	// RequestID ties the entry to the request's logs.
	RequestID string `json:"requestId,omitempty"`
	// Detail says more in a few words (a problem code, a status); it is
	// scrubbed of links and token-shaped runs.
	Detail string `json:"detail,omitempty"`
}

// MaxFieldLen bounds Actor, Action and RequestID, in bytes.
const MaxFieldLen = 256

// MaxCustomerLen bounds Customer, in bytes: the longest customer ID the
// tokenstore accepts (tokenstore.MaxKeyPartLen), so every customer that
// can be stored can be audited.
const MaxCustomerLen = 512

func (e *Entry) check() error {
	var errs []error
	if e.Actor == "" {
		errs = append(errs, errors.New("no Actor"))
	}
	if e.Action == "" {
		errs = append(errs, errors.New("no Action"))
	}
	switch e.Outcome {
	case Succeeded, Failed, Denied, Attempted:
	default:
		errs = append(errs, fmt.Errorf("unknown Outcome %q", e.Outcome))
	}
	for name, v := range map[string]string{"Actor": e.Actor, "Action": e.Action, "Customer": e.Customer, "RequestID": e.RequestID} {
		limit := MaxFieldLen
		if name == "Customer" {
			limit = MaxCustomerLen
		}
		if len(v) > limit || !utf8.ValidString(v) || strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			errs = append(errs, fmt.Errorf("%s is not printable text of at most %d bytes", name, limit))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("audit: invalid entry: %w", errors.Join(errs...))
	}
	e.Detail = redact.Scrub(e.Detail)
	// Actors and request IDs come from outside; keep a token pasted into
	// either out of the trail (an ID keeps its hex digits: redact.ID; an
	// actor its e-mail addresses: redact.Name).
	e.Actor = redact.Name(e.Actor)
	e.RequestID = redact.ID(e.RequestID)
	return nil
}
