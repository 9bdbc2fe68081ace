package voice

import (
	"errors"
	"net/http"
	"strings"
)

// Code is an Error's stable code; callers and the API branch on it.
type Code string

// The error codes.
const (
	// CodeInvalid: bad input (Field names it).
	CodeInvalid Code = "invalid"
	// CodeUnknownUser: no such user in the customer's tenant.
	CodeUnknownUser Code = "unknownUser"
	// CodeUnknownPolicy: no policy of that type and name in the tenant.
	CodeUnknownPolicy Code = "unknownPolicy"
	// CodeUnknownRange: no range of that name for the customer.
	CodeUnknownRange Code = "unknownRange"
	// CodeNumberNotInTenant: the tenant holds no such number.
	CodeNumberNotInTenant Code = "numberNotInTenant"
	// CodeNumberTaken: the number is assigned to someone else.
	CodeNumberTaken Code = "numberTaken"
	// CodeNumberHeld: the number is reserved by another operation or
	// quarantined after a release.
	CodeNumberHeld Code = "numberHeld"
	// CodeRangeExhausted: the range has no free number.
	CodeRangeExhausted Code = "rangeExhausted"
	// CodeNoFreeLicense: a SKU the user needs has no free unit.
	CodeNoFreeLicense Code = "noFreeLicense"
	// CodeUserNotLicensed: the user lacks a license the number type needs
	// and the request did not ask for licenses ("licenses": "auto").
	CodeUserNotLicensed Code = "userNotLicensed"
	// CodeNoUsageLocation: a license cannot be assigned to a user without
	// a usage location.
	CodeNoUsageLocation Code = "noUsageLocation"
	// CodeOperationInProgress: another operation on the user is queued
	// or running.
	CodeOperationInProgress Code = "operationInProgress"
	// CodeOperationFinished: the operation already ended (cancel).
	CodeOperationFinished Code = "operationFinished"
	// CodeNotFound: no such operation.
	CodeNotFound Code = "notFound"
	// CodePermissionMissing: the customer has not granted the Graph
	// permission the step needs (Permissions names it); Action is
	// ActionGrantConsent.
	CodePermissionMissing Code = "permissionMissing"
	// CodeUnsupportedCloud: Teams Phone provisioning through Graph exists
	// in Microsoft's global service only.
	CodeUnsupportedCloud Code = "unsupportedCloud"
	// CodePolicyTypeRefused: Graph refused to assign a policy type.
	CodePolicyTypeRefused Code = "policyTypeRefused"
)

// Action is what fixes a failed readiness check or a refused request.
type Action string

// The actions.
const (
	ActionAssignLicense    Action = "assignLicense"
	ActionAssignNumber     Action = "assignNumber"
	ActionAssignPolicy     Action = "assignPolicy"
	ActionSetLocation      Action = "setLocation"
	ActionSetUsageLocation Action = "setUsageLocation"
	ActionEnableAccount    Action = "enableAccount"
	ActionGrantConsent     Action = "grantConsent"
)

// Error is a request voice refused or a step Microsoft refused, reduced
// to what callers branch on. A refused request changed nothing.
type Error struct {
	// Code is the stable reason.
	Code Code
	// Field is the JSON pointer of the offending request field ("/number",
	// "/policies/TenantDialPlan"), when one is to blame.
	Field string
	// Detail says what happened, for people.
	Detail string
	// Action is what a person does about it, when there is one.
	Action Action
	// Permissions are the Graph permissions to grant (CodePermissionMissing).
	Permissions []string
	// Err is the cause, when there is one (a Graph error).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("voice: ")
	b.WriteString(string(e.Code))
	if e.Field != "" {
		b.WriteString(" (" + e.Field + ")")
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	if e.Action != "" {
		b.WriteString("; action: " + string(e.Action))
	}
	return b.String()
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status the admin API answers with: 404 for an
// unknown operation, 409 when the request conflicts with the state of
// the tenant or the inventory, 422 for a request naming what does not
// exist or cannot be, 502 for a Graph failure.
func (e *Error) HTTPStatus() int {
	switch e.Code {
	case CodeNotFound:
		return http.StatusNotFound
	case CodeMalformedCSV:
		return http.StatusBadRequest
	case CodeNumberTaken, CodeNumberHeld, CodeRangeExhausted, CodeNoFreeLicense, CodeUserNotLicensed,
		CodeOperationInProgress, CodeOperationFinished, CodePermissionMissing:
		return http.StatusConflict
	case CodeInvalid, CodeUnknownUser, CodeUnknownPolicy, CodeUnknownRange, CodeNumberNotInTenant,
		CodeNoUsageLocation, CodeUnsupportedCloud:
		return http.StatusUnprocessableEntity
	}
	return http.StatusBadGateway
}

// AsError returns err's *Error, if it holds one.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

func refuse(code Code, field, detail string) *Error {
	return &Error{Code: code, Field: field, Detail: detail}
}
