package qoe

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Call is a stored call record: its class, reasons and the key metrics of
// its audio streams.
type Call struct {
	Customer string
	ID       string
	// Version is the call record's version; a higher one replaces it.
	Version int64
	Start   time.Time
	End     time.Time
	// Quality is poor when any audio stream is poor, good when any is
	// good, else unclassified.
	Quality Quality
	// Reasons are the poor reasons of its streams, without repeats.
	Reasons []Reason
	// Caller and Callee are the display names (or IDs) of the first
	// session's endpoints.
	Caller, Callee string
	// Streams are its audio streams.
	Streams []Stream
}

// Stream is one audio stream of a call.
type Stream struct {
	// Key names the stream within the call: session/segment/media
	// index/stream ID.
	Key       string
	Direction string
	StreamMetrics
	Quality Quality
	Reasons []Reason
}

// graphRecord is the JSON of a call record with expanded sessions.
type graphRecord struct {
	ID               string         `json:"id"`
	Version          int64          `json:"version"`
	StartDateTime    time.Time      `json:"startDateTime"`
	EndDateTime      time.Time      `json:"endDateTime"`
	Sessions         []graphSession `json:"sessions"`
	SessionsNextLink string         `json:"sessions@odata.nextLink"`
}

type graphSession struct {
	ID       string         `json:"id"`
	Caller   *graphEndpoint `json:"caller"`
	Callee   *graphEndpoint `json:"callee"`
	Segments []graphSegment `json:"segments"`
}

// graphEndpoint is a session's caller or callee, a participantEndpoint:
// associatedIdentity is the current shape (callRecord get reference,
// example 2); identity, an identitySet, is deprecated and read only when
// associatedIdentity is absent.
type graphEndpoint struct {
	AssociatedIdentity *graphIdentity `json:"associatedIdentity"`
	Identity           *struct {
		User *graphIdentity `json:"user"`
	} `json:"identity"`
}

// graphIdentity is a microsoft.graph.identity.
type graphIdentity struct {
	ID          *string `json:"id"`
	DisplayName *string `json:"displayName"`
}

// name is the identity's display name, or its ID without one.
func (u *graphIdentity) name() string {
	switch {
	case u == nil:
		return ""
	case u.DisplayName != nil && *u.DisplayName != "":
		return *u.DisplayName
	case u.ID != nil:
		return *u.ID
	}
	return ""
}

func (e *graphEndpoint) name() string {
	if e == nil {
		return ""
	}
	if n := e.AssociatedIdentity.name(); n != "" {
		return n
	}
	if e.Identity == nil {
		return ""
	}
	return e.Identity.User.name()
}

type graphSegment struct {
	ID    string       `json:"id"`
	Media []graphMedia `json:"media"`
}

type graphMedia struct {
	Label   string        `json:"label"`
	Streams []graphStream `json:"streams"`
}

type graphStream struct {
	StreamID              string   `json:"streamId"`
	StreamDirection       string   `json:"streamDirection"`
	AverageJitter         *string  `json:"averageJitter"`
	AverageRoundTripTime  *string  `json:"averageRoundTripTime"`
	AveragePacketLossRate *float64 `json:"averagePacketLossRate"`
	PacketUtilization     *int64   `json:"packetUtilization"`
}

// isAudio reports whether a media label names audio ("main-audio",
// "audio", ...). Records without a label are treated as audio: peer-to-peer
// audio calls carry one medium.
func isAudio(label string) bool {
	return label == "" || strings.Contains(strings.ToLower(label), "audio")
}

func optDuration(s *string) (*time.Duration, error) {
	if s == nil {
		return nil, nil
	}
	d, err := ParseDuration(*s)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", *s, err)
	}
	return &d, nil
}

// toCall classifies a fetched record (all session pages appended).
func (r *graphRecord) toCall(customer string) (Call, error) {
	c := Call{Customer: customer, ID: strings.ToLower(r.ID), Version: r.Version, Start: r.StartDateTime.UTC(), End: r.EndDateTime.UTC()}
	for i, ss := range r.Sessions {
		if i == 0 {
			c.Caller, c.Callee = ss.Caller.name(), ss.Callee.name()
		}
		for _, sg := range ss.Segments {
			for mi, m := range sg.Media {
				if !isAudio(m.Label) {
					continue
				}
				for _, st := range m.Streams {
					jit, err := optDuration(st.AverageJitter)
					if err != nil {
						return Call{}, fmt.Errorf("call record %s: averageJitter %w", r.ID, err)
					}
					rtt, err := optDuration(st.AverageRoundTripTime)
					if err != nil {
						return Call{}, fmt.Errorf("call record %s: averageRoundTripTime %w", r.ID, err)
					}
					s := Stream{Key: fmt.Sprintf("%s/%s/%d/%s", ss.ID, sg.ID, mi, st.StreamID), Direction: st.StreamDirection,
						StreamMetrics: StreamMetrics{Jitter: jit, RoundTrip: rtt, PacketLoss: st.AveragePacketLossRate, Packets: st.PacketUtilization}}
					s.Quality, s.Reasons = Classify(s.StreamMetrics)
					c.Streams = append(c.Streams, s)
				}
			}
		}
	}
	c.Quality, c.Reasons = combine(c.Streams)
	return c, nil
}

// decodeRecord decodes a call record answer.
func decodeRecord(b []byte) (*graphRecord, error) {
	var r graphRecord
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("decode call record: %w", err)
	}
	if r.ID == "" {
		return nil, fmt.Errorf("decode call record: no id")
	}
	return &r, nil
}
