package usersync

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"
)

// errNotCollection reports a response body that is not a Graph collection
// page.
var errNotCollection = errors.New("not a Graph collection page")

// maxPageBytes bounds one page body. A page of 999 users with every
// property is under 1 MiB; anything far larger is not a Graph page.
const maxPageBytes = 64 << 20

// wirePage is one decoded Graph collection page: a /users page, or a
// /users/delta page whose entries may be removals.
type wirePage struct {
	users   []User   // the page's users (removed entries excluded)
	removed []string // IDs of entries carrying @removed (delta pages)
	next    string   // @odata.nextLink, "" on the last page
	delta   string   // @odata.deltaLink, on the last page of a delta round
	count   int64    // @odata.count, -1 when absent
}

// pageDecoder decodes Graph collection pages from their bytes. It knows
// the page shape ({"@odata.nextLink": ..., "@odata.count": ...,
// "value": [{user}, ...]}, members in any order) and User's properties,
// and validates the whole body as JSON as it goes, so it does in one pass
// what encoding/json does with reflection: no tokens, no interface
// values. Strings are unescaped exactly as encoding/json does (invalid
// UTF-8 becomes U+FFFD), user properties match their JSON names exactly
// or case-insensitively, and null leaves a string or bool property unset,
// as with json.Unmarshal into a User.
//
// Allocation is one string per user: the user's own values (ID, names,
// addresses) are cut from it, while values many users share (city,
// department, job title...) are interned per decoder. A pageDecoder is
// reused page after page by one goroutine at a time.
type pageDecoder struct {
	body    []byte            // the page body, reused
	data    []byte            // the page being decoded
	pos     int               // read position in data
	arena   []byte            // unescaped values of the current user
	spans   []span            // where each arena value goes
	intern  map[string]string // shared values
	scratch []byte            // unescaping of keys and interned values
	strs    []string          // a Teams string list being decoded
	nums    []TelephoneNumber // a Teams number list being decoded
	slabs   teamsSlabs        // where decoded Teams configurations live
}

// span is one value of the current user in the arena.
type span struct {
	field      int8 // fieldXxx
	start, end int32
}

// User properties, by decoder field number.
const (
	fieldNone int8 = iota
	fieldID
	fieldUserPrincipalName
	fieldDisplayName
	fieldGivenName
	fieldSurname
	fieldMail
	fieldJobTitle
	fieldDepartment
	fieldCompanyName
	fieldOfficeLocation
	fieldStreetAddress
	fieldCity
	fieldState
	fieldCountry
	fieldUsageLocation
	fieldAccountEnabled
	fieldPostalCode
	fieldMobilePhone
	fieldPreferredLanguage
	fieldMailNickname
	fieldProxyAddresses
	fieldRemoved
	numFields
)

// fieldNames are the JSON names of the decoder fields.
var fieldNames = [numFields]string{
	fieldID: "id", fieldUserPrincipalName: "userPrincipalName", fieldDisplayName: "displayName",
	fieldGivenName: "givenName", fieldSurname: "surname", fieldMail: "mail", fieldJobTitle: "jobTitle",
	fieldDepartment: "department", fieldCompanyName: "companyName", fieldOfficeLocation: "officeLocation",
	fieldStreetAddress: "streetAddress", fieldCity: "city", fieldState: "state", fieldCountry: "country",
	fieldUsageLocation: "usageLocation", fieldAccountEnabled: "accountEnabled", fieldPostalCode: "postalCode",
	fieldMobilePhone: "mobilePhone", fieldPreferredLanguage: "preferredLanguage", fieldMailNickname: "mailNickname",
	fieldProxyAddresses: "proxyAddresses", fieldRemoved: "@removed",
}

// shared marks the properties whose values many users of a tenant share:
// they are interned instead of copied per user.
var shared = [numFields]bool{
	fieldJobTitle: true, fieldDepartment: true, fieldCompanyName: true, fieldOfficeLocation: true,
	fieldCity: true, fieldState: true, fieldCountry: true, fieldUsageLocation: true,
	fieldPostalCode: true, fieldPreferredLanguage: true, fieldGivenName: true,
}

// Interning bounds: values longer than maxInterned, or arriving once the
// table holds maxInternedValues, are copied per user instead.
const (
	maxInterned       = 64
	maxInternedValues = 4096
)

// lookupField returns the decoder field of a user member name: exact
// match first, then a case-insensitive one as encoding/json does.
func lookupField(key []byte) int8 {
	switch string(key) {
	case "id":
		return fieldID
	case "userPrincipalName":
		return fieldUserPrincipalName
	case "displayName":
		return fieldDisplayName
	case "givenName":
		return fieldGivenName
	case "surname":
		return fieldSurname
	case "mail":
		return fieldMail
	case "jobTitle":
		return fieldJobTitle
	case "department":
		return fieldDepartment
	case "companyName":
		return fieldCompanyName
	case "officeLocation":
		return fieldOfficeLocation
	case "streetAddress":
		return fieldStreetAddress
	case "city":
		return fieldCity
	case "state":
		return fieldState
	case "country":
		return fieldCountry
	case "usageLocation":
		return fieldUsageLocation
	case "accountEnabled":
		return fieldAccountEnabled
	case "postalCode":
		return fieldPostalCode
	case "mobilePhone":
		return fieldMobilePhone
	case "preferredLanguage":
		return fieldPreferredLanguage
	case "mailNickname":
		return fieldMailNickname
	case "proxyAddresses":
		return fieldProxyAddresses
	case "@removed":
		return fieldRemoved
	}
	for f := fieldID; f < numFields; f++ {
		if bytes.EqualFold(key, []byte(fieldNames[f])) {
			return f
		}
	}
	return fieldNone
}

// readPage reads a page body from r into d's buffer and decodes it into p
// (p.users and p.removed are reused from [:0]).
func (d *pageDecoder) readPage(r io.Reader, sizeHint int64, p *wirePage) error {
	body := d.body[:0]
	if sizeHint > 0 && sizeHint <= maxPageBytes && int64(cap(body)) < sizeHint+1 {
		body = make([]byte, 0, sizeHint+1) // +1: read sees EOF without growing
	}
	for {
		if len(body) == cap(body) {
			body = append(body, 0)[:len(body)]
		}
		n, err := r.Read(body[len(body):cap(body)])
		body = body[:len(body)+n]
		if len(body) > maxPageBytes {
			d.body = body[:0]
			return fmt.Errorf("%w: body larger than %d bytes", errNotCollection, maxPageBytes)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			d.body = body[:0]
			return err
		}
	}
	d.body = body
	return d.decode(body, p)
}

// decode decodes the page in data into p.
func (d *pageDecoder) decode(data []byte, p *wirePage) (err error) {
	d.data, d.pos = data, 0
	defer func() { d.data = nil }()
	p.users, p.removed, p.next, p.delta, p.count = p.users[:0], p.removed[:0], "", "", -1
	if d.intern == nil {
		d.intern = make(map[string]string, 64)
	}
	d.skipSpace()
	if !d.consume('{') {
		return d.syntax("'{' to start the page")
	}
	d.skipSpace()
	if d.consume('}') {
		return d.end()
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
		switch string(key) {
		case "value":
			if err := d.users(p); err != nil {
				return err
			}
		case "@odata.nextLink":
			if p.next, err = d.pageString(p.next); err != nil {
				return fmt.Errorf("@odata.nextLink: %w", err)
			}
		case "@odata.deltaLink":
			if p.delta, err = d.pageString(p.delta); err != nil {
				return fmt.Errorf("@odata.deltaLink: %w", err)
			}
		case "@odata.count":
			if err := d.count(&p.count); err != nil {
				return fmt.Errorf("@odata.count: %w", err)
			}
		default:
			if err := d.skipValue(0); err != nil {
				return err
			}
		}
		d.skipSpace()
		if d.consume(',') {
			continue
		}
		if d.consume('}') {
			return d.end()
		}
		return d.syntax("',' or '}' in the page")
	}
}

// end checks that only white space follows the page object.
func (d *pageDecoder) end() error {
	d.skipSpace()
	if d.pos != len(d.data) {
		return fmt.Errorf("%w: data after the page object", errNotCollection)
	}
	return nil
}

// users decodes the "value" array.
func (d *pageDecoder) users(p *wirePage) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return io.ErrUnexpectedEOF
	}
	if d.data[d.pos] != '[' {
		return fmt.Errorf("%w: \"value\" is not an array", errNotCollection)
	}
	d.pos++
	d.skipSpace()
	if d.consume(']') {
		return nil
	}
	for {
		n := len(p.users)
		if n < cap(p.users) {
			p.users = p.users[:n+1]
			p.users[n] = User{}
		} else {
			p.users = append(p.users, User{})
		}
		removed, err := d.user(&p.users[n])
		if err != nil {
			return fmt.Errorf("user %d: %w", n+len(p.removed), err)
		}
		if removed {
			p.removed = append(p.removed, p.users[n].ID)
			p.users = p.users[:n]
		}
		d.skipSpace()
		if d.consume(',') {
			d.skipSpace()
			continue
		}
		if d.consume(']') {
			return nil
		}
		return d.syntax("',' or ']' in \"value\"")
	}
}

// user decodes one user object into u (which is zero). removed reports
// an @removed member (a delta entry for a deleted user).
func (d *pageDecoder) user(u *User) (removed bool, err error) {
	if d.pos >= len(d.data) {
		return false, io.ErrUnexpectedEOF
	}
	if d.data[d.pos] != '{' {
		return false, d.typeErr("an object")
	}
	d.pos++
	d.arena, d.spans = d.arena[:0], d.spans[:0]
	d.skipSpace()
	if !d.consume('}') {
		for {
			d.skipSpace()
			key, err := d.rawString()
			if err != nil {
				return false, err
			}
			f := lookupField(key)
			if err := d.colon(); err != nil {
				return false, err
			}
			if err := d.member(u, f, &removed); err != nil {
				if f != fieldNone {
					return false, fmt.Errorf("%s: %w", fieldNames[f], err)
				}
				return false, err
			}
			d.skipSpace()
			if d.consume(',') {
				continue
			}
			if d.consume('}') {
				break
			}
			return false, d.syntax("',' or '}' in a user")
		}
	}
	if len(d.spans) > 0 {
		s := string(d.arena)
		for _, sp := range d.spans {
			v := s[sp.start:sp.end]
			if sp.field == fieldProxyAddresses {
				u.ProxyAddresses = append(u.ProxyAddresses, v)
				continue
			}
			*u.stringField(sp.field) = v
		}
	}
	return removed, nil
}

// member decodes the value of user member f.
func (d *pageDecoder) member(u *User, f int8, removed *bool) error {
	d.skipSpace()
	if d.pos >= len(d.data) {
		return io.ErrUnexpectedEOF
	}
	c := d.data[d.pos]
	switch f {
	case fieldNone:
		return d.skipValue(0)
	case fieldRemoved:
		// Like a pointer field in encoding/json: null clears it.
		*removed = !d.literal("null")
		if !*removed {
			return nil
		}
		return d.skipValue(0)
	case fieldAccountEnabled:
		switch {
		case d.literal("true"):
			u.AccountEnabled = true
		case d.literal("false"):
			u.AccountEnabled = false
		case d.literal("null"):
		default:
			return d.typeErr("a bool")
		}
		return nil
	case fieldProxyAddresses:
		return d.proxyAddresses(u, c)
	}
	if c == 'n' {
		if d.literal("null") {
			return nil // encoding/json leaves the string as it was
		}
		return d.syntax("a value")
	}
	if c != '"' {
		return d.typeErr("a string")
	}
	d.dropSpan(f) // a repeated member: the last one wins
	if shared[f] {
		raw, err := d.rawString()
		if err != nil {
			return err
		}
		if len(raw) <= maxInterned {
			if v, ok := d.intern[string(raw)]; ok {
				*u.stringField(f) = v
				return nil
			}
			if len(d.intern) < maxInternedValues {
				v := string(raw)
				d.intern[v] = v
				*u.stringField(f) = v
				return nil
			}
		}
		*u.stringField(f) = ""
		start := len(d.arena)
		d.arena = append(d.arena, raw...)
		d.spans = append(d.spans, span{field: f, start: int32(start), end: int32(len(d.arena))})
		return nil
	}
	start := len(d.arena)
	if err := d.appendString(); err != nil {
		return err
	}
	*u.stringField(f) = ""
	d.spans = append(d.spans, span{field: f, start: int32(start), end: int32(len(d.arena))})
	return nil
}

// dropSpan forgets an earlier value of string member f of the current
// user.
func (d *pageDecoder) dropSpan(f int8) {
	for i := 0; i < len(d.spans); i++ {
		if d.spans[i].field == f {
			d.spans = append(d.spans[:i], d.spans[i+1:]...)
			i--
		}
	}
}

// proxyAddresses decodes the proxyAddresses array (null sets it to nil,
// a null element is an empty string, as with encoding/json).
func (d *pageDecoder) proxyAddresses(u *User, c byte) error {
	d.dropSpan(fieldProxyAddresses)
	u.ProxyAddresses = nil
	if c == 'n' {
		if d.literal("null") {
			return nil
		}
		return d.syntax("a value")
	}
	if c != '[' {
		return d.typeErr("an array")
	}
	d.pos++
	d.skipSpace()
	u.ProxyAddresses = []string{}
	if d.consume(']') {
		return nil
	}
	n := 0
	for {
		d.skipSpace()
		if d.pos >= len(d.data) {
			return io.ErrUnexpectedEOF
		}
		switch d.data[d.pos] {
		case '"':
			start := len(d.arena)
			if err := d.appendString(); err != nil {
				return err
			}
			d.spans = append(d.spans, span{field: fieldProxyAddresses, start: int32(start), end: int32(len(d.arena))})
		case 'n':
			if !d.literal("null") {
				return d.syntax("a value")
			}
			d.spans = append(d.spans, span{field: fieldProxyAddresses, start: int32(len(d.arena)), end: int32(len(d.arena))})
		default:
			return d.typeErr("a string")
		}
		n++
		d.skipSpace()
		if d.consume(',') {
			continue
		}
		if d.consume(']') {
			u.ProxyAddresses = make([]string, 0, n)
			return nil
		}
		return d.syntax("',' or ']' in proxyAddresses")
	}
}

// stringField returns the string property of u that decoder field f
// (not accountEnabled, proxyAddresses or @removed) names.
func (u *User) stringField(f int8) *string {
	switch f {
	case fieldID:
		return &u.ID
	case fieldUserPrincipalName:
		return &u.UserPrincipalName
	case fieldDisplayName:
		return &u.DisplayName
	case fieldGivenName:
		return &u.GivenName
	case fieldSurname:
		return &u.Surname
	case fieldMail:
		return &u.Mail
	case fieldJobTitle:
		return &u.JobTitle
	case fieldDepartment:
		return &u.Department
	case fieldCompanyName:
		return &u.CompanyName
	case fieldOfficeLocation:
		return &u.OfficeLocation
	case fieldStreetAddress:
		return &u.StreetAddress
	case fieldCity:
		return &u.City
	case fieldState:
		return &u.State
	case fieldCountry:
		return &u.Country
	case fieldUsageLocation:
		return &u.UsageLocation
	case fieldPostalCode:
		return &u.PostalCode
	case fieldMobilePhone:
		return &u.MobilePhone
	case fieldPreferredLanguage:
		return &u.PreferredLanguage
	case fieldMailNickname:
		return &u.MailNickname
	}
	panic("usersync: no string field " + strconv.Itoa(int(f)))
}

// pageString decodes a string member of the page (null keeps old).
func (d *pageDecoder) pageString(old string) (string, error) {
	d.skipSpace()
	if d.literal("null") {
		return old, nil
	}
	if d.pos < len(d.data) && d.data[d.pos] != '"' {
		if err := d.skipValue(0); err != nil {
			return "", err
		}
		return "", fmt.Errorf("%w: not a string", errNotCollection)
	}
	raw, err := d.rawString()
	if err != nil {
		return "", err
	}
	return string(raw), nil
}

// count decodes @odata.count, an integer (null keeps the old value).
func (d *pageDecoder) count(v *int64) error {
	d.skipSpace()
	if d.literal("null") {
		return nil
	}
	start := d.pos
	if d.pos < len(d.data) && d.data[d.pos] == '"' {
		return d.typeErr("a number")
	}
	if err := d.number(); err != nil {
		return err
	}
	n, err := strconv.ParseInt(string(d.data[start:d.pos]), 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not an int64", errNotCollection, d.data[start:d.pos])
	}
	*v = n
	return nil
}

// skipSpace skips JSON white space.
func (d *pageDecoder) skipSpace() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

func (d *pageDecoder) consume(c byte) bool {
	if d.pos < len(d.data) && d.data[d.pos] == c {
		d.pos++
		return true
	}
	return false
}

func (d *pageDecoder) literal(s string) bool {
	if len(d.data)-d.pos >= len(s) && string(d.data[d.pos:d.pos+len(s)]) == s {
		d.pos += len(s)
		return true
	}
	return false
}

func (d *pageDecoder) colon() error {
	d.skipSpace()
	if !d.consume(':') {
		return d.syntax("':' after a member name")
	}
	return nil
}

// syntax returns the error for unexpected input (or its end).
func (d *pageDecoder) syntax(want string) error {
	if d.pos >= len(d.data) {
		return io.ErrUnexpectedEOF
	}
	return fmt.Errorf("%w: invalid JSON at offset %d: %q where %s was expected", errNotCollection, d.pos, d.data[d.pos], want)
}

// typeErr returns the error for a valid JSON value of the wrong type; it
// first checks that the value is valid, so invalid JSON is always a
// syntax error.
func (d *pageDecoder) typeErr(want string) error {
	start := d.pos
	if err := d.skipValue(0); err != nil {
		return err
	}
	return fmt.Errorf("%w: %s where %s was expected", errNotCollection, abbreviate(d.data[start:d.pos]), want)
}

func abbreviate(b []byte) string {
	if len(b) > 20 {
		return strconv.Quote(string(b[:20])) + "..."
	}
	return strconv.Quote(string(b))
}

// rawString reads a JSON string at pos and returns its unescaped bytes:
// a slice of the page when it has no escapes and is valid UTF-8, else of
// d.scratch (valid until the next call).
func (d *pageDecoder) rawString() ([]byte, error) {
	if d.pos >= len(d.data) {
		return nil, io.ErrUnexpectedEOF
	}
	if d.data[d.pos] != '"' {
		return nil, d.syntax("a string")
	}
	start := d.pos + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		if c == '"' {
			d.pos = i + 1
			return d.data[start:i], nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			d.scratch = d.scratch[:0]
			var err error
			d.scratch, err = d.unquoteSlow(d.scratch, start)
			return d.scratch, err
		}
		i++
	}
	return nil, io.ErrUnexpectedEOF
}

// appendString reads a JSON string at pos and appends its unescaped bytes
// to the arena.
func (d *pageDecoder) appendString() error {
	start := d.pos + 1
	i := start
	for i < len(d.data) {
		c := d.data[i]
		if c == '"' {
			d.arena = append(d.arena, d.data[start:i]...)
			d.pos = i + 1
			return nil
		}
		if c == '\\' || c < 0x20 || c >= utf8.RuneSelf {
			var err error
			d.arena, err = d.unquoteSlow(d.arena, start)
			return err
		}
		i++
	}
	return io.ErrUnexpectedEOF
}

// unquoteSlow unescapes the string whose contents start at start
// (after the quote), appending to dst, exactly as encoding/json does:
// escapes decoded, surrogate pairs joined, lone surrogates and invalid
// UTF-8 replaced by U+FFFD, control characters refused.
func (d *pageDecoder) unquoteSlow(dst []byte, start int) ([]byte, error) {
	i := start
	for i < len(d.data) {
		c := d.data[i]
		switch {
		case c == '"':
			d.pos = i + 1
			return dst, nil
		case c < 0x20:
			d.pos = i
			return dst, d.syntax("a string character (control characters must be escaped)")
		case c == '\\':
			if i+1 >= len(d.data) {
				return dst, io.ErrUnexpectedEOF
			}
			e := d.data[i+1]
			switch e {
			case '"', '\\', '/':
				dst = append(dst, e)
				i += 2
			case 'b':
				dst = append(dst, '\b')
				i += 2
			case 'f':
				dst = append(dst, '\f')
				i += 2
			case 'n':
				dst = append(dst, '\n')
				i += 2
			case 'r':
				dst = append(dst, '\r')
				i += 2
			case 't':
				dst = append(dst, '\t')
				i += 2
			case 'u':
				r, ok := d.hex4(i + 2)
				if !ok {
					return dst, d.badEscape(i)
				}
				i += 6
				if utf16.IsSurrogate(r) {
					if i+1 < len(d.data) && d.data[i] == '\\' && d.data[i+1] == 'u' {
						if r2, ok := d.hex4(i + 2); ok {
							if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
								dst = utf8.AppendRune(dst, dec)
								i += 6
								continue
							}
						} else {
							return dst, d.badEscape(i)
						}
					}
					r = utf8.RuneError
				}
				dst = utf8.AppendRune(dst, r)
			default:
				d.pos = i + 1
				return dst, d.syntax("a valid escape")
			}
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, size := utf8.DecodeRune(d.data[i:])
			if r == utf8.RuneError && size == 1 {
				dst = utf8.AppendRune(dst, utf8.RuneError)
			} else {
				dst = append(dst, d.data[i:i+size]...)
			}
			i += size
		}
	}
	return dst, io.ErrUnexpectedEOF
}

func (d *pageDecoder) badEscape(i int) error {
	if i+6 > len(d.data) {
		// Valid hex digits up to the end are a truncation, not a syntax error.
		ok := true
		for j := i + 2; j < len(d.data); j++ {
			if !isHex(d.data[j]) {
				ok = false
			}
		}
		if ok {
			return io.ErrUnexpectedEOF
		}
	}
	return fmt.Errorf("%w: invalid \\u escape at offset %d", errNotCollection, i)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// hex4 decodes four hex digits at i.
func (d *pageDecoder) hex4(i int) (rune, bool) {
	if i+4 > len(d.data) {
		return 0, false
	}
	var r rune
	for _, c := range d.data[i : i+4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	return r, true
}

// maxDepth bounds the nesting of skipped values, as encoding/json's
// 10,000.
const maxDepth = 10000

// skipValue validates and skips the JSON value at pos.
func (d *pageDecoder) skipValue(depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: exceeded max depth", errNotCollection)
	}
	d.skipSpace()
	if d.pos >= len(d.data) {
		return io.ErrUnexpectedEOF
	}
	switch c := d.data[d.pos]; c {
	case '"':
		_, err := d.rawString()
		return err
	case '{':
		d.pos++
		d.skipSpace()
		if d.consume('}') {
			return nil
		}
		for {
			d.skipSpace()
			if _, err := d.rawString(); err != nil {
				return err
			}
			if err := d.colon(); err != nil {
				return err
			}
			if err := d.skipValue(depth + 1); err != nil {
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
	case '[':
		d.pos++
		d.skipSpace()
		if d.consume(']') {
			return nil
		}
		for {
			if err := d.skipValue(depth + 1); err != nil {
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
	case 't':
		return d.word("true")
	case 'f':
		return d.word("false")
	case 'n':
		return d.word("null")
	default:
		if c == '-' || '0' <= c && c <= '9' {
			return d.number()
		}
		return d.syntax("a value")
	}
}

// word consumes the literal s, or reports a truncation or syntax error.
func (d *pageDecoder) word(s string) error {
	if d.literal(s) {
		return nil
	}
	rest := d.data[d.pos:]
	if len(rest) < len(s) && string(rest) == s[:len(rest)] {
		return io.ErrUnexpectedEOF
	}
	return d.syntax("a value")
}

// number validates and consumes a JSON number.
func (d *pageDecoder) number() error {
	i := d.pos
	n := len(d.data)
	if i < n && d.data[i] == '-' {
		i++
	}
	digits := func() int {
		s := i
		for i < n && '0' <= d.data[i] && d.data[i] <= '9' {
			i++
		}
		return i - s
	}
	if i >= n {
		d.pos = i
		return io.ErrUnexpectedEOF
	}
	switch {
	case d.data[i] == '0':
		i++
	case '1' <= d.data[i] && d.data[i] <= '9':
		digits()
	default:
		d.pos = i
		return d.syntax("a digit")
	}
	if i < n && d.data[i] == '.' {
		i++
		if digits() == 0 {
			d.pos = i
			if i >= n {
				return io.ErrUnexpectedEOF
			}
			return d.syntax("a digit")
		}
	}
	if i < n && (d.data[i] == 'e' || d.data[i] == 'E') {
		i++
		if i < n && (d.data[i] == '+' || d.data[i] == '-') {
			i++
		}
		if digits() == 0 {
			d.pos = i
			if i >= n {
				return io.ErrUnexpectedEOF
			}
			return d.syntax("a digit")
		}
	}
	d.pos = i
	return nil
}
