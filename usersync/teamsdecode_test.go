package usersync

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// decodeTeamsStd decodes a page with encoding/json, the reference.
func decodeTeamsStd(data []byte) (map[string]*TeamsConfig, string, error) {
	var page struct {
		NextLink string      `json:"@odata.nextLink"`
		Value    []teamsWire `json:"value"`
	}
	if err := json.Unmarshal(data, &page); err != nil {
		return nil, "", err
	}
	out := map[string]*TeamsConfig{}
	for i := range page.Value {
		if id := page.Value[i].ID; id != "" {
			out[id] = page.Value[i].config()
		}
	}
	return out, page.NextLink, nil
}

func decodeTeamsFast(data []byte) (map[string]*TeamsConfig, string, error) {
	out := map[string]*TeamsConfig{}
	var d pageDecoder
	next, err := d.decodeTeamsPage(data, func(id string, c *TeamsConfig) { out[id] = c })
	return out, next, err
}

const teamsSample = `{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#admin/teams/userConfigurations",
 "@odata.nextLink":"https://graph.microsoft.com/v1.0/admin/teams/userConfigurations?$skiptoken=abc",
 "value":[
  {"id":"u1","userPrincipalName":"user00024@contoso.com","tenantId":"t","accountType":"user","isEnterpriseVoiceEnabled":true,
   "featureTypes":["Teams","AudioConferencing","PhoneSystem"],
   "telephoneNumbers":[{"telephoneNumber":"+39020000024","assignmentCategory":"primary"}],
   "effectivePolicyAssignments":[{"policyType":"OnlineVoiceRoutingPolicy","policyAssignment":{"displayName":"VRP-IT","assignmentType":"direct","policyId":"p","groupId":null}},
     {"policyType":"TenantDialPlan","policyAssignment":{"displayName":"DP-IT","assignmentType":"group","policyId":"q","groupId":"g"}}],
   "createdDateTime":"2024-01-15T09:00:00Z","modifiedDateTime":null},
  {"id":"u2","accountType":"resourceAccount","isEnterpriseVoiceEnabled":false,"featureTypes":[],"telephoneNumbers":[],"effectivePolicyAssignments":[]},
  {"ID":"u3","AccountType":"guest","featureTypes":null,"telephoneNumbers":null,"effectivePolicyAssignments":null,"extra":{"a":[1,2.5e3,true,null]}},
  {"id":"u\u00e9\"4","featureTypes":["A"],"featureTypes":["B"]},
  {"accountType":"user"}
 ]}`

func TestDecodeTeamsPage(t *testing.T) {
	t.Parallel()
	want, wantNext, err := decodeTeamsStd([]byte(teamsSample))
	require.NoError(t, err)
	got, next, err := decodeTeamsFast([]byte(teamsSample))
	require.NoError(t, err, "fast decoder")
	require.Equal(t, wantNext, next, "fast decoder: next link")
	require.Equal(t, want, got, "fast decoder")
	c := got["u1"]
	assert.Equal(t, "tel:+39020000024", c.LineURI(), "u1's line URI")
	assert.Equal(t, "VRP-IT", c.Policies["OnlineVoiceRoutingPolicy"], "u1's OnlineVoiceRoutingPolicy")
	for _, bad := range []string{``, `{`, `{"value":[{"id":1}]}`, `{"value":{}}`, `{"value":[{"isEnterpriseVoiceEnabled":"yes"}]}`, `{"value":[]} x`, `{"value":[{"featureTypes":[1]}]}`} {
		_, _, err := decodeTeamsFast([]byte(bad))
		assert.Error(t, err, "%q decoded without error", bad)
	}
}

// FuzzDecodeTeamsPage: the fast decoder accepts what encoding/json
// accepts and decodes the same configurations.
func FuzzDecodeTeamsPage(f *testing.F) {
	f.Add([]byte(teamsSample))
	f.Add([]byte(`{"value":[{"id":"a","telephoneNumbers":[{"telephoneNumber":"\ud83d\ude00","assignmentCategory":"x"}]}]}`))
	f.Add([]byte(`{"value":[],"@odata.nextLink":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		want, wantNext, werr := decodeTeamsStd(data)
		got, next, err := decodeTeamsFast(data)
		if werr != nil {
			if json.Valid(data) {
				// Type mismatches encoding/json reports may be skipped
				// members here only when the member is unknown; known
				// members must fail alike.
				require.Error(t, err, "encoding/json: %v; fast decoder accepted it", werr)
			}
			return
		}
		require.NoError(t, err, "encoding/json accepted it; fast decoder")
		require.Equal(t, wantNext, next, "next link")
		require.Equal(t, want, got)
	})
}

// teamsBenchPage is a page of 999 configurations shaped as the demo
// tenant's: a third voice-enabled with a number and five policies.
func teamsBenchPage() []byte {
	b := []byte(`{"@odata.context":"https://graph.microsoft.com/v1.0/$metadata#admin/teams/userConfigurations","@odata.nextLink":"https://graph.microsoft.com/v1.0/admin/teams/userConfigurations?$skiptoken=abc","value":[`)
	for i := range 999 {
		if i > 0 {
			b = append(b, ',')
		}
		id := fmt.Sprintf("%08d-0000-4000-8000-%012d", i, i)
		if i%3 != 0 {
			b = fmt.Appendf(b, `{"id":%q,"accountType":"user","isEnterpriseVoiceEnabled":false,"featureTypes":["Teams","AudioConferencing"],"telephoneNumbers":[],"effectivePolicyAssignments":[]}`, id)
			continue
		}
		b = fmt.Appendf(b, `{"id":%q,"accountType":"user","isEnterpriseVoiceEnabled":true,"featureTypes":["Teams","AudioConferencing","PhoneSystem"],"telephoneNumbers":[{"telephoneNumber":"+3902%07d","assignmentCategory":"primary"}],"effectivePolicyAssignments":[`, id, i)
		for k, p := range []string{"TeamsCallingPolicy", "OnlineVoiceRoutingPolicy", "TenantDialPlan", "CallingLineIdentity", "TeamsEmergencyCallingPolicy"} {
			if k > 0 {
				b = append(b, ',')
			}
			b = fmt.Appendf(b, `{"policyType":%q,"policyAssignment":{"displayName":"%s-IT","assignmentType":"direct","policyId":"%s-id","groupId":null}}`, p, p, p)
		}
		b = append(b, "]}"...)
	}
	return append(b, "]}"...)
}

// BenchmarkDecodeTeamsPage compares the tokenizer with encoding/json into
// teamsWire (the reference decoder) on one 999-configuration page.
func BenchmarkDecodeTeamsPage(b *testing.B) {
	page := teamsBenchPage()
	for _, bc := range []struct {
		name string
		fn   func([]byte) (map[string]*TeamsConfig, string, error)
	}{{"tokenizer", decodeTeamsFast}, {"encoding-json", decodeTeamsStd}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(page)))
			b.ReportAllocs()
			for b.Loop() {
				m, _, err := bc.fn(page)
				require.NoError(b, err)
				require.Len(b, m, 999, "configurations")
			}
		})
	}
}
