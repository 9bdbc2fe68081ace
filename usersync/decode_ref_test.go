package usersync

import (
	"encoding/json"
	"fmt"
	"io"
)

// refEntry is a page entry as encoding/json sees it: a user, and whether
// it is a delta removal.
type refEntry struct {
	User
	Removed *json.RawMessage `json:"@removed"`
}

// decodePageStd is the reference decoder the wire decoder is checked
// against: encoding/json streaming, one Decode per user, members in any
// order.
func decodePageStd(r io.Reader, p *wirePage) error {
	p.users, p.removed, p.next, p.delta, p.count = p.users[:0], p.removed[:0], "", "", -1
	dec := json.NewDecoder(r)
	if err := expectDelim(dec, '{'); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		switch key {
		case "value":
			if err := expectDelim(dec, '['); err != nil {
				return err
			}
			for dec.More() {
				var e refEntry
				if err := dec.Decode(&e); err != nil {
					return fmt.Errorf("user %d: %w", len(p.users), err)
				}
				if e.Removed != nil {
					p.removed = append(p.removed, e.ID)
				} else {
					p.users = append(p.users, e.User)
				}
			}
			if err := expectDelim(dec, ']'); err != nil {
				return err
			}
		case "@odata.nextLink":
			if err := dec.Decode(&p.next); err != nil {
				return err
			}
		case "@odata.deltaLink":
			if err := dec.Decode(&p.delta); err != nil {
				return err
			}
		case "@odata.count":
			if err := dec.Decode(&p.count); err != nil {
				return err
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
	}
	if err := expectDelim(dec, '}'); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the page object", errNotCollection)
	}
	return nil
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
