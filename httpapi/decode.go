package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
)

// maxBodyBytes bounds every JSON request body.
const maxBodyBytes = 1 << 20

// decodeJSON reads exactly one JSON value from r's body into dst, refusing
// unknown fields, trailing data, bodies over 1 MiB and other content types.
// On failure it returns a Problem to send.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) *Problem {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return &Problem{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
				Detail: "send the request body as application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if dec.Decode(&struct{}{}) != io.EOF {
			err = errors.New("trailing data after the JSON value")
		}
	}
	if err == nil {
		return nil
	}
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooBig):
		return &Problem{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
			Detail: fmt.Sprintf("the request body is limited to %d bytes", maxBodyBytes)}
	case errors.As(err, &syn):
		return &Problem{Status: http.StatusBadRequest, Code: "malformed_json",
			Detail: fmt.Sprintf("malformed JSON at byte %d", syn.Offset)}
	case errors.As(err, &typ):
		return &Problem{Status: http.StatusBadRequest, Code: "invalid_field", Detail: "a field has the wrong type",
			Fields: []FieldError{{Field: typ.Field, Code: "type", Message: "expected " + typ.Type.String()}}}
	case errors.Is(err, io.EOF):
		return &Problem{Status: http.StatusBadRequest, Code: "empty_body", Detail: "the request body is empty"}
	default:
		// json's "unknown field" and trailing-data errors carry only the
		// client's own input; say which without echoing anything else.
		return &Problem{Status: http.StatusBadRequest, Code: "malformed_json", Detail: sanitizeDecodeError(err)}
	}
}

// sanitizeDecodeError keeps decode messages short and free of control
// characters.
func sanitizeDecodeError(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	out := make([]rune, 0, len(msg))
	for _, r := range msg {
		if r >= 0x20 && r != 0x7f {
			out = append(out, r)
		}
	}
	return string(out)
}

// decodeEmpty accepts a request without a body, or with an empty JSON
// object, for operations that take no input.
func decodeEmpty(w http.ResponseWriter, r *http.Request) *Problem {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return nil
	}
	var empty struct{}
	return decodeJSON(w, r, &empty)
}
