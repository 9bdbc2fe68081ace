package usersync

import (
	"bytes"
	"fmt"
	"io"
)

// Decoding of /admin/teams/userConfigurations pages with the page
// decoder's tokenizer: one pass over the body, no reflection, shared
// values (account types, feature types, policy types and names, number
// categories) interned per decoder. It decodes what json.Unmarshal into
// teamsWire decodes: members matched exactly or case-insensitively,
// unknown members skipped (but validated), null leaving a value unset.

// teamsKeys are the member names the decoder reads, by nesting level.
var (
	teamsPageKeys   = []string{"value", "@odata.nextLink"}
	teamsConfigKeys = []string{"id", "accountType", "isEnterpriseVoiceEnabled", "featureTypes", "telephoneNumbers", "effectivePolicyAssignments"}
	teamsNumberKeys = []string{"telephoneNumber", "assignmentCategory"}
	teamsPolicyKeys = []string{"policyType", "policyAssignment"}
	teamsAssignKeys = []string{"displayName"}
)

// keyIndex returns the index of key in names (exact, then
// case-insensitive), or -1.
func keyIndex(key []byte, names []string) int {
	for i, n := range names {
		if string(key) == n {
			return i
		}
	}
	for i, n := range names {
		if bytes.EqualFold(key, []byte(n)) {
			return i
		}
	}
	return -1
}

// decodeTeamsPage decodes one page, calling fn for each configuration
// with an ID, and returns the page's @odata.nextLink.
func (d *pageDecoder) decodeTeamsPage(data []byte, fn func(id string, c *TeamsConfig)) (next string, err error) {
	d.data, d.pos = data, 0
	defer func() { d.data = nil }()
	if d.intern == nil {
		d.intern = make(map[string]string, 64)
	}
	d.skipSpace()
	err = d.object(func(key []byte) error {
		switch keyIndex(key, teamsPageKeys) {
		case 0:
			return d.array(func() error {
				var id string
				c := &TeamsConfig{}
				if err := d.teamsConfig(&id, c); err != nil {
					return err
				}
				if id != "" {
					fn(id, c)
				}
				return nil
			}, "\"value\"")
		case 1:
			var err error
			next, err = d.str(next, false)
			return err
		}
		return d.skipValue(0)
	})
	if err != nil {
		return "", err
	}
	return next, d.end()
}

func (d *pageDecoder) teamsConfig(id *string, c *TeamsConfig) error {
	return d.object(func(key []byte) error {
		var err error
		switch keyIndex(key, teamsConfigKeys) {
		case 0:
			*id, err = d.str(*id, false)
		case 1:
			c.AccountType, err = d.str(c.AccountType, true)
		case 2:
			err = d.boolean(&c.EnterpriseVoiceEnabled)
		case 3:
			c.FeatureTypes = nil // a repeated member replaces, as with encoding/json
			err = d.array(func() error {
				s, err := d.str("", true)
				c.FeatureTypes = append(c.FeatureTypes, s)
				return err
			}, "featureTypes")
		case 4:
			c.TelephoneNumbers = nil
			err = d.array(func() error {
				var n TelephoneNumber
				err := d.object(func(key []byte) error {
					var err error
					switch keyIndex(key, teamsNumberKeys) {
					case 0:
						n.Number, err = d.str(n.Number, false)
					case 1:
						n.Category, err = d.str(n.Category, true)
					default:
						err = d.skipValue(0)
					}
					return err
				})
				c.TelephoneNumbers = append(c.TelephoneNumbers, n)
				return err
			}, "telephoneNumbers")
		case 5:
			c.Policies = nil
			err = d.array(func() error {
				var typ, name string
				err := d.object(func(key []byte) error {
					var err error
					switch keyIndex(key, teamsPolicyKeys) {
					case 0:
						typ, err = d.str(typ, true)
					case 1:
						err = d.object(func(key []byte) error {
							if keyIndex(key, teamsAssignKeys) == 0 {
								var err error
								name, err = d.str(name, true)
								return err
							}
							return d.skipValue(0)
						})
					default:
						err = d.skipValue(0)
					}
					return err
				})
				if err == nil && typ != "" && name != "" {
					if c.Policies == nil {
						c.Policies = make(map[string]string, 4)
					}
					c.Policies[typ] = name
				}
				return err
			}, "effectivePolicyAssignments")
		default:
			err = d.skipValue(0)
		}
		return err
	})
}

// object decodes a JSON object at pos, calling member for each member
// name with pos at its value (which member must consume). null is an
// empty object. The key is valid only during the call.
func (d *pageDecoder) object(member func(key []byte) error) error {
	d.skipSpace()
	if d.literal("null") {
		return nil
	}
	if d.pos >= len(d.data) {
		return io.ErrUnexpectedEOF
	}
	if d.data[d.pos] != '{' {
		return d.typeErr("an object")
	}
	d.pos++
	d.skipSpace()
	if d.consume('}') {
		return nil
	}
	for {
		d.skipSpace()
		key, err := d.rawString()
		if err != nil {
			return err
		}
		if err := d.colon(); err != nil {
			return err
		}
		d.skipSpace()
		if err := member(key); err != nil {
			return err
		}
		d.skipSpace()
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return nil
		}
		return d.syntax("',' or '}'")
	}
}

// array decodes a JSON array at pos, calling elem with pos at each
// element. null is an empty array.
func (d *pageDecoder) array(elem func() error, what string) error {
	d.skipSpace()
	if d.literal("null") {
		return nil
	}
	if d.pos >= len(d.data) {
		return io.ErrUnexpectedEOF
	}
	if d.data[d.pos] != '[' {
		return fmt.Errorf("%s: %w", what, d.typeErr("an array"))
	}
	d.pos++
	d.skipSpace()
	if d.consume(']') {
		return nil
	}
	for {
		d.skipSpace()
		if err := elem(); err != nil {
			return err
		}
		d.skipSpace()
		if d.consume(',') {
			continue
		}
		if d.consume(']') {
			return nil
		}
		return d.syntax("',' or ']'")
	}
}

// str decodes a string (null keeps old); shared values are interned.
func (d *pageDecoder) str(old string, shared bool) (string, error) {
	d.skipSpace()
	if d.literal("null") {
		return old, nil
	}
	if d.pos < len(d.data) && d.data[d.pos] != '"' {
		return "", d.typeErr("a string")
	}
	raw, err := d.rawString()
	if err != nil {
		return "", err
	}
	if !shared {
		return string(raw), nil
	}
	if s, ok := d.intern[string(raw)]; ok {
		return s, nil
	}
	s := string(raw)
	if len(d.intern) < 4096 {
		d.intern[s] = s
	}
	return s, nil
}

// boolean decodes true or false (null keeps *b).
func (d *pageDecoder) boolean(b *bool) error {
	d.skipSpace()
	switch {
	case d.literal("true"):
		*b = true
	case d.literal("false"):
		*b = false
	case d.literal("null"):
	default:
		return d.typeErr("a boolean")
	}
	return nil
}
