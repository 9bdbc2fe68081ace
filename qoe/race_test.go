//go:build race

package qoe_test

func init() { raceEnabled = true }
