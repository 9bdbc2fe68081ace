package qoe

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Quality is the Call Quality Dashboard class of a stream or a call.
type Quality string

// The quality classes.
const (
	Good         Quality = "good"
	Poor         Quality = "poor"
	Unclassified Quality = "unclassified"
)

// Reason is why a stream is poor.
type Reason string

// The reasons a stream is poor, in the order they are reported.
const (
	ReasonJitter     Reason = "jitter"
	ReasonPacketLoss Reason = "packetLoss"
	ReasonRoundTrip  Reason = "roundTrip"
)

// The Call Quality Dashboard's audio thresholds: a stream with more than
// MinPackets packets is poor when any metric is above its threshold.
const (
	MaxRoundTrip  = 500 * time.Millisecond
	MaxPacketLoss = 0.1
	MaxJitter     = 30 * time.Millisecond
	MinPackets    = 500
)

// StreamMetrics are the key metrics of one audio stream; nil means the
// record did not carry the metric.
type StreamMetrics struct {
	Jitter     *time.Duration
	RoundTrip  *time.Duration
	PacketLoss *float64
	Packets    *int64
}

// Classify applies the Call Quality Dashboard's audio rule: unclassified
// without any of jitter, round trip and packet loss; poor when packet
// utilization is above MinPackets and round trip is above MaxRoundTrip,
// packet loss above MaxPacketLoss or jitter above MaxJitter (reasons in
// that order: jitter, packet loss, round trip); good otherwise.
func Classify(m StreamMetrics) (Quality, []Reason) {
	if m.Jitter == nil && m.RoundTrip == nil && m.PacketLoss == nil {
		return Unclassified, nil
	}
	if m.Packets == nil || *m.Packets <= MinPackets {
		return Good, nil
	}
	var rs []Reason
	if m.Jitter != nil && *m.Jitter > MaxJitter {
		rs = append(rs, ReasonJitter)
	}
	if m.PacketLoss != nil && *m.PacketLoss > MaxPacketLoss {
		rs = append(rs, ReasonPacketLoss)
	}
	if m.RoundTrip != nil && *m.RoundTrip > MaxRoundTrip {
		rs = append(rs, ReasonRoundTrip)
	}
	if len(rs) > 0 {
		return Poor, rs
	}
	return Good, nil
}

// combine folds stream classes into a call's: poor when any stream is
// (with the union of reasons), good when any stream is good, else
// unclassified.
func combine(streams []Stream) (Quality, []Reason) {
	q := Unclassified
	seen := map[Reason]bool{}
	for _, s := range streams {
		switch s.Quality {
		case Poor:
			q = Poor
			for _, r := range s.Reasons {
				seen[r] = true
			}
		case Good:
			if q == Unclassified {
				q = Good
			}
		}
	}
	var rs []Reason
	for _, r := range []Reason{ReasonJitter, ReasonPacketLoss, ReasonRoundTrip} {
		if seen[r] {
			rs = append(rs, r)
		}
	}
	return q, rs
}

var errDuration = errors.New("not an ISO 8601 duration")

// ParseDuration parses the ISO 8601 durations Graph uses for stream
// metrics, such as "PT0.045S", "PT1M2.5S" or "P1DT2H": days, hours,
// minutes and (fractional) seconds, no years, months or weeks.
func ParseDuration(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "P")
	if !ok || rest == "" {
		return 0, errDuration
	}
	var total float64
	inTime := false
	seen := false
	for rest != "" {
		if rest[0] == 'T' {
			if inTime {
				return 0, errDuration
			}
			inTime = true
			rest = rest[1:]
			if rest == "" {
				return 0, errDuration
			}
			continue
		}
		i := 0
		for i < len(rest) && (rest[i] >= '0' && rest[i] <= '9' || rest[i] == '.') {
			i++
		}
		if i == 0 || i == len(rest) {
			return 0, errDuration
		}
		v, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil {
			return 0, errDuration
		}
		unit := rest[i]
		rest = rest[i+1:]
		switch {
		case !inTime && unit == 'D':
			total += v * 86400
		case inTime && unit == 'H':
			total += v * 3600
		case inTime && unit == 'M':
			total += v * 60
		case inTime && unit == 'S':
			total += v
		default:
			return 0, errDuration
		}
		seen = true
	}
	if !seen || total > 1e9 {
		return 0, errDuration
	}
	return time.Duration(total * float64(time.Second)).Round(time.Microsecond), nil
}
