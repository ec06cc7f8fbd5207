package sqltext

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TestNoAllocations checks that every function allocates nothing once the
// caller's buffer is large enough.
func TestNoAllocations(t *testing.T) {
	buf := make([]byte, 0, 128)
	big := decimal128.New(-1<<62, 12345) // needs the 128-bit path
	cases := map[string]func(){
		"Trim":                  func() { Trim([]byte(" 1 ")) },
		"ParseInt":              func() { _, _ = ParseInt([]byte("-9223372036854775808"), 64) },
		"ParseInt error":        func() { _, _ = ParseInt([]byte("12x"), 32) },
		"ParseIntLenient":       func() { _, _ = ParseIntLenient([]byte("-12.75"), 32) },
		"ParseDouble":           func() { _, _ = ParseDouble([]byte("-1.25e-7d")) },
		"ParseDouble NaN":       func() { _, _ = ParseDouble([]byte("NaN")) },
		"ParseDouble error":     func() { _, _ = ParseDouble([]byte("1.2.3")) },
		"ParseDecimal":          func() { _, _ = ParseDecimal([]byte("-12345678901234567890.125e3"), 38, 2) },
		"ParseDecimal error":    func() { _, _ = ParseDecimal([]byte("x"), 10, 2) },
		"DecimalFromDouble":     func() { _, _ = DecimalFromDouble(1234.5678, 10, 2) },
		"ParseBool":             func() { _, _ = ParseBool([]byte("FALSE")) },
		"ParseBoolLenient":      func() { _, _ = ParseBoolLenient([]byte("Yes")) },
		"ParseTimestamp":        func() { _, _ = ParseTimestamp([]byte("2026-01-02 03:04:05.678")) },
		"ParseTimestampLenient": func() { _, _ = ParseTimestampLenient([]byte("2026-1-2 3:04")) },
		"AppendDouble":          func() { buf = AppendDouble(buf[:0], 1.2345678e-9) },
		"AppendDouble plain":    func() { buf = AppendDouble(buf[:0], 1234.5) },
		"AppendDouble subnormal": func() {
			buf = AppendDouble(buf[:0], 5e-324)
		},
		"AppendDecimal":         func() { buf = AppendDecimal(buf[:0], decimal128.FromI64(-1205), 2) },
		"AppendDecimal 128-bit": func() { buf = AppendDecimal(buf[:0], big, 10) },
		"AppendTimestamp":       func() { buf = AppendTimestamp(buf[:0], 1_767_225_600_123, ' ') },
		"AppendTimestamp year":  func() { buf = AppendTimestamp(buf[:0], -1<<62, 'T') },
	}
	for name, f := range cases {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations", name, n)
		}
	}
}

var sink struct {
	i   int64
	f   float64
	d   decimal128.Num
	b   bool
	buf []byte
}

func BenchmarkParse(b *testing.B) {
	ts := []byte("2026-01-02 03:04:05.678")
	b.Run("Int", func(b *testing.B) {
		in := []byte("-1234567890123")
		for b.Loop() {
			sink.i, _ = ParseInt(in, 64)
		}
	})
	b.Run("Double", func(b *testing.B) {
		in := []byte("-12345.678")
		for b.Loop() {
			sink.f, _ = ParseDouble(in)
		}
	})
	b.Run("Decimal", func(b *testing.B) {
		in := []byte("-12345.678")
		for b.Loop() {
			sink.d, _ = ParseDecimal(in, 10, 2)
		}
	})
	b.Run("Timestamp", func(b *testing.B) {
		for b.Loop() {
			sink.i, _ = ParseTimestamp(ts)
		}
	})
	b.Run("TimestampLenient", func(b *testing.B) {
		for b.Loop() {
			sink.i, _ = ParseTimestampLenient(ts)
		}
	})
}

func BenchmarkAppend(b *testing.B) {
	buf := make([]byte, 0, 64)
	b.Run("Double", func(b *testing.B) {
		for b.Loop() {
			buf = AppendDouble(buf[:0], -12345.678)
		}
	})
	b.Run("Decimal", func(b *testing.B) {
		d := decimal128.FromI64(-1234567)
		for b.Loop() {
			buf = AppendDecimal(buf[:0], d, 2)
		}
	})
	b.Run("Timestamp", func(b *testing.B) {
		for b.Loop() {
			buf = AppendTimestamp(buf[:0], 1_767_225_600_123, ' ')
		}
	})
	sink.buf = buf
}
