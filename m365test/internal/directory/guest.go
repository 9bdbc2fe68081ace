package directory

import (
	"fmt"
	"strings"
)

// AddCustom adds a user whose properties are given rather than generated
// (a guest, for example), at the next generator index: it lists after the
// users before it and joins the next delta round. u.ID must be a fresh
// UUID and u.UserPrincipalName a name no user has; Index is set.
func (d *Directory) AddCustom(u User) (User, error) {
	id, ok := parseUUID(u.ID)
	if !ok {
		return User{}, fmt.Errorf("directory: AddCustom: id %q is not a UUID", u.ID)
	}
	if u.UserPrincipalName == "" || !strings.Contains(u.UserPrincipalName, "@") {
		return User{}, fmt.Errorf("directory: AddCustom: userPrincipalName %q is not a name@domain", u.UserPrincipalName)
	}
	u = u.clone()
	err := d.change(func(o *overlay) error {
		if _, taken := d.lookup(u.ID); taken {
			return fmt.Errorf("directory: AddCustom: id %s is taken", u.ID)
		}
		if _, taken := d.lookup(u.UserPrincipalName); taken {
			return fmt.Errorf("directory: AddCustom: userPrincipalName %s is taken", u.UserPrincipalName)
		}
		if d.n+o.added+1 > MaxUsers {
			return fmt.Errorf("directory: AddCustom: the directory holds %d users at most", MaxUsers)
		}
		i := d.n + o.added
		o.added++
		u.Index = i
		u.CreatedDateTime = d.nextCreated(o)
		o.ids[id] = int32(i)
		o.changed[i] = &u
		if o.upns == nil {
			o.upns = map[string]int{}
		}
		o.upns[strings.ToLower(u.UserPrincipalName)] = i
		o.custom = append(o.custom, i)
		o.log = append(o.log, i)
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u.clone(), nil
}

// customIndex returns the index of the custom user named upn.
func (o *overlay) customIndex(upn string) (int, bool) {
	if o == nil || o.upns == nil {
		return 0, false
	}
	i, ok := o.upns[strings.ToLower(upn)]
	return i, ok
}

// isCustom reports whether index i is a custom user's.
func (o *overlay) isCustom(i int) bool {
	if o == nil {
		return false
	}
	for _, c := range o.custom {
		if c == i {
			return true
		}
	}
	return false
}
