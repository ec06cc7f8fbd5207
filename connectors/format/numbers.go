package format

import (
	"math"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// TrimSpace returns b without leading and trailing ASCII spaces and tabs.
func TrimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// ParseInt64 parses a base-10 integer with an optional sign. It does not
// allocate.
func ParseInt64(b []byte) (int64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	neg := false
	switch b[0] {
	case '-':
		neg = true
		b = b[1:]
	case '+':
		b = b[1:]
	}
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var u uint64
	for _, c := range b {
		d := c - '0'
		if d > 9 {
			return 0, false
		}
		u = u*10 + uint64(d)
	}
	// 19 digits fit in a uint64 without overflow.
	if neg {
		if u > 1<<63 {
			return 0, false
		}
		return -int64(u), true
	}
	if u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// ParseInt32 parses a base-10 32-bit integer with an optional sign.
func ParseInt32(b []byte) (int32, bool) {
	v, ok := ParseInt64(b)
	if !ok || v < math.MinInt32 || v > math.MaxInt32 {
		return 0, false
	}
	return int32(v), true
}

// bytesString views b as a string without copying. The string must not
// outlive b's contents.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// ParseFloat64 parses a DOUBLE: decimal or scientific notation, or NaN,
// Infinity and -Infinity (any case, as Java and Go write them).
func ParseFloat64(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	// strconv's error would keep the string: only the bool leaves here.
	v, err := strconv.ParseFloat(bytesString(b), 64)
	if err != nil {
		// Out-of-range values round to +-Inf; everything else is an error.
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return v, true
		}
		return 0, false
	}
	return v, true
}

func eqFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// ParseBool parses 'true' or 'false', in any case.
func ParseBool(b []byte) (bool, bool) {
	switch {
	case eqFold(b, "true"):
		return true, true
	case eqFold(b, "false"):
		return false, true
	}
	return false, false
}

var ten = decimal128.FromU64(10)

// ParseDecimal parses a DECIMAL(prec, scale) from its plain or scientific
// text. Fraction digits beyond scale are rounded half up, as Flink does; a
// value that needs more than prec digits is an error.
func ParseDecimal(b []byte, prec, scale int32) (decimal128.Num, bool) {
	s := b
	neg := false
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var n decimal128.Num
	sig := 0      // significant digits accumulated
	fracN := 0    // fraction digits taken
	seen := false // any digit at all
	dot := false
	roundUp := false
	dropped := false
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			seen = true
			if dot && int32(fracN) >= scale {
				if !dropped {
					roundUp = c >= '5'
					dropped = true
				}
				continue
			}
			if dot {
				fracN++
			}
			if sig > 0 || c != '0' {
				sig++
			}
			if sig > 38 {
				return decimal128.Num{}, false
			}
			n = n.Mul(ten).Add(decimal128.FromU64(uint64(c - '0')))
		case c == '.' && !dot:
			dot = true
		case c == 'e' || c == 'E':
			// Rare: let arrow's exact big-number path handle exponents.
			v, err := decimal128.FromString(string(b), prec, scale)
			return v, err == nil
		default:
			return decimal128.Num{}, false
		}
	}
	if !seen {
		return decimal128.Num{}, false
	}
	for int32(fracN) < scale {
		if sig > 0 {
			sig++
		}
		if sig > 38 {
			return decimal128.Num{}, false
		}
		n = n.Mul(ten)
		fracN++
	}
	if roundUp {
		n = n.Add(decimal128.FromU64(1))
	}
	if !n.FitsInPrecision(prec) {
		return decimal128.Num{}, false
	}
	if neg {
		n = n.Negate()
	}
	return n, true
}

// AppendDecimal appends n, a decimal with the given scale, in plain
// notation with exactly scale fraction digits (as Java's BigDecimal prints).
func AppendDecimal(dst []byte, n decimal128.Num, scale int32) []byte {
	hi, lo := n.HighBits(), n.LowBits()
	if (hi == 0 && lo <= math.MaxInt64) || (hi == -1 && lo > math.MaxInt64) {
		v := int64(lo)
		if v < 0 {
			dst = append(dst, '-')
		}
		var tmp [24]byte
		digs := strconv.AppendUint(tmp[:0], absU64(v), 10)
		return appendScaled(dst, digs, scale)
	}
	return append(dst, n.ToString(scale)...)
}

func absU64(v int64) uint64 {
	if v < 0 {
		return uint64(-v)
	}
	return uint64(v)
}

// appendScaled appends the unsigned digit string digs with a decimal point
// scale places from the right.
func appendScaled(dst, digs []byte, scale int32) []byte {
	if scale <= 0 {
		dst = append(dst, digs...)
		for i := int32(0); i < -scale; i++ {
			dst = append(dst, '0')
		}
		return dst
	}
	sc := int(scale)
	if len(digs) <= sc {
		dst = append(dst, '0', '.')
		for i := len(digs); i < sc; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digs...)
	}
	at := len(digs) - sc
	dst = append(dst, digs[:at]...)
	dst = append(dst, '.')
	return append(dst, digs[at:]...)
}

// AppendDouble appends v the way Java's Double.toString prints it, which
// is what Flink prints: "1.0", "0.25", "1.0E10", "1.5E-5", "NaN",
// "Infinity", "-Infinity". The digits are the shortest that read back as
// exactly v.
func AppendDouble(dst []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(v, -1):
		return append(dst, "-Infinity"...)
	case v == 0:
		if math.Signbit(v) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	a := math.Abs(v)
	if a >= 1e-3 && a < 1e7 {
		start := len(dst)
		dst = strconv.AppendFloat(dst, v, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, '.', '0')
	}
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], v, 'e', -1, 64) // e.g. -1.234e+10, 1e-05
	i := 0
	for e[i] != 'e' {
		i++
	}
	mant, exp := e[:i], e[i+1:]
	dst = append(dst, mant...)
	hasDot := false
	for _, c := range mant {
		if c == '.' {
			hasDot = true
		}
	}
	if !hasDot {
		dst = append(dst, '.', '0')
	}
	dst = append(dst, 'E')
	if exp[0] == '-' {
		dst = append(dst, '-')
	}
	exp = exp[1:]
	for len(exp) > 1 && exp[0] == '0' {
		exp = exp[1:]
	}
	return append(dst, exp...)
}
