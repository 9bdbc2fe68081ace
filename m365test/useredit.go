package m365test

import (
	"fmt"
	"maps"

	"github.com/tenantgate/tenantgate/m365test/internal/directory"
)

// ObjectIdentity is one of a user's sign-in identities (Graph's
// objectIdentity), for [Tenant.UpdateUser]'s "identities": those besides
// the userPrincipalName identity, which Graph derives from the user's
// userPrincipalName (the directory lists it first). A B2C-style local
// account is SignInType "emailAddress" or "userName" with the tenant's
// domain as Issuer; a social or federated one is "federated" with the
// provider as Issuer ("facebook.com").
type ObjectIdentity struct {
	SignInType       string
	Issuer           string
	IssuerAssignedID string // "" is null
}

// UpdateUser changes properties of the tenant's user idOrUPN (object ID or
// userPrincipalName), as an admin's PATCH /users/{id} would: the change
// shows in /users, /users/{id} and the next /users/delta round. props
// maps Graph property names to values: a string or nil (null) for string
// properties, a bool for accountEnabled, a []string for businessPhones
// and otherMails, a []ObjectIdentity for identities. id,
// userPrincipalName, displayName, mail, mailNickname and proxyAddresses
// cannot change: they name the user and fix the listing order.
func (t *Tenant) UpdateUser(idOrUPN string, props map[string]any) error {
	if ids, ok := props["identities"].([]ObjectIdentity); ok {
		conv := make([]directory.Identity, len(ids))
		for i, id := range ids {
			conv[i] = directory.Identity{SignInType: id.SignInType, Issuer: id.Issuer, IssuerAssignedID: id.IssuerAssignedID}
		}
		props = maps.Clone(props)
		props["identities"] = conv
	}
	if err := t.dir.Update(idOrUPN, props); err != nil {
		return fmt.Errorf("m365test: UpdateUser: %w", err)
	}
	return nil
}

// AddUsers adds k users to the tenant and returns their object IDs. They
// are the next generated users (user N, N+1, ... by the demo data rules,
// N = [Tenant.Users] before the call), so they list after the others.
// The tenant holds at most 100,000 generated users.
func (t *Tenant) AddUsers(k int) ([]string, error) {
	us, err := t.dir.Add(k)
	if err != nil {
		return nil, fmt.Errorf("m365test: AddUsers: %w", err)
	}
	ids := make([]string, len(us))
	for i, u := range us {
		ids[i] = u.ID
	}
	return ids, nil
}

// DeleteUser deletes the tenant's user idOrUPN: it leaves /users and the
// next /users/delta round reports it with @removed. The Global Admin
// cannot be deleted.
func (t *Tenant) DeleteUser(idOrUPN string) error {
	if err := t.dir.Delete(idOrUPN); err != nil {
		return fmt.Errorf("m365test: DeleteUser: %w", err)
	}
	return nil
}

// ExpireDeltaLinks makes every /users/delta link of the tenant handed out
// so far fail with 400 syncStateNotFound, as when Graph loses its sync
// state or a link outlives [DeltaLinkLifetime]: the client must read
// every user again.
func (t *Tenant) ExpireDeltaLinks() { t.dir.ResetDelta() }
