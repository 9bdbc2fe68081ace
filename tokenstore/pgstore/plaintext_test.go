package pgstore

import (
	"bytes"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/tokenstore/internal/plaintexttest"
)

// TestNoPlaintextInRows writes known secrets through a sealing store and
// reads back every table of the schema, as raw column bytes and as each
// row's text form (what psql or a dump shows), looking for them.
func TestNoPlaintextInRows(t *testing.T) {
	t.Parallel()
	schema := freshSchema(t)
	s := openTest(t, schema)
	w := plaintexttest.WriteSecrets(t, s)
	ctx := t.Context()

	var raw, text []byte
	rows, err := s.pool.Query(ctx, `SELECT customer, kind, name, data FROM `+s.records)
	require.NoError(t, err)
	for rows.Next() {
		var c, k, n string
		var data []byte
		require.NoError(t, rows.Scan(&c, &k, &n, &data))
		raw = append(append(raw, c+k+n...), data...)
	}
	require.NoError(t, rows.Err())
	plaintexttest.Check(t, "tokenstore_records (raw columns)", raw, w)

	for _, table := range []string{"tokenstore_records", "tokenstore_leases", "tenantgate_migrations"} {
		rows, err := s.pool.Query(ctx, `SELECT t::text FROM `+tablePrefix(schema)+table+` t`)
		require.NoError(t, err)
		texts, err := pgx.CollectRows(rows, pgx.RowTo[string])
		require.NoError(t, err)
		dump := []byte(joinLines(texts))
		if table == "tokenstore_records" {
			plaintexttest.Check(t, table+" (rows as text)", dump, w)
			text = dump
		} else {
			plaintexttest.CheckSecrets(t, table+" (rows as text)", dump, w)
		}
	}
	assert.True(t, bytes.Contains(text, []byte(`\x`)), "row text holds no bytea payloads: %.200q", text)
}

func joinLines(lines []string) string {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}
