package httpapi

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/tenantgate/tenantgate/fleet"
)

// offboardingFleet reports customer "a" as being offboarded.
type offboardingFleet struct{ fleetAPI }

func (f offboardingFleet) Customer(ctx context.Context, customer string) (fleet.Customer, error) {
	c, err := f.fleetAPI.Customer(ctx, customer)
	if customer == "a" {
		c.Customer, c.State, err = "a", fleet.StateOffboarding, nil
	}
	return c, err
}

// TestNoChangesWhileOffboarding: while a customer is being offboarded,
// saving its QoE settings, inviting, and the other changes answer 409
// offboarding: nothing is added behind the erase.
func TestNoChangesWhileOffboarding(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.handler.admin.c.Fleet = offboardingFleet{e.handler.admin.c.Fleet}
	for _, c := range []struct{ method, path string }{
		{"PUT", "/customers/a/m365/qoe"},
		{"POST", "/customers/a/m365/invitations"},
		{"POST", "/customers/a/m365/refresh-token"},
		{"POST", "/customers/a/m365/consent"},
		{"PUT", "/customers/a/m365"},
	} {
		rec := e.do(t, c.method, c.path, tokenAll, map[string]any{})
		assert.Equal(t, http.StatusConflict, rec.Code, "%s %s: %s", c.method, c.path, rec.Body)
		assert.Contains(t, rec.Body.String(), codeOffboarding)
	}
	// Another customer is not affected.
	rec := e.do(t, "PUT", "/customers/b/m365/qoe", tokenAll, map[string]any{})
	assert.NotEqual(t, http.StatusConflict, rec.Code)
}
