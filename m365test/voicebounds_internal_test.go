package m365test

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestVoiceStateBounds: a long-running fake keeps at most the newest
// maxVoiceLog events and forgets settled operations past maxOperations,
// never a pending one.
func TestVoiceStateBounds(t *testing.T) {
	t.Parallel()
	vs := newVoiceState("t", 10)
	pending := &numberOp{id: "pending"}
	vs.addOpLocked(pending)
	for i := range 2*maxOperations + 5 {
		op := &numberOp{id: strconv.Itoa(i), settled: true}
		vs.addOpLocked(op)
		vs.pending--
		op.ev = vs.logLocked(VoiceEvent{Kind: "assignNumber", OperationID: op.id})
	}
	require.Contains(t, vs.ops, "pending", "a pending operation is never forgotten")
	assert.LessOrEqual(t, len(vs.ops), 2*maxOperations+1)
	assert.Contains(t, vs.ops, strconv.Itoa(2*maxOperations+4), "the newest is kept")
	assert.NotContains(t, vs.ops, "0", "the oldest settled one is forgotten")
	assert.LessOrEqual(t, len(vs.log), 2*maxVoiceLog)
	assert.Equal(t, strconv.Itoa(2*maxOperations+4), vs.log[len(vs.log)-1].OperationID)
	assert.Equal(t, 1, vs.pending)
}
