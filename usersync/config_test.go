package usersync_test

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/m365access"
	"github.com/tenantgate/tenantgate/usersync"
)

// The Manager is a CredentialSource and a FilterSource as it is.
var (
	_ usersync.CredentialSource = (*m365access.Manager)(nil)
	_ usersync.FilterSource     = (*m365access.Manager)(nil)
)

func TestNewGraphSourceRefusesMisconfiguration(t *testing.T) {
	t.Parallel()
	for name, creds := range map[string]usersync.CredentialSource{
		"nil":                nil,
		"nil *Manager":       (*m365access.Manager)(nil),
		"nil CredentialFunc": usersync.CredentialFunc(nil),
	} {
		src, err := usersync.NewGraphSource(creds, usersync.GraphOptions{})
		assert.Nil(t, src, name)
		if assert.Error(t, err, name) {
			assert.Contains(t, err.Error(), "needs a CredentialSource", name)
		}
	}
	_, err := usersync.NewGraphSource(usersync.CredentialFunc(func(string) azcore.TokenCredential { return nil }), usersync.GraphOptions{BaseURL: "http://graph.example/v1.0"})
	assert.ErrorContains(t, err, "not an absolute https URL")
}

func TestSyncerWithoutSourceOrSink(t *testing.T) {
	t.Parallel()
	for name, s := range map[string]*usersync.Syncer{
		"no source": {Sink: &usersync.MemorySink{}},
		"no sink":   {Source: usersync.SourceFunc(func(context.Context, string, usersync.Query, func(usersync.Page) error) error { return nil })},
	} {
		res := s.SyncCustomer(context.Background(), "c1")
		require.Error(t, res.Err, name)
		assert.Contains(t, res.Err.Error(), "Syncer.Source and Syncer.Sink are required", name)
	}
}

func TestGraphSourceRefusesANilCredential(t *testing.T) {
	t.Parallel()
	src, err := usersync.NewGraphSource(usersync.CredentialFunc(func(string) azcore.TokenCredential { return nil }), usersync.GraphOptions{})
	require.NoError(t, err)
	err = src.Read(context.Background(), "c1", usersync.Query{}, func(usersync.Page) error { return nil })
	assert.ErrorContains(t, err, `no credential for customer "c1"`)
}
