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
				c := d.slabs.config()
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
			// Collected in the decoder's scratch, then copied once at its
			// size; a repeated member replaces, as with encoding/json.
			d.strs = d.strs[:0]
			err = d.array(func() error {
				s, err := d.str("", true)
				d.strs = append(d.strs, s)
				return err
			}, "featureTypes")
			c.FeatureTypes = d.slabs.strings(d.strs)
		case 4:
			d.nums = d.nums[:0]
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
				d.nums = append(d.nums, n)
				return err
			}, "telephoneNumbers")
			c.TelephoneNumbers = d.slabs.numbers(d.nums)
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

// teamsSlabs hands out the configurations, feature lists and number lists
// of decoded pages from arrays allocated a few hundred at a time, instead
// of three allocations per configuration. Each list is a full slice
// (len == cap), so appending to one never writes into its neighbour.
type teamsSlabs struct {
	configs []TeamsConfig
	strs    []string
	nums    []TelephoneNumber
}

const slabSize = 256

func (s *teamsSlabs) config() *TeamsConfig {
	if len(s.configs) == 0 {
		s.configs = make([]TeamsConfig, slabSize)
	}
	c := &s.configs[0]
	s.configs = s.configs[1:]
	return c
}

// strings returns a copy of src (nil when empty).
func (s *teamsSlabs) strings(src []string) []string {
	n := len(src)
	if n == 0 {
		return nil
	}
	if len(s.strs) < n {
		s.strs = make([]string, max(slabSize, n))
	}
	out := s.strs[:n:n]
	s.strs = s.strs[n:]
	copy(out, src)
	return out
}

// numbers returns a copy of src (nil when empty).
func (s *teamsSlabs) numbers(src []TelephoneNumber) []TelephoneNumber {
	n := len(src)
	if n == 0 {
		return nil
	}
	if len(s.nums) < n {
		s.nums = make([]TelephoneNumber, max(slabSize, n))
	}
	out := s.nums[:n:n]
	s.nums = s.nums[n:]
	copy(out, src)
	return out
}
