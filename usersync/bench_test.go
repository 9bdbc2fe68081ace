package usersync_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	kauth "github.com/microsoft/kiota-authentication-azure-go"
	khttp "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	graphusers "github.com/microsoftgraph/msgraph-sdk-go/users"
	"github.com/stretchr/testify/require"

	"github.com/tenantgate/tenantgate/usersync"
)

// countSink counts users and keeps nothing: the benchmarks compare
// reading, not storing.
type countSink struct{ n atomic.Int64 }

func (s *countSink) Begin(context.Context, string) (usersync.Pass, error) { return s, nil }
func (s *countSink) Put(_ context.Context, u []usersync.User) (usersync.Counts, error) {
	s.n.Add(int64(len(u)))
	return usersync.Counts{Added: len(u)}, nil
}
func (s *countSink) Commit(context.Context) (usersync.Counts, error) { return usersync.Counts{}, nil }
func (s *countSink) Abort(context.Context) error                     { return nil }

const (
	benchUsers = 50_000
	italyUsers = 5_000
)

// BenchmarkSync compares, on one 50,000-user tenant of the same fake Graph
// over loopback TLS (pages pre-rendered, so the server costs little), the
// sync engine against msgraph-sdk-go's PageIterator with Kiota models and
// against a floor of plain net/http + encoding/json. All read the same
// properties ($select) with $top=999.
func BenchmarkSync(b *testing.B) {
	fg := newFakeGraph()
	defer fg.Close()
	fg.cached = true
	fg.addTenant("contoso", benchUsers)
	src, err := fg.source(usersync.GraphOptions{NoCount: true}, nil)
	require.NoError(b, err)
	italy := usersync.FilterFunc(func(context.Context, string) (string, error) { return "UsageLocation -eq 'IT'", nil })
	italyQuery, err := usersync.CompileFilter("UsageLocation -eq 'IT'")
	require.NoError(b, err)
	// Render and cache every page once, outside the measurements.
	warm(b, src, "contoso", usersync.Query{})
	warm(b, src, "contoso", italyQuery)

	syncer := func(b *testing.B, filters usersync.FilterSource, sink usersync.Sink, want int) {
		s := &usersync.Syncer{Source: src, Sink: sink, Filters: filters, Logger: discardLogger}
		for b.Loop() {
			r := s.SyncCustomer(b.Context(), "contoso")
			require.NoError(b, r.Err)
			require.Equal(b, want, r.Matched, "users synced")
		}
	}
	// wire/all reads the same pages over the same TLS connection and
	// discards them: what the bytes cost to move, the floor of any client.
	hc := &http.Client{Transport: fg.srv.Client().Transport}
	first := fg.srv.URL + "/v1.0/users?" + url.Values{
		"$select": {strings.Join(usersync.Properties, ",")}, "$top": {"999"},
	}.Encode()
	links := pageLinks(b, hc, first)
	b.Run("wire/all", func(b *testing.B) {
		var n int64
		for b.Loop() {
			n = 0
			for _, link := range links {
				req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, link, nil)
				req.Header.Set("Authorization", "Bearer tok-contoso")
				resp, err := hc.Do(req)
				require.NoError(b, err)
				k, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				require.NoError(b, err)
				require.Equal(b, http.StatusOK, resp.StatusCode, "status")
				n += k
			}
		}
		b.SetBytes(n)
	})
	b.Run("tenantgate/all", func(b *testing.B) { syncer(b, nil, &countSink{}, benchUsers) })
	b.Run("tenantgate/all-memorysink", func(b *testing.B) { syncer(b, nil, &usersync.MemorySink{}, benchUsers) })
	b.Run("tenantgate/italy", func(b *testing.B) { syncer(b, italy, &countSink{}, italyUsers) })

	client := pageIteratorClient(b, fg)
	b.Run("pageiterator/all", func(b *testing.B) {
		for b.Loop() {
			require.Equal(b, benchUsers, len(pageIterate(b, client, nil)), "users collected")
		}
	})
	b.Run("pageiterator/italy-clientside", func(b *testing.B) {
		for b.Loop() {
			keep := func(u models.Userable) bool {
				l := u.GetUsageLocation()
				return l != nil && *l == "IT"
			}
			require.Equal(b, italyUsers, len(pageIterate(b, client, keep)), "users collected")
		}
	})
	b.Run("floor/all", func(b *testing.B) {
		for b.Loop() {
			n, err := floorRead(b.Context(), hc, first, "tok-contoso")
			require.NoError(b, err)
			require.Equal(b, benchUsers, n, "users read")
		}
	})

	// Many tenants, CPU-bound: 100 tenants of 5,000 users (6 pages each,
	// the tenants share their pages and the page cache: only the client
	// side differs, as it would against Graph), no added latency. The
	// engine against the many-tenant floor: the floor/all reader (plain
	// net/http + encoding/json) over the same tenants at the same
	// concurrency.
	cpu := newFakeGraph()
	defer cpu.Close()
	cpu.cached = true
	shared := cpu.addTenant("t0", 5000)
	customers := []string{"t0"}
	for i := 1; i < 100; i++ {
		c := "t" + strconv.Itoa(i)
		customers = append(customers, c)
		cpu.alias(c, shared)
	}
	csrc, err := cpu.source(usersync.GraphOptions{NoCount: true, Transport: pooled(cpu)}, nil)
	require.NoError(b, err)
	warm(b, csrc, "t0", usersync.Query{})
	for _, conc := range []int{10, 50} {
		name := fmt.Sprintf("many-tenants/cpu/100x5000/concurrency-%d", conc)
		b.Run(name+"/tenantgate", func(b *testing.B) { manySync(b, csrc, customers, conc, 5000, 0) })
		b.Run(name+"/floor", func(b *testing.B) { manyFloor(b, cpu, customers, conc, 5000, 999) })
	}

	// Many tenants, latency-bound: 50 tenants of 100 users read 20 a page
	// (5 pages each), 100 ms added latency per page, concurrency 50: the
	// CPU has little to do, so the wall time should approach the ideal,
	// pages x latency / concurrency.
	slow := newFakeGraph()
	defer slow.Close()
	slow.cached = true
	slow.latency = 100 * time.Millisecond
	small := slow.addTenant("s0", 100)
	few := []string{"s0"}
	for i := 1; i < 50; i++ {
		c := "s" + strconv.Itoa(i)
		few = append(few, c)
		slow.alias(c, small)
	}
	ssrc, err := slow.source(usersync.GraphOptions{NoCount: true, PageSize: 20, Transport: pooled(slow)}, nil)
	require.NoError(b, err)
	warm(b, ssrc, "s0", usersync.Query{})
	b.Run("many-tenants/latency/50x100/top-20/latency-100ms/concurrency-50/tenantgate", func(b *testing.B) {
		manySync(b, ssrc, few, 50, 100, slow.latency)
	})
	b.Run("many-tenants/latency/50x100/top-20/latency-100ms/concurrency-50/floor", func(b *testing.B) {
		manyFloor(b, slow, few, 50, 100, 20)
	})
}

// manySync syncs the customers at concurrency conc, each with want users,
// and reports wall-ms (and, with latency, ideal-ms: pages x latency /
// concurrency).
func manySync(b *testing.B, src usersync.Source, customers []string, conc, want int, latency time.Duration) {
	s := &usersync.Syncer{Source: src, Sink: &countSink{}, Concurrency: conc, Logger: discardLogger}
	s.Sync(b.Context(), customers...) // open the connections before timing
	pages := 0
	for b.Loop() {
		pages = 0
		for _, r := range s.Sync(b.Context(), customers...) {
			require.NoError(b, r.Err, r.Customer)
			require.Equal(b, want, r.Matched, "%s: users", r.Customer)
			pages += r.Pages
		}
	}
	if latency > 0 {
		ideal := time.Duration(pages) * latency / time.Duration(conc)
		b.ReportMetric(float64(ideal.Milliseconds()), "ideal-ms")
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "wall-ms")
}

// manyFloor reads the customers' users with floorRead at concurrency
// conc, $top=top.
func manyFloor(b *testing.B, fg *fakeGraph, customers []string, conc, want, top int) {
	hc := &http.Client{Transport: pooled(fg)}
	first := fg.srv.URL + "/v1.0/users?" + url.Values{
		"$select": {strings.Join(usersync.Properties, ",")}, "$top": {strconv.Itoa(top)},
	}.Encode()
	read := func() error {
		var g errgroup.Group
		g.SetLimit(conc)
		for _, c := range customers {
			g.Go(func() error {
				n, err := floorRead(b.Context(), hc, first, "tok-"+c)
				if err == nil && n != want {
					err = fmt.Errorf("%s: read %d users, want %d", c, n, want)
				}
				return err
			})
		}
		return g.Wait()
	}
	require.NoError(b, read()) // open the connections before timing
	for b.Loop() {
		require.NoError(b, read())
	}
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "wall-ms")
}

// pooled returns the fake's TLS transport keeping up to 100 idle
// connections to it (net/http keeps 2 by default), so that many customers
// syncing at once reuse their connections instead of handshaking again.
func pooled(fg *fakeGraph) *http.Transport {
	tr := fg.srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 100
	return tr
}

// floorRead is the floor reader: plain net/http and encoding/json into a
// struct, page by page; it returns the users read.
func floorRead(ctx context.Context, hc *http.Client, first, token string) (int, error) {
	var page struct {
		Value []usersync.User `json:"value"`
		Next  string          `json:"@odata.nextLink"`
	}
	n := 0
	for next := first; next != ""; {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			return n, err
		}
		page.Value, page.Next = page.Value[:0], ""
		err = json.NewDecoder(resp.Body).Decode(&page)
		_, _ = io.Copy(io.Discard, resp.Body) // to EOF, so the connection is reused
		resp.Body.Close()
		if err != nil {
			return n, err
		}
		n += len(page.Value)
		next = page.Next
	}
	return n, nil
}

// pageLinks follows the nextLinks from first and returns every page's URL.
func pageLinks(b *testing.B, hc *http.Client, first string) []string {
	var links []string
	for next := first; next != ""; {
		links = append(links, next)
		req, _ := http.NewRequestWithContext(b.Context(), http.MethodGet, next, nil)
		req.Header.Set("Authorization", "Bearer tok-contoso")
		resp, err := hc.Do(req)
		require.NoError(b, err)
		var page struct {
			Next string `json:"@odata.nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		require.NoError(b, err)
		next = page.Next
	}
	return links
}

// warm reads every page of q once, so that the fake caches them.
func warm(b *testing.B, src usersync.Source, customer string, q usersync.Query) {
	require.NoError(b, src.Read(b.Context(), customer, q, func(usersync.Page) error { return nil }))
}

// pageIteratorClient is the msgraph-sdk-go client a Go developer would
// build: GraphServiceClient over the Graph request adapter with the
// default middleware, the fake's TLS transport as parent transport.
func pageIteratorClient(b *testing.B, fg *fakeGraph) *msgraphsdk.GraphServiceClient {
	u, _ := url.Parse(fg.srv.URL)
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(
		staticCred{token: "tok-contoso"}, []string{"https://graph.microsoft.com/.default"}, []string{u.Hostname()})
	require.NoError(b, err)
	opts := msgraphgocore.GraphClientOptions{}
	hc := &http.Client{Transport: khttp.NewCustomTransportWithParentTransport(fg.srv.Client().Transport,
		msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts)...)}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, hc)
	require.NoError(b, err)
	adapter.SetBaseUrl(fg.srv.URL + "/v1.0")
	return msgraphsdk.NewGraphServiceClient(adapter)
}

// pageIterate collects the users (those keep accepts, when set) with a
// PageIterator over Users().Get.
func pageIterate(b *testing.B, client *msgraphsdk.GraphServiceClient, keep func(models.Userable) bool) []models.Userable {
	top := int32(999)
	resp, err := client.Users().Get(b.Context(), &graphusers.UsersRequestBuilderGetRequestConfiguration{
		QueryParameters: &graphusers.UsersRequestBuilderGetQueryParameters{Select: usersync.Properties, Top: &top},
	})
	require.NoError(b, err)
	it, err := msgraphgocore.NewPageIterator[models.Userable](resp, client.GetAdapter(), models.CreateUserCollectionResponseFromDiscriminatorValue)
	require.NoError(b, err)
	var out []models.Userable
	err = it.Iterate(b.Context(), func(u models.Userable) bool {
		if keep == nil || keep(u) {
			out = append(out, u)
		}
		return true
	})
	require.NoError(b, err)
	return out
}
