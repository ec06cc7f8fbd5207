package expr

import (
	"math"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// appendJavaDouble appends f as Java's Double.toString writes it (which is
// how Flink casts DOUBLE to STRING): the shortest digits that read back as
// f, in plain notation with at least one fractional digit ("100.0",
// "0.001") when 10^-3 <= |f| < 10^7, else in computerized scientific
// notation ("1.0E7", "1.234E-5"); "NaN", "Infinity", "-Infinity".
func appendJavaDouble(dst []byte, f float64) []byte {
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
	var buf [32]byte
	digits, exp, neg := shortestDigits(buf[:0], f)
	if neg {
		dst = append(dst, '-')
	}
	abs := math.Abs(f)
	if abs >= 1e-3 && abs < 1e7 {
		if exp >= 0 {
			// Integer part: digits[0..exp], padded with zeros.
			for i := 0; i <= exp; i++ {
				if i < len(digits) {
					dst = append(dst, digits[i])
				} else {
					dst = append(dst, '0')
				}
			}
			dst = append(dst, '.')
			if exp+1 < len(digits) {
				dst = append(dst, digits[exp+1:]...)
			} else {
				dst = append(dst, '0')
			}
			return dst
		}
		dst = append(dst, '0', '.')
		for i := 0; i < -exp-1; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
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

// shortestDigits returns the shortest decimal digits d1d2... that read back
// as f (finite, non-zero) and the exponent e with |f| = d1.d2... * 10^e.
func shortestDigits(buf []byte, f float64) (digits []byte, exp int, neg bool) {
	s := strconv.AppendFloat(buf, f, 'e', -1, 64)
	if s[0] == '-' {
		neg = true
		s = s[1:]
	}
	// s is "d[.ddd]e±XX".
	ePos := len(s) - 1
	for s[ePos] != 'e' {
		ePos--
	}
	mant := s[:ePos]
	for _, c := range s[ePos+2:] {
		exp = exp*10 + int(c-'0')
	}
	if s[ePos+1] == '-' {
		exp = -exp
	}
	// Drop the decimal point in place.
	if len(mant) > 1 {
		copy(mant[1:], mant[2:])
		mant = mant[:len(mant)-1]
	}
	return mant, exp, neg
}

// appendDecimal appends the unscaled value d with scale digits after the
// point, as Java's BigDecimal.toPlainString does ("-0.05", "12.50").
func appendDecimal(dst []byte, d decimal128.Num, scale int) []byte {
	u, neg := mag(d)
	var buf [48]byte
	digits := u.appendDigits(buf[:0])
	if neg && !u.isZero() {
		dst = append(dst, '-')
	}
	if scale == 0 {
		return append(dst, digits...)
	}
	if len(digits) <= scale {
		dst = append(dst, '0', '.')
		for i := len(digits); i < scale; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	dst = append(dst, digits[:len(digits)-scale]...)
	dst = append(dst, '.')
	return append(dst, digits[len(digits)-scale:]...)
}

// appendDigits appends the decimal digits of u ("0" for zero).
func (u u128) appendDigits(dst []byte) []byte {
	if u.isZero() {
		return append(dst, '0')
	}
	// Split into base-10^19 chunks, least significant first.
	var chunks [3]uint64
	k := 0
	for !u.isZero() {
		var r uint64
		u, r = u.divmod64(pow10u64[19])
		chunks[k] = r
		k++
	}
	dst = strconv.AppendUint(dst, chunks[k-1], 10)
	for i := k - 2; i >= 0; i-- {
		var tmp [20]byte
		s := strconv.AppendUint(tmp[:0], chunks[i], 10)
		for j := len(s); j < 19; j++ {
			dst = append(dst, '0')
		}
		dst = append(dst, s...)
	}
	return dst
}

// decimalToDouble converts an unscaled DECIMAL(p, s) value to DOUBLE as
// Flink does: for p <= 18 the unscaled long divided by 10^s in floating
// point, otherwise the correctly rounded value.
func decimalToDouble(d decimal128.Num, p, s int) float64 {
	if p <= 18 {
		return float64(int64(d.LowBits())) / float64(pow10u64[s])
	}
	var buf [64]byte
	b := appendDecimal(buf[:0], d, 0)
	b = append(b, 'e', '-')
	b = strconv.AppendInt(b, int64(s), 10)
	// The text is well formed, so ParseFloat keeps no reference to it.
	f, _ := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	return f
}

// decimalFromDigits rounds the number 0.sig * 10^? given as significant
// digits sig (no leading zeros, may be empty for zero) times 10^exp to an
// unscaled value of the given scale, half up, and reports whether it fits
// precision digits.
func decimalFromDigits(sig []byte, exp int, neg bool, precision, scale int) (decimal128.Num, bool) {
	if len(sig) == 0 {
		return decimal128.Num{}, true
	}
	k := exp + scale // unscaled = sig * 10^k
	var u u128
	if k >= 0 {
		if len(sig)+k > precision {
			return decimal128.Num{}, false
		}
		for _, c := range sig {
			u = u.mul64(10).add64(uint64(c - '0'))
		}
		r, ok := u.mulPow10(k, precision)
		if !ok {
			return decimal128.Num{}, false
		}
		return r.signed(neg), true
	}
	keep := len(sig) + k
	if keep < 0 {
		return decimal128.Num{}, true
	}
	if keep > precision {
		// sig starts with a non-zero digit, so the value is >= 10^precision.
		return decimal128.Num{}, false
	}
	for _, c := range sig[:keep] {
		u = u.mul64(10).add64(uint64(c - '0'))
	}
	if sig[keep] >= '5' {
		u = u.add64(1)
	}
	if !u.less(pow10[precision]) {
		return decimal128.Num{}, false
	}
	return u.signed(neg), true
}

// parsedNumber is text split into sign, significant digits and exponent.
type parsedNumber struct {
	neg bool
	sig []byte // significant digits, no leading zeros
	exp int    // value = sig * 10^exp
}

// parseDecimalText parses Java BigDecimal syntax: [+-] digits [. digits]
// [eE [+-] digits], with at least one digit in the mantissa.
func parseDecimalText(s []byte, scratch []byte) (parsedNumber, bool) {
	var p parsedNumber
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		p.neg = s[i] == '-'
		i++
	}
	sig := scratch[:0]
	mantDigits := 0
	frac := 0
	seenPoint := false
	for ; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			mantDigits++
			if seenPoint {
				frac++
			}
			if len(sig) == 0 && c == '0' {
				continue
			}
			sig = append(sig, c)
		case c == '.' && !seenPoint:
			seenPoint = true
		default:
			goto exponent
		}
	}
exponent:
	if mantDigits == 0 {
		return p, false
	}
	exp := 0
	if i < len(s) {
		if s[i] != 'e' && s[i] != 'E' {
			return p, false
		}
		i++
		eneg := false
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			eneg = s[i] == '-'
			i++
		}
		if i == len(s) {
			return p, false
		}
		for ; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return p, false
			}
			if exp < 1e6 {
				exp = exp*10 + int(c-'0')
			}
		}
		if eneg {
			exp = -exp
		}
	}
	p.sig = sig
	p.exp = exp - frac
	return p, true
}

// trimSpace trims ASCII whitespace (and other control characters up to
// ' ', as Java's String.trim does).
func trimSpace(b []byte) []byte {
	for len(b) > 0 && b[0] <= ' ' {
		b = b[1:]
	}
	for len(b) > 0 && b[len(b)-1] <= ' ' {
		b = b[:len(b)-1]
	}
	return b
}

// parseIntText parses text as Flink's CAST to INT/BIGINT does: an optional
// sign, digits, and an optional fraction of digits that is dropped
// ("12.7" is 12). bitSize is 32 or 64. reason explains a failure.
func parseIntText(b []byte, bitSize int) (x int64, reason string) {
	if len(b) == 0 {
		return 0, "input is empty"
	}
	i := 0
	neg := false
	if b[0] == '-' || b[0] == '+' {
		neg = b[0] == '-'
		i++
		if len(b) == 1 {
			return 0, "input has only a sign"
		}
	}
	limit := uint64(1) << (bitSize - 1) // magnitude of MIN
	var u uint64
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' {
			i++
			for ; i < len(b); i++ {
				if b[i] < '0' || b[i] > '9' {
					return 0, "invalid character"
				}
			}
			break
		}
		if c < '0' || c > '9' {
			return 0, "invalid character"
		}
		d := uint64(c - '0')
		if u > (limit-d)/10 {
			return 0, "overflow"
		}
		u = u*10 + d
	}
	if neg {
		return -int64(u), ""
	}
	if u == limit {
		return 0, "overflow"
	}
	return int64(u), ""
}

// parseDoubleText parses text as Java's Double.parseDouble does for
// decimal input: "NaN", "Infinity" with an optional sign, or a decimal
// number with an optional exponent and an optional f/F/d/D suffix.
func parseDoubleText(b []byte) (float64, bool) {
	if len(b) == 0 {
		return 0, false
	}
	body := b
	neg := false
	if body[0] == '+' || body[0] == '-' {
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
			b = b[:n-1]
		}
	}
	var scratch [64]byte
	if _, ok := parseDecimalText(b, scratch[:0]); !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(unsafe.String(&b[0], len(b)), 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return f, true // overflow to ±Inf (underflow to 0) like Java
		}
		return 0, false
	}
	return f, true
}

// parseBoolText parses text as Flink's CAST to BOOLEAN does: t, true, y,
// yes, 1 or f, false, n, no, 0, in any case.
func parseBoolText(b []byte) (val, ok bool) {
	if len(b) > 5 {
		return false, false
	}
	var lower [5]byte
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		lower[i] = c
	}
	switch string(lower[:len(b)]) {
	case "t", "true", "y", "yes", "1":
		return true, true
	case "f", "false", "n", "no", "0":
		return false, true
	}
	return false, false
}

const msPerDay = 86_400_000

// civil converts days since 1970-01-01 to a proleptic Gregorian date.
func civil(days int64) (y int64, m, d int) {
	z := days + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y = yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d = int(doy - (153*mp+2)/5 + 1)
	if mp < 10 {
		m = int(mp + 3)
	} else {
		m = int(mp - 9)
	}
	if m <= 2 {
		y++
	}
	return y, m, d
}

// daysFromCivil converts a proleptic Gregorian date to days since
// 1970-01-01.
func daysFromCivil(y int64, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mm := int64(m)
	if m > 2 {
		mm -= 3
	} else {
		mm += 9
	}
	doy := (153*mm+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// appendTimestamp appends a TIMESTAMP(3) (milliseconds since the epoch) as
// 'yyyy-MM-dd HH:mm:ss.SSS'.
func appendTimestamp(dst []byte, ms int64) []byte {
	days := ms / msPerDay
	rem := ms % msPerDay
	if rem < 0 {
		rem += msPerDay
		days--
	}
	y, mo, d := civil(days)
	if y < 0 || y > 9999 {
		if y < 0 {
			dst = append(dst, '-')
			y = -y
		}
		dst = appendPadded(dst, y, 4)
	} else {
		dst = append(dst, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	}
	h, mi, s, ms := rem/3_600_000, rem/60_000%60, rem/1000%60, rem%1000
	return append(dst, '-', byte('0'+mo/10), byte('0'+mo%10), '-', byte('0'+d/10), byte('0'+d%10),
		' ', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10), ':', byte('0'+s/10), byte('0'+s%10),
		'.', byte('0'+ms/100), byte('0'+ms/10%10), byte('0'+ms%10))
}

// appendPadded appends non-negative x with at least width digits.
func appendPadded(dst []byte, x int64, width int) []byte {
	var buf [20]byte
	s := strconv.AppendInt(buf[:0], x, 10)
	for i := len(s); i < width; i++ {
		dst = append(dst, '0')
	}
	return append(dst, s...)
}

// parseTimestampText parses 'yyyy-MM-dd[( |T)HH:mm[:ss[.fffffffff]]]'
// (month, day, hours, minutes and seconds may have one digit) into
// milliseconds since the epoch; sub-millisecond digits are dropped.
func parseTimestampText(b []byte) (int64, bool) {
	i := 0
	num := func(minDigits, maxDigits int) (int64, bool) {
		start := i
		var x int64
		for i < len(b) && i-start < maxDigits && b[i] >= '0' && b[i] <= '9' {
			x = x*10 + int64(b[i]-'0')
			i++
		}
		return x, i-start >= minDigits
	}
	expect := func(c byte) bool {
		if i < len(b) && b[i] == c {
			i++
			return true
		}
		return false
	}
	y, ok := num(4, 4)
	if !ok || !expect('-') {
		return 0, false
	}
	mo, ok := num(1, 2)
	if !ok || !expect('-') {
		return 0, false
	}
	d, ok := num(1, 2)
	if !ok || mo < 1 || mo > 12 || d < 1 || d > int64(daysIn(y, int(mo))) {
		return 0, false
	}
	var h, mi, s, ms int64
	if i < len(b) {
		if !expect(' ') && !expect('T') {
			return 0, false
		}
		if h, ok = num(1, 2); !ok || !expect(':') {
			return 0, false
		}
		if mi, ok = num(1, 2); !ok {
			return 0, false
		}
		if expect(':') {
			if s, ok = num(1, 2); !ok {
				return 0, false
			}
			if expect('.') {
				start := i
				for i < len(b) && b[i] >= '0' && b[i] <= '9' && i-start < 9 {
					if i-start < 3 {
						ms = ms*10 + int64(b[i]-'0')
					}
					i++
				}
				n := i - start
				if n == 0 {
					return 0, false
				}
				for ; n < 3; n++ {
					ms *= 10
				}
			}
		}
		if i != len(b) || h > 23 || mi > 59 || s > 59 {
			return 0, false
		}
	}
	days := daysFromCivil(y, int(mo), int(d))
	return days*msPerDay + h*3_600_000 + mi*60_000 + s*1000 + ms, true
}

// daysIn returns the number of days of month m of year y.
func daysIn(y int64, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
