package sqltext

import (
	"math"
	"strconv"
	"unsafe"
)

// ParseInt parses b as a base-10 integer of bitSize bits (32 or 64): an
// optional sign and at least one digit, nothing else, as strconv.ParseInt
// accepts it and as a text format reads an INT or BIGINT field. On failure
// it returns ErrEmpty, ErrSignOnly, ErrSyntax or ErrRange, whichever it
// meets first reading from the left.
func ParseInt(b []byte, bitSize int) (int64, error) { return parseInt(b, bitSize, false) }

// ParseIntLenient parses b as Flink's CAST to INT or BIGINT reads text: as
// ParseInt does, except that the integer may be followed by a point and
// digits, which are dropped ("12.7" is 12; ".5", "-.5" and "." are 0).
func ParseIntLenient(b []byte, bitSize int) (int64, error) { return parseInt(b, bitSize, true) }

// parseInt is ParseInt, or ParseIntLenient if lenient.
func parseInt(b []byte, bitSize int, lenient bool) (int64, error) {
	if len(b) == 0 {
		return 0, ErrEmpty
	}
	digits := b
	neg := b[0] == '-'
	if neg || b[0] == '+' {
		if len(b) == 1 {
			return 0, ErrSignOnly
		}
		digits = b[1:]
	}
	// The first 9 (INT) or 18 (BIGINT) digits cannot overflow.
	safe := digits[:min(len(digits), 9*(bitSize/32))]
	var u uint64
	for j, c := range safe {
		d := c - '0'
		if d > 9 {
			return intTail(u, neg, digits[j:], lenient)
		}
		u = u*10 + uint64(d)
	}
	if len(safe) < len(digits) {
		// More digits, checked one by one.
		limit := uint64(1)<<(bitSize-1) - 1 // the magnitude of the maximum
		if neg {
			limit++ // or of the minimum
		}
		rest := digits[len(safe):]
		for j, c := range rest {
			d := uint64(c - '0')
			if d > 9 {
				return intTail(u, neg, rest[j:], lenient)
			}
			if u > (limit-d)/10 { // u*10 + d > limit
				return 0, ErrRange
			}
			u = u*10 + d
		}
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// intTail ends parseInt at rest, the first byte after the digits of u and
// what follows: a lenient reading drops a point and digits ("12.7" is 12,
// ".5" is 0); anything else is a syntax error.
func intTail(u uint64, neg bool, rest []byte, lenient bool) (int64, error) {
	if !lenient || rest[0] != '.' {
		return 0, ErrSyntax
	}
	for _, c := range rest[1:] {
		if c-'0' > 9 {
			return 0, ErrSyntax
		}
	}
	if neg {
		return -int64(u), nil
	}
	return int64(u), nil
}

// number is decimal text split into its parts, without copying:
// value = ± (the digits of mant, read as an integer) * 10^exp.
type number struct {
	neg bool
	// mant is the mantissa from its first non-zero digit on; it may hold
	// one '.', which is not a digit. It is empty for zero.
	mant []byte
	// nsig is the number of digits in mant.
	nsig int
	exp  int
}

// maxExp bounds the exponent that scanNumber reads: larger ones saturate,
// which changes no result (they are far beyond any DECIMAL or DOUBLE).
const maxExp = 1_000_000

// scanNumber splits Java's BigDecimal syntax, which is also the decimal
// syntax of Double.parseDouble: [+-] digits [. digits] [(e|E) [+-] digits],
// with at least one digit in the mantissa.
func scanNumber(b []byte) (number, bool) {
	var n number
	i := 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		n.neg = b[i] == '-'
		i++
	}
	digits, frac, first := 0, 0, -1
	point := false
	for ; i < len(b); i++ {
		c := b[i]
		if c >= '0' && c <= '9' {
			digits++
			if point {
				frac++
			}
			if first < 0 && c != '0' {
				first = i
			}
			if first >= 0 {
				n.nsig++
			}
			continue
		}
		if c == '.' && !point {
			point = true
			continue
		}
		break
	}
	if digits == 0 {
		return n, false
	}
	if first >= 0 {
		n.mant = b[first:i]
	}
	exp := 0
	if i < len(b) {
		if b[i] != 'e' && b[i] != 'E' {
			return n, false
		}
		i++
		eneg := false
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			eneg = b[i] == '-'
			i++
		}
		if i == len(b) {
			return n, false
		}
		for ; i < len(b); i++ {
			d := b[i] - '0'
			if d > 9 {
				return n, false
			}
			if exp < maxExp {
				exp = exp*10 + int(d)
			}
		}
		if eneg {
			exp = -exp
		}
	}
	n.exp = exp - frac
	return n, true
}

// ParseDouble parses b as Java's Double.parseDouble reads decimal text
// (and so as Flink's CAST to DOUBLE does): an optional sign, then NaN,
// Infinity, or a decimal number with an optional point and exponent,
// optionally followed by one of f, F, d, D. The result is the double
// nearest the exact value; beyond the range of a double it is ±Infinity
// (or ±0), as in Java. The second result reports success. Hexadecimal
// floating-point text is not accepted.
func ParseDouble(b []byte) (float64, bool) {
	if isNumber(b) {
		return parseFloat(b)
	}
	body := b
	neg := false
	if len(body) > 0 && (body[0] == '+' || body[0] == '-') {
		neg = body[0] == '-'
		body = body[1:]
	}
	switch string(body) {
	case "NaN":
		return math.NaN(), true
	case "Infinity":
		if neg {
			return math.Inf(-1), true
		}
		return math.Inf(1), true
	}
	if n := len(b); n > 1 {
		switch b[n-1] {
		case 'f', 'F', 'd', 'D':
			if isNumber(b[:n-1]) {
				return parseFloat(b[:n-1])
			}
		}
	}
	return 0, false
}

// isNumber reports whether b is in the syntax scanNumber reads:
// [+-] digits [. digits] [(e|E) [+-] digits], with at least one mantissa
// digit. Over such text strconv's syntax is Java's.
func isNumber(b []byte) bool {
	i, digits := 0, 0
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	for ; i < len(b) && b[i]-'0' <= 9; i++ {
		digits++
	}
	if i < len(b) && b[i] == '.' {
		for i++; i < len(b) && b[i]-'0' <= 9; i++ {
			digits++
		}
	}
	if digits == 0 {
		return false
	}
	if i == len(b) {
		return true
	}
	if b[i]|0x20 != 'e' {
		return false
	}
	i++
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		i++
	}
	if i == len(b) {
		return false
	}
	for ; i < len(b); i++ {
		if b[i]-'0' > 9 {
			return false
		}
	}
	return true
}

// parseFloat is strconv.ParseFloat on b, viewed as a string without
// copying (strconv keeps no reference to its input), with values out of
// range rounded to ±Infinity or ±0 instead of failing.
func parseFloat(b []byte) (float64, bool) {
	f, err := strconv.ParseFloat(unsafe.String(unsafe.SliceData(b), len(b)), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true
		}
		return 0, false
	}
	return f, true
}

// AppendDouble appends f as Java's Double.toString writes it, which is how
// Flink casts a DOUBLE to STRING and how its text formats write one: the
// shortest digits that read back as f, in plain notation with at least one
// fraction digit ("100.0", "0.001") when 10^-3 <= |f| < 10^7, otherwise in
// computerized scientific notation ("1.0E7", "1.234E-5"); "NaN",
// "Infinity", "-Infinity", "0.0" and "-0.0".
func AppendDouble(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(dst, "NaN"...)
	case math.IsInf(f, 1):
		return append(dst, "Infinity"...)
	case math.IsInf(f, -1):
		return append(dst, "-Infinity"...)
	case f == 0:
		if math.Signbit(f) {
			return append(dst, "-0.0"...)
		}
		return append(dst, "0.0"...)
	}
	if abs := math.Abs(f); abs >= 1e-3 && abs < 1e7 {
		// Plain notation: strconv's shortest digits, and a fraction.
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'f', -1, 64)
		for _, c := range dst[start:] {
			if c == '.' {
				return dst
			}
		}
		return append(dst, '.', '0')
	}
	var buf [32]byte
	digits, exp, neg := shortestDigits(buf[:0], f)
	if neg {
		dst = append(dst, '-')
	}
	dst = append(dst, digits[0], '.')
	if len(digits) > 1 {
		dst = append(dst, digits[1:]...)
	} else {
		dst = append(dst, '0')
	}
	dst = append(dst, 'E')
	return strconv.AppendInt(dst, int64(exp), 10)
}

// shortestDigits returns the digits d1d2...dn of f (finite, non-zero)
// that Java's Double.toString picks, written into buf, and the exponent e
// with |f| = d1.d2...dn * 10^e. These are the shortest digits that read
// back as f, except that where one digit would do, Java takes the
// decimal of one or two digits closest to f: that differs only for a few
// subnormals (Double.MIN_VALUE is "4.9E-324", not "5.0E-324").
func shortestDigits(buf []byte, f float64) (digits []byte, exp int, neg bool) {
	digits, exp, neg = splitE(strconv.AppendFloat(buf, f, 'e', -1, 64))
	if len(digits) == 1 && math.Abs(f) < 0x1p-1022 {
		// The closest two-digit decimal, when it is not d.0, is closer
		// than d and, the spacing of subnormals being even, reads back
		// as f too.
		if d2, e2, _ := splitE(strconv.AppendFloat(buf[:0], f, 'e', 1, 64)); d2[1] != '0' {
			return d2, e2, neg
		}
		digits, exp, neg = splitE(strconv.AppendFloat(buf[:0], f, 'e', -1, 64))
	}
	return digits, exp, neg
}

// splitE splits strconv's 'e' format "[-]d[.ddd]e±XX" into its digits
// (the point removed in place), exponent and sign.
func splitE(s []byte) (digits []byte, exp int, neg bool) {
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	e := len(s) - 1
	for s[e] != 'e' {
		e--
	}
	for _, c := range s[e+2:] {
		exp = exp*10 + int(c-'0')
	}
	if s[e+1] == '-' {
		exp = -exp
	}
	mant := s[:e]
	if len(mant) > 1 { // drop the point: "d.ddd" -> "dddd"
		copy(mant[1:], mant[2:])
		mant = mant[:len(mant)-1]
	}
	return mant, exp, neg
}
