package expr

import (
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// decimalToDouble converts an unscaled DECIMAL(p, s) value to DOUBLE as
// Flink does: for p <= 18 the unscaled long divided by 10^s in floating
// point, otherwise the correctly rounded value.
func decimalToDouble(d decimal128.Num, p, s int) float64 {
	if p <= 18 {
		return float64(int64(d.LowBits())) / float64(pow10u64[s])
	}
	var buf [64]byte
	b := sqltext.AppendDecimal(buf[:0], d, 0)
	b = append(b, 'e', '-')
	b = strconv.AppendInt(b, int64(s), 10)
	// The text is well formed, so ParseFloat keeps no reference to it.
	f, _ := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	return f
}
