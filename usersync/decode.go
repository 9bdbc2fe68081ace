package usersync

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// errNotCollection reports a response body that is not a Graph collection
// page.
var errNotCollection = errors.New("not a Graph collection page")

// decodePage decodes one Graph collection page ({"@odata.nextLink": ...,
// "@odata.count": ..., "value": [...]}, members in any order) from r,
// appending the users to users[:0]. It streams: one json.Decoder over the
// body, token by token around the "value" array and one Decode per user,
// so it never holds more than the page's users. count is -1 when the page
// has no @odata.count.
func decodePage(r io.Reader, users []User) (_ []User, next string, count int64, err error) {
	users = users[:0]
	count = -1
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return users, "", -1, err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return users, "", -1, err
		}
		key, _ := tok.(string)
		switch key {
		case "value":
			if err := expectDelim(dec, '['); err != nil {
				return users, "", -1, err
			}
			for dec.More() {
				users = append(users, User{})
				if err := dec.Decode(&users[len(users)-1]); err != nil {
					return users, "", -1, fmt.Errorf("user %d: %w", len(users)-1, err)
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return users, "", -1, err
			}
		case "@odata.nextLink":
			if err := dec.Decode(&next); err != nil {
				return users, "", -1, fmt.Errorf("@odata.nextLink: %w", err)
			}
		case "@odata.count":
			if err := dec.Decode(&count); err != nil {
				return users, "", -1, fmt.Errorf("@odata.count: %w", err)
			}
		default:
			if err := skipValue(dec); err != nil {
				return users, "", -1, err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return users, "", -1, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return users, "", -1, fmt.Errorf("%w: data after the page object", errNotCollection)
	}
	return users, next, count, nil
}

func expectDelim(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		if err == io.EOF {
			return io.ErrUnexpectedEOF
		}
		return err
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return fmt.Errorf("%w: found %v where %q was expected", errNotCollection, tok, want)
	}
	return nil
}

// skipValue consumes the next JSON value, whatever its kind, without
// keeping it.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			if err == io.EOF {
				return io.ErrUnexpectedEOF
			}
			return err
		}
		switch tok {
		case json.Delim('{'), json.Delim('['):
			depth++
		case json.Delim('}'), json.Delim(']'):
			depth--
		}
		if depth == 0 {
			return nil
		}
	}
}
