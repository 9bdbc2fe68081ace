package m365test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Demo call quality: the metrics of a good stream and the degradations
// of the caller's stream, by call number k.
const (
	demoPackets      = 3000
	demoJitter       = 10 * time.Millisecond
	demoLoss         = 0.01
	demoRoundTrip    = 50 * time.Millisecond
	demoBadJitter    = 45 * time.Millisecond
	demoBadLoss      = 0.15
	demoBadRoundTrip = 600 * time.Millisecond
)

// DemoCall returns call k of the demo rule for tenant t (n generated
// users, n > 0; with none, the Global Admin calls itself), ending at end:
// a peer-to-peer audio call from user (3k mod n) to user ((3k+3) mod n)
// lasting 60 + k%240 seconds, one session, one segment, two audio streams
// of 3,000 packets each. Both streams have average jitter 10 ms, packet
// loss rate 0.01 and round trip 50 ms, except the caller's stream:
// jitter 45 ms when k%10 == 3, packet loss rate 0.15 when k%10 == 7,
// round trip 600 ms when k%25 == 24. Under the Call Quality Dashboard
// rule the first 100 calls hold 24 poor ones: 10 for jitter, 10 for
// packet loss, 4 for round trip.
func DemoCall(t *Tenant, k int, end time.Time) CallRecord {
	caller, callee := t.AdminUPN(), t.AdminUPN()
	if n := t.Users(); n > 0 {
		caller = fmt.Sprintf("user%05d@%s", (3*k)%n, t.Domain())
		callee = fmt.Sprintf("user%05d@%s", (3*k+3)%n, t.Domain())
	}
	start := end.Add(-time.Duration(60+k%240) * time.Second)
	stream := func(dir string, jitter, rtt time.Duration, loss float64) Stream {
		p := int64(demoPackets)
		return Stream{Direction: dir, AverageJitter: &jitter, AverageRoundTripTime: &rtt, AveragePacketLossRate: &loss, PacketUtilization: &p}
	}
	jitter, loss, rtt := demoJitter, demoLoss, demoRoundTrip
	if k%10 == 3 {
		jitter = demoBadJitter
	}
	if k%10 == 7 {
		loss = demoBadLoss
	}
	if k%25 == 24 {
		rtt = demoBadRoundTrip
	}
	return CallRecord{
		Type: "peerToPeer", Modalities: []string{"audio"}, Start: start, End: end,
		Organizer: caller, Participants: []string{caller, callee},
		Sessions: []Session{{
			Caller: caller, Callee: callee, Start: start, End: end, Modalities: []string{"audio"},
			Segments: []Segment{{Start: start, End: end, Media: []Media{{Label: "main-audio", Streams: []Stream{
				stream("callerToCallee", jitter, rtt, loss),
				stream("calleeToCaller", demoJitter, demoRoundTrip, demoLoss),
			}}}}},
		}},
	}
}

// PlaceCalls places the tenant's next n calls by the demo rule (see
// [DemoCall]; numbering continues across calls of PlaceCalls), each ending
// now, and delivers a "created" notification for each to the tenant's
// subscriptions, like [Server.AddCallRecord]. It returns the records' IDs
// in order and the failures of first delivery attempts joined.
func (s *Server) PlaceCalls(ctx context.Context, tenant string, n int) ([]string, error) {
	t, ok := s.Tenant(tenant)
	if !ok {
		return nil, fmt.Errorf("m365test: PlaceCalls: unknown tenant %q", tenant)
	}
	if n < 0 {
		return nil, fmt.Errorf("m365test: PlaceCalls: negative count %d", n)
	}
	ids := make([]string, 0, n)
	var errs []error
	for range n {
		s.mu.Lock()
		k := t.placed
		t.placed++
		now := s.nowLocked()
		t.placedEnds = append(t.placedEnds, now)
		s.mu.Unlock()
		rec := DemoCall(t, k, now)
		rec.ID = DemoCallID(t, k)
		id, err := s.AddCallRecord(ctx, t.ID, rec)
		if id != "" {
			ids = append(ids, id)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return ids, errors.Join(errs...)
}

// DemoCallID is the record ID of demo call k of tenant t: stable, so a
// restarted fake can serve the same records again (RestoreDemoCalls).
func DemoCallID(t *Tenant, k int) string {
	return stableGUID(t.ID + "/demo-call/" + strconv.Itoa(k))
}

// DemoCallEnds returns the end time of each demo call placed in tenant,
// in order: what RestoreDemoCalls needs to serve them again.
func (s *Server) DemoCallEnds(tenant string) []time.Time {
	t, ok := s.Tenant(tenant)
	if !ok {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), t.placedEnds...)
}

// RestoreDemoCalls stores demo calls 0 to len(ends)-1 of tenant, call k
// ending at ends[k], with their stable IDs and without notifying anyone,
// and numbers the next placed call len(ends): a fake started again serves
// the records an earlier one placed, as Microsoft keeps them.
func (s *Server) RestoreDemoCalls(tenant string, ends []time.Time) error {
	t, ok := s.Tenant(tenant)
	if !ok {
		return fmt.Errorf("m365test: RestoreDemoCalls: unknown tenant %q", tenant)
	}
	for k, end := range ends {
		rec := normalizeRecord(DemoCall(t, k, end))
		rec.ID, rec.Version = DemoCallID(t, k), 1
		s.mu.Lock()
		t.calls[rec.ID] = rec
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t.placed = len(ends)
	t.placedEnds = append([]time.Time(nil), ends...)
	return nil
}
