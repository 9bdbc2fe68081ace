package main

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/httpapi"
	"github.com/tenantgate/tenantgate/internal/testdb"
)

// TestSessionsAcrossReplicas: two replicas of the portal (two pools on one
// database, SQLite and PostgreSQL) share the signed-in sessions and the
// sign-ins under way: a browser signed in at one is signed in at the
// other, signing out at one signs out at both, a sign-in's callback may
// reach either and is used once however many race for it, and the
// database holds no cookie value, state or PKCE verifier.
func TestSessionsAcrossReplicas(t *testing.T) {
	t.Parallel()
	for _, db := range testdb.All(t) {
		t.Run(db.Name, func(t *testing.T) {
			ctx := t.Context()
			storeA, err := openSessionStore(ctx, db.DB, db.Dialect, false)
			require.NoError(t, err)
			storeB, err := openSessionStore(ctx, db.Open(t), db.Dialect, false)
			require.NoError(t, err)
			a, b := newAdminAuth("Admin", "break-glass", false), newAdminAuth("Admin", "break-glass", false)
			a.sessions, b.sessions = storeA, storeB

			who := principal{Kind: kindTechnician, ID: "oid-1", Name: "Ada Admin", Username: "ada@example.com", Role: httpapi.RoleOperator}
			rec := httptest.NewRecorder()
			require.NoError(t, a.startSession(ctx, rec, who))
			cookie := rec.Result().Cookies()[0]
			req := func() *http.Request {
				r := httptest.NewRequestWithContext(ctx, "GET", "/api/customers", nil)
				r.AddCookie(cookie)
				return r
			}
			got, err := b.who(req())
			require.NoError(t, err, "signed in at A, known at B")
			want := who
			want.Session = true
			assert.Equal(t, want, got)
			assert.Equal(t, "Ada Admin (ada@example.com)", b.Actor(req()))

			var stored int
			require.NoError(t, db.DB.QueryRowContext(ctx, db.Dialect.Rebind(`SELECT COUNT(*) FROM tenantgate_portal_sessions WHERE hash = ?`),
				cookie.Value).Scan(&stored))
			assert.Zero(t, stored, "the cookie value is not stored")

			b.logout(httptest.NewRecorder(), req())
			_, err = a.who(req())
			assert.ErrorIs(t, err, errNotSignedIn, "signed out at B, out at A")

			// A sign-in started at A completes at B, once.
			binding := newBinding()
			flow := signInFlow{nonce: "n-1", binding: sha256.Sum256([]byte(binding)), next: "/customers", expires: time.Now().Add(signInFlowTTL)}
			require.NoError(t, storeA.putSignIn(ctx, "state-1", flow))
			var wins atomic.Int32
			var wg sync.WaitGroup
			for _, s := range []*sessionStore{storeA, storeB, storeA, storeB} {
				wg.Go(func() {
					f, ok, err := s.takeSignIn(ctx, "state-1")
					if !assert.NoError(t, err) || !ok {
						return
					}
					wins.Add(1)
					assert.Equal(t, flow.nonce, f.nonce)
					assert.Equal(t, flow.binding, f.binding)
					assert.Equal(t, flow.next, f.next)
					assert.Equal(t, flow.expires.Unix(), f.expires.Unix())
				})
			}
			wg.Wait()
			assert.EqualValues(t, 1, wins.Load(), "a sign-in is used once")

			require.NoError(t, storeB.putSignIn(ctx, "state-2", flow))
			var states, bindings, nonces []string
			rows, err := db.DB.QueryContext(ctx, `SELECT state_hash, binding_hash, nonce FROM tenantgate_portal_signins`)
			require.NoError(t, err)
			for rows.Next() {
				var s, bh, n string
				require.NoError(t, rows.Scan(&s, &bh, &n))
				states, bindings, nonces = append(states, s), append(bindings, bh), append(nonces, n)
			}
			require.NoError(t, rows.Err())
			require.Len(t, states, 1)
			assert.NotEqual(t, "state-2", states[0], "the state is stored hashed")
			assert.NotContains(t, bindings[0], binding, "the binding cookie is stored hashed")
			assert.NotContains(t, strings.Join(append(states, append(bindings, nonces...)...), " "), pkceVerifier(binding), "no PKCE verifier")
		})
	}
}

// TestPKCEVerifier: the verifier derived from a flow cookie is RFC 7636's
// shape (43 to 128 unreserved characters) and differs per cookie.
func TestPKCEVerifier(t *testing.T) {
	t.Parallel()
	v1, v2 := pkceVerifier(newBinding()), pkceVerifier(newBinding())
	assert.NotEqual(t, v1, v2)
	for _, v := range []string{v1, v2} {
		assert.GreaterOrEqual(t, len(v), 43)
		assert.LessOrEqual(t, len(v), 128)
		assert.Empty(t, strings.Trim(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"), v)
	}
}
