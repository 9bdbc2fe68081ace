package httpapi

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/voice"
)

// refreshVoice asks for a read of customer's inventory, waits for its
// operation and returns it.
func (e *env) refreshVoice(t *testing.T, customer string) operationJSON {
	t.Helper()
	w := e.do(t, "POST", "/customers/"+customer+"/voice/numbers/refresh", tokenAll, nil)
	require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
	loc := w.Header().Get("Location")
	require.Contains(t, loc, "/customers/"+customer+"/voice/operations/vop_")
	return e.waitOperation(t, loc)
}

// TestVoiceRefreshOperation: POST voice/numbers/refresh answers 202
// with the Location of a refresh operation at once; the operation reads
// the inventory and says how many numbers; a customer without the
// permission gets the operation failed, naming it.
func TestVoiceRefreshOperation(t *testing.T) {
	t.Parallel()
	e := newVoiceEnv(t)
	e.connect(t, "a", e.contoso)
	op := e.refreshVoice(t, "a")
	assert.Equal(t, voice.KindRefreshInventory, op.Kind)
	require.Equal(t, voice.StateSucceeded, op.State, "%+v", op.Items)
	require.Len(t, op.Items, 1)
	require.Len(t, op.Items[0].Steps, 1)
	assert.Equal(t, "inventory", op.Items[0].Steps[0].Step)
	assert.Equal(t, "120 numbers read", op.Items[0].Steps[0].Detail)
	page := decode[voice.NumberPage](t, e.do(t, "GET", "/customers/a/voice/numbers?limit=1", tokenA, nil), http.StatusOK)
	assert.Equal(t, 120, page.Total)
	ops := decode[operationPageJSON](t, e.do(t, "GET", "/customers/a/voice/operations", tokenA, nil), http.StatusOK)
	require.NotEmpty(t, ops.Operations)
	assert.Equal(t, op.ID, ops.Operations[0].ID)
}

// TestVoiceRefreshWithoutPermission: the refresh of a customer that did
// not grant the numbers permission ends failed, saying which.
func TestVoiceRefreshWithoutPermission(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.connect(t, "a", e.contoso)
	op := e.refreshVoice(t, "a")
	require.Equal(t, voice.StateFailed, op.State, "%+v", op.Items)
	assert.Contains(t, op.Items[0].Steps[0].Detail, "TeamsTelephoneNumber.Read.All")
}
