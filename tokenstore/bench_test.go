package tokenstore_test

import (
	"bytes"
	"testing"
)

func BenchmarkSeal4KiB(b *testing.B) {
	kr := mustKeyring(b, mustKey(b, "k1"))
	pt := bytes.Repeat([]byte{0x5a}, 4<<10)
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Seal(recKey, pt); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpen4KiB(b *testing.B) {
	kr := mustKeyring(b, mustKey(b, "k1"))
	blob, err := kr.Seal(recKey, bytes.Repeat([]byte{0x5a}, 4<<10))
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(4 << 10)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Open(recKey, blob); err != nil {
			b.Fatal(err)
		}
	}
}
