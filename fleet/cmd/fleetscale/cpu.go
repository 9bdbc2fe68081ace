package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// postgresCPU sums the CPU time (user and system) of every process named
// postgres on this machine, including that of its exited children (the
// postmaster reaps its backends), from /proc; -1 when unavailable. The
// difference of two readings is PostgreSQL's share of a round.
func postgresCPU() time.Duration {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return -1
	}
	const tick = 100 // USER_HZ on Linux
	var ticks int64
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s := string(b)
		open, closing := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if open < 0 || closing < open || s[open+1:closing] != "postgres" {
			continue
		}
		// Fields after the name: state is field 3; utime 14, stime 15,
		// cutime 16, cstime 17.
		f := strings.Fields(s[closing+1:])
		if len(f) < 15 {
			continue
		}
		for _, i := range []int{11, 12, 13, 14} {
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
	}
	return time.Duration(ticks) * time.Second / tick
}
