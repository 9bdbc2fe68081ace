package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantgate/tenantgate/fleet"
	"github.com/tenantgate/tenantgate/tokenstore"
)

// customerPageJSON is the CustomerPage resource.
type customerPageJSON struct {
	Customers []fleet.Customer `json:"customers"`
	Next      string           `json:"next,omitempty"`
}

// offboardingJSON is the Offboarding resource: the job erasing a customer
// and, once it began, its report: what was deleted or revoked, and the
// steps at Microsoft left to the customer's admin. DELETE again reads it.
type offboardingJSON struct {
	Customer string                `json:"customer"`
	Job      int64                 `json:"job"`
	State    string                `json:"state"`
	Report   *fleet.OffboardReport `json:"report,omitempty"`
}

// fleetStates are the states GET /customers filters by.
var fleetStates = map[string]bool{
	"notConnected": true, "connected": true, "degraded": true, "reauthorizationRequired": true,
	"consentRequired": true, "credentialExpired": true, fleet.StateNotConfigured: true, fleet.StateOffboarding: true,
}

func (a *admin) noFleet(w http.ResponseWriter) bool {
	if a.c.Fleet == nil {
		writeProblem(w, Problem{Status: http.StatusNotImplemented, Code: codeNotImplemented, Detail: "the fleet is not configured"})
		return true
	}
	return false
}

func (a *admin) listCustomers(w http.ResponseWriter, r *http.Request, _ string) {
	if a.noFleet(w) {
		return
	}
	q := r.URL.Query()
	opts := fleet.ListOptions{After: q.Get("after"), State: q.Get("state")}
	var fields []FieldError
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > fleet.MaxPageSize {
			fields = append(fields, FieldError{Field: "limit", Code: "invalid", Message: "limit must be 1 to " + strconv.Itoa(fleet.MaxPageSize)})
		}
		opts.Limit = n
	}
	if opts.State != "" && !fleetStates[opts.State] {
		fields = append(fields, FieldError{Field: "state", Code: "invalid", Message: "not a customer state"})
	}
	switch q.Get("needsAction") {
	case "", "false":
	case "true":
		opts.NeedsAction = true
	default:
		fields = append(fields, FieldError{Field: "needsAction", Code: "invalid", Message: "needsAction must be true or false"})
	}
	if len(fields) > 0 {
		writeProblem(w, Problem{Status: http.StatusBadRequest, Code: codeBadQuery, Detail: "some query parameters are invalid", Fields: fields})
		return
	}
	page, err := a.c.Fleet.Customers(r.Context(), opts)
	if err != nil {
		a.c.fail(w, r, "list customers", err)
		return
	}
	page.Customers = slices.DeleteFunc(page.Customers, func(c fleet.Customer) bool { return !a.visible(r, c.Customer, OpListCustomers) })
	writeJSON(w, http.StatusOK, customerPageJSON{Customers: page.Customers, Next: page.Next})
}

func (a *admin) getCustomer(w http.ResponseWriter, r *http.Request, customer string) {
	if a.noFleet(w) {
		return
	}
	c, err := a.c.Fleet.Customer(r.Context(), customer)
	if errors.Is(err, fleet.ErrNotEnrolled) {
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "no such customer"})
		return
	}
	if err != nil {
		a.c.fail(w, r, "get customer", err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (a *admin) offboard(w http.ResponseWriter, r *http.Request, customer string) {
	if a.noFleet(w) {
		return
	}
	j, err := a.c.Fleet.Offboard(r.Context(), customer)
	if errors.Is(err, fleet.ErrNotEnrolled) {
		writeProblem(w, Problem{Status: http.StatusNotFound, Code: codeNotFound, Detail: "no such customer"})
		return
	}
	if err != nil {
		a.c.fail(w, r, "offboard", err)
		return
	}
	a.c.Logger.InfoContext(r.Context(), "httpapi: offboarding", "customer", customer, "job", j.ID, "by", a.c.actor(r))
	out := offboardingJSON{Customer: customer, Job: j.ID, State: string(j.State)}
	if rep, ok, err := a.c.Fleet.OffboardReport(r.Context(), customer); err != nil {
		a.c.fail(w, r, "offboard", err)
		return
	} else if ok {
		out.Report = &rep
	}
	w.Header().Set("Location", customerLocation(r, customer))
	writeJSON(w, http.StatusAccepted, out)
}

// enroll adds a customer whose settings are saved to the fleet; name ""
// asks Config.CustomerName.
func (a *admin) enroll(ctx context.Context, customer, name string) error {
	if a.c.Fleet == nil {
		return nil
	}
	ectx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if name == "" {
		name = a.c.CustomerName(ectx, customer)
	}
	return a.c.Fleet.Enroll(ectx, customer, name)
}

// customerCreateJSON is the body of POST /customers: the new customer's ID
// and display name, and its first Microsoft 365 settings.
type customerCreateJSON struct {
	Customer string `json:"customer"`
	Name     string `json:"name,omitempty"`
	settingsUpdateJSON
}

// known reports whether the customer was created: it is in the fleet or
// has settings.
func (a *admin) known(ctx context.Context, customer string) (bool, error) {
	if a.c.Fleet != nil {
		_, err := a.c.Fleet.Customer(ctx, customer)
		if err == nil {
			return true, nil
		}
		if !errors.Is(err, fleet.ErrNotEnrolled) {
			return false, err
		}
	}
	_, err := a.c.Access.GetSettings(ctx, customer)
	if errors.Is(err, tokenstore.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// peekCustomer reads the "customer" field of a JSON request body ("" when
// there is none) and puts the body back for the handler to decode.
func peekCustomer(w http.ResponseWriter, r *http.Request) string {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	r.Body = io.NopCloser(bytes.NewReader(body))
	if err != nil {
		r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), strings.NewReader("x"))) // too big: decodeJSON says so
		return ""
	}
	var in struct {
		Customer string `json:"customer"`
	}
	_ = json.Unmarshal(body, &in)
	return in.Customer
}

// createCustomer is POST /customers: 409 when the ID is taken; a refused
// body writes nothing.
func (a *admin) createCustomer(w http.ResponseWriter, r *http.Request, customer string) {
	var in customerCreateJSON
	if p := decodeJSON(w, r, &in); p != nil {
		writeProblem(w, *p)
		return
	}
	if gone, err := a.offboarding(r.Context(), customer); err != nil {
		a.c.fail(w, r, "read the customer", err)
		return
	} else if gone {
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeOffboarding,
			Detail: "the customer is being offboarded; create it again when that finished"})
		return
	}
	known, err := a.known(r.Context(), customer)
	if err != nil {
		a.c.fail(w, r, "read the customer", err)
		return
	}
	if known {
		writeProblem(w, Problem{Status: http.StatusConflict, Code: codeCustomerExists,
			Detail: "a customer with this ID exists; pick another ID or edit that customer",
			Fields: []FieldError{{Field: "customer", Code: "taken", Message: "this customer ID is taken"}}})
		return
	}
	// An offboarded customer created again: its stores accept it again
	// (offboarding fenced it, so nothing racing the erase came back).
	if a.c.Fleet != nil {
		if err := a.c.Fleet.Unfence(r.Context(), customer); err != nil {
			a.c.fail(w, r, "create the customer again", err)
			return
		}
	}
	a.saveSettings(w, r, customer, in.settingsUpdateJSON, 0, in.Name, http.StatusCreated)
}

// offboarding reports whether the customer is being offboarded now.
func (a *admin) offboarding(ctx context.Context, customer string) (bool, error) {
	if a.c.Fleet == nil {
		return false, nil
	}
	c, err := a.c.Fleet.Customer(ctx, customer)
	if errors.Is(err, fleet.ErrNotEnrolled) {
		return false, nil
	}
	return err == nil && c.State == fleet.StateOffboarding, err
}
