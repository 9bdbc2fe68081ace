package directory

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// overlay is what changed in a directory after [New]: users added,
// changed and deleted, and the change log delta rounds read. It is
// immutable once published; a change copies it.
type overlay struct {
	added   int                // generated users beyond New's n: indexes n .. n+added-1
	changed map[int]*User      // by generator index (-1: the Global Admin)
	deleted map[int]bool       // by generator index
	ids     map[[16]byte]int32 // object ID -> index of the added users
	log     []int              // generator index of each change, oldest first
	epoch   uint64             // bumped by ResetDelta: older delta tokens are refused
	upns    map[string]int     // lower-case userPrincipalName -> index of the custom users (AddCustom)
	custom  []int              // indexes of the custom users; their changed entry stays after Delete
	// lastCreated is the createdDateTime of the newest added user (zero:
	// none added), so creation times keep listing order.
	lastCreated time.Time
}

func (o *overlay) addedUsers() int {
	if o == nil {
		return 0
	}
	return o.added
}

func (o *overlay) deletedUsers() int {
	if o == nil {
		return 0
	}
	return len(o.deleted)
}

func (o *overlay) isDeleted(i int) bool { return o != nil && o.deleted[i] }

func (o *overlay) changedUser(i int) (*User, bool) {
	if o == nil {
		return nil, false
	}
	u, ok := o.changed[i]
	return u, ok
}

func (o *overlay) addedIndex(id [16]byte) (int, bool) {
	if o == nil {
		return 0, false
	}
	i, ok := o.ids[id]
	return int(i), ok
}

func (o *overlay) seq() int {
	if o == nil {
		return 0
	}
	return len(o.log)
}

func (o *overlay) clone() *overlay {
	if o == nil {
		return &overlay{changed: map[int]*User{}, deleted: map[int]bool{}, ids: map[[16]byte]int32{}}
	}
	c := *o
	c.changed = maps.Clone(o.changed)
	c.deleted = maps.Clone(o.deleted)
	c.ids = maps.Clone(o.ids)
	c.upns = maps.Clone(o.upns)
	c.custom = slices.Clip(o.custom)
	c.log = slices.Clip(o.log) // appending copies
	return &c
}

// change applies fn to a copy of the overlay and publishes it.
func (d *Directory) change(fn func(o *overlay) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	o := d.ov.Load().clone()
	if err := fn(o); err != nil {
		return err
	}
	d.ov.Store(o)
	d.recordLocked(o)
	return nil
}

// fixed are the properties [Directory.Update] refuses to change: they
// name the user and fix its listing order.
var fixed = map[prop]bool{pID: true, pUserPrincipalName: true, pDisplayName: true, pMail: true, pMailNickname: true, pProxyAddresses: true}

// Update changes properties of the user idOrUPN (object ID or
// userPrincipalName), as PATCH /users/{id} does. props maps Graph property
// names to values: a string or nil (null) for string properties, a bool
// for accountEnabled, a []string for businessPhones and otherMails, a
// []Identity for identities (those besides the userPrincipalName one). id,
// userPrincipalName, displayName, mail, mailNickname and proxyAddresses
// cannot change (they fix the listing order). Every change, even one
// that sets a property to its current value, counts for delta rounds.
func (d *Directory) Update(idOrUPN string, props map[string]any) error {
	return d.change(func(o *overlay) error {
		i, ok := d.lookup(idOrUPN)
		if !ok || o.deleted[i] {
			return fmt.Errorf("directory: no user %q", idOrUPN)
		}
		var u User
		if c, ok := o.changed[i]; ok {
			u = c.clone()
		} else if i < 0 {
			u = d.admin.clone()
		} else {
			u = d.generate(i)
		}
		for name, v := range props {
			if err := u.set(name, v); err != nil {
				return err
			}
		}
		o.changed[i] = &u
		o.log = append(o.log, i)
		return nil
	})
}

// set sets the Graph property name of u to v.
func (u *User) set(name string, v any) error {
	if strings.EqualFold(name, "identities") {
		ids, ok := v.([]Identity)
		if !ok {
			return fmt.Errorf("directory: identities needs a []Identity, not %T", v)
		}
		for _, id := range ids {
			if id.SignInType == "" || strings.EqualFold(id.SignInType, "userPrincipalName") || id.Issuer == "" {
				return fmt.Errorf("directory: identity %+v: needs a signInType other than userPrincipalName (derived from the UPN) and an issuer", id)
			}
		}
		u.Identities = slices.Clone(ids)
		return nil
	}
	p, ok := lookupProp(name)
	if !ok {
		return fmt.Errorf("directory: %s", unknownProperty(name))
	}
	if fixed[p] {
		return fmt.Errorf("directory: property %s cannot be changed", props[p].name)
	}
	switch props[p].kind {
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("directory: %s needs a bool, not %T", props[p].name, v)
		}
		u.AccountEnabled = b
		return nil
	case kindCollection:
		l, ok := v.([]string)
		if !ok {
			return fmt.Errorf("directory: %s needs a []string, not %T", props[p].name, v)
		}
		l = append([]string{}, l...)
		if p == pBusinessPhones {
			u.BusinessPhones = l
		} else {
			u.OtherMails = l
		}
		return nil
	}
	var s string
	switch x := v.(type) {
	case nil:
	case string:
		s = x
	default:
		return fmt.Errorf("directory: %s needs a string or nil, not %T", props[p].name, v)
	}
	*u.strField(p) = s
	return nil
}

// strField returns the string property p of u.
func (u *User) strField(p prop) *string {
	switch p {
	case pCity:
		return &u.City
	case pCompanyName:
		return &u.CompanyName
	case pCountry:
		return &u.Country
	case pDepartment:
		return &u.Department
	case pEmployeeID:
		return &u.EmployeeID
	case pGivenName:
		return &u.GivenName
	case pJobTitle:
		return &u.JobTitle
	case pMobilePhone:
		return &u.MobilePhone
	case pOfficeLocation:
		return &u.OfficeLocation
	case pPostalCode:
		return &u.PostalCode
	case pPreferredLanguage:
		return &u.PreferredLanguage
	case pState:
		return &u.State
	case pStreetAddress:
		return &u.StreetAddress
	case pSurname:
		return &u.Surname
	case pUsageLocation:
		return &u.UsageLocation
	case pUserType:
		return &u.UserType
	}
	panic("directory: not a changeable string property: " + props[p].name)
}

// Add adds k generated users: they are the next generator indexes, so
// they follow the demo data rules and listing order. It fails beyond
// [MaxUsers].
func (d *Directory) Add(k int) ([]User, error) {
	var out []User
	err := d.change(func(o *overlay) error {
		if k < 0 || d.n+o.added+k > MaxUsers {
			return fmt.Errorf("directory: adding %d users would exceed %d", k, MaxUsers)
		}
		for range k {
			i := d.n + o.added
			o.added++
			o.ids[d.uuid(i)] = int32(i)
			o.log = append(o.log, i)
			u := d.generate(i)
			// An added user keeps the time it was created: it lives in
			// changed, as a generated user's time is the demo rule's.
			u.CreatedDateTime = d.nextCreated(o)
			o.changed[i] = &u
			out = append(out, u.clone())
		}
		return nil
	})
	return out, err
}

// Delete deletes the user idOrUPN. The Global Admin cannot be deleted.
func (d *Directory) Delete(idOrUPN string) error {
	return d.change(func(o *overlay) error {
		i, ok := d.lookup(idOrUPN)
		if !ok || o.deleted[i] {
			return fmt.Errorf("directory: no user %q", idOrUPN)
		}
		if i < 0 {
			return fmt.Errorf("directory: the Global Admin cannot be deleted")
		}
		o.deleted[i] = true
		if !o.isCustom(i) {
			delete(o.changed, i) // a custom user keeps its identity for delta's @removed
		}
		o.log = append(o.log, i)
		return nil
	})
}

// ResetDelta makes every delta link and delta nextLink handed out so far
// invalid: a client must start over with a full round, as after Graph
// loses its sync state.
func (d *Directory) ResetDelta() {
	_ = d.change(func(o *overlay) error {
		o.epoch++
		return nil
	})
}

// Positions returns the number of listing positions: N()+1, deleted
// users' positions included. Position 0 is the Global Admin, position
// k+1 generated user k.
func (d *Directory) Positions() int { return d.positions() }

// Deleted reports whether generated user i was deleted.
func (d *Directory) Deleted(i int) bool { return d.ov.Load().isDeleted(i) }
