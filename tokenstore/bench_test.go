package tokenstore_test

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"
)

func BenchmarkSeal4KiB(b *testing.B) {
	kr := mustKeyring(b, mustKey(b, "k1"))
	pt := bytes.Repeat([]byte{0x5a}, 4<<10)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		_, err := kr.Seal(recKey, pt)
		require.NoError(b, err)
	}
}

func BenchmarkOpen4KiB(b *testing.B) {
	kr := mustKeyring(b, mustKey(b, "k1"))
	blob, err := kr.Seal(recKey, bytes.Repeat([]byte{0x5a}, 4<<10))
	require.NoError(b, err)
	b.SetBytes(4 << 10)
	b.ReportAllocs()
	for b.Loop() {
		_, err := kr.Open(recKey, blob)
		require.NoError(b, err)
	}
}
