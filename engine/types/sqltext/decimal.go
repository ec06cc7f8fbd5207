package sqltext

import (
	"math"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// maxPrecision is the largest DECIMAL precision (the digits decimal128
// holds).
const maxPrecision = 38

// pow10 holds 10^k as a 128-bit magnitude for k in [0, maxPrecision].
var pow10 = func() (p [maxPrecision + 1]u128) {
	x := u128{lo: 1}
	for k := range p {
		p[k] = x
		x = x.mulAdd(10, 0)
	}
	return p
}()

// pow10u64 holds 10^k for k in [0, 19].
var pow10u64 = func() (p [20]uint64) {
	x := uint64(1)
	for k := range p {
		p[k] = x
		x *= 10
	}
	return p
}()

// u128 is an unsigned 128-bit magnitude.
type u128 struct{ hi, lo uint64 }

// mulAdd returns u*m + a modulo 2^128.
func (u u128) mulAdd(m, a uint64) u128 {
	hi, lo := bits.Mul64(u.lo, m)
	lo, c := bits.Add64(lo, a, 0)
	return u128{u.hi*m + hi + c, lo}
}

// less reports u < v.
func (u u128) less(v u128) bool { return u.hi < v.hi || (u.hi == v.hi && u.lo < v.lo) }

// signed returns ±u as a decimal128 value; u must be below 2^127.
func (u u128) signed(neg bool) decimal128.Num {
	if neg {
		lo, b := bits.Sub64(0, u.lo, 0)
		hi, _ := bits.Sub64(0, u.hi, b)
		return decimal128.New(int64(hi), lo)
	}
	return decimal128.New(int64(u.hi), u.lo)
}

// ParseDecimal parses b in Java's BigDecimal syntax ([+-] digits [. digits]
// [(e|E) [+-] digits], at least one mantissa digit) as a DECIMAL(precision,
// scale) and returns its unscaled value. Digits beyond scale are rounded
// half up (away from zero on a tie), as Flink does. It returns ErrSyntax
// for text that is not a number and ErrRange for one that needs more than
// precision digits once rounded. precision must be in [1, 38] and scale in
// [0, precision].
func ParseDecimal(b []byte, precision, scale int) (decimal128.Num, error) {
	if d, short, err := parseShortDecimal(b, precision, scale); short {
		return d, err
	}
	n, ok := scanNumber(b)
	if !ok {
		return decimal128.Num{}, ErrSyntax
	}
	return n.decimal(precision, scale)
}

// parseShortDecimal is ParseDecimal in one pass for the common text: plain
// notation (no exponent) with at most 19 significant digits. short is
// false for other text, which the general path reads.
func parseShortDecimal(b []byte, precision, scale int) (d decimal128.Num, short bool, err error) {
	i := 0
	neg := false
	if len(b) > 0 && (b[0] == '+' || b[0] == '-') {
		neg = b[0] == '-'
		i = 1
	}
	var acc uint64 // the significant digits
	nsig, digits, frac := 0, 0, -1
	for ; i < len(b); i++ {
		c := b[i]
		if c == '.' && frac < 0 {
			frac = 0
			continue
		}
		x := c - '0'
		if x > 9 {
			return d, false, nil // an exponent, or not a number
		}
		digits++
		if frac >= 0 {
			frac++
		}
		if acc != 0 || x != 0 {
			if nsig++; nsig > 19 {
				return d, false, nil
			}
			acc = acc*10 + uint64(x)
		}
	}
	if digits == 0 {
		return d, true, ErrSyntax
	}
	// unscaled = acc * 10^k
	k := scale - max(frac, 0)
	var u u128
	switch {
	case k >= 0:
		if nsig+k > precision {
			return d, true, ErrRange
		}
		u = u128{lo: acc}
		for ; k > 19; k -= 19 {
			u = u.mulAdd(pow10u64[19], 0)
		}
		u = u.mulAdd(pow10u64[k], 0)
	case -k <= 19:
		p := pow10u64[-k]
		q, r := acc/p, acc%p
		if r >= p-r { // r >= p/2: half up
			q++
		}
		u = u128{lo: q}
	}
	if !u.less(pow10[precision]) {
		return d, true, ErrRange
	}
	return u.signed(neg), true, nil
}

// decimal rounds n half up to scale fraction digits and returns the
// unscaled value, or ErrRange if it needs more than precision digits.
func (n number) decimal(precision, scale int) (decimal128.Num, error) {
	if n.nsig == 0 {
		return decimal128.Num{}, nil
	}
	// unscaled = digits * 10^k
	k := n.exp + scale
	if k >= 0 {
		if n.nsig+k > precision {
			return decimal128.Num{}, ErrRange
		}
		// At most precision <= 38 digits: no overflow.
		u, _ := n.leading(n.nsig)
		for ; k > 19; k -= 19 {
			u = u.mulAdd(pow10u64[19], 0)
		}
		return u.mulAdd(pow10u64[k], 0).signed(n.neg), nil
	}
	keep := n.nsig + k // digits left of the rounding position
	if keep < 0 {
		return decimal128.Num{}, nil // below half a unit of the scale
	}
	if keep > precision {
		// The first digit is not zero, so the value is >= 10^precision.
		return decimal128.Num{}, ErrRange
	}
	u, up := n.leading(keep)
	if up {
		u = u.mulAdd(1, 1)
	}
	if !u.less(pow10[precision]) {
		return decimal128.Num{}, ErrRange
	}
	return u.signed(n.neg), nil
}

// leading returns the value of the first keep (<= 38) digits of the
// mantissa and whether the digit after them is 5 or more.
func (n number) leading(keep int) (u u128, up bool) {
	var acc uint64 // the digits since the last flush into u, at most 19
	cnt, seen := 0, 0
	for _, c := range n.mant {
		if c == '.' {
			continue
		}
		if seen == keep {
			up = c >= '5'
			break
		}
		acc = acc*10 + uint64(c-'0')
		seen++
		if cnt++; cnt == 19 {
			u = u.mulAdd(pow10u64[19], acc)
			acc, cnt = 0, 0
		}
	}
	return u.mulAdd(pow10u64[cnt], acc), up
}

// DecimalFromDouble converts f to DECIMAL(precision, scale) as Java's
// BigDecimal.valueOf(f) followed by rounding half up does, which is Flink's
// CAST of a DOUBLE to DECIMAL: the decimal value of the shortest digits
// that read back as f (those of Double.toString), not f's exact binary
// value. It reports false when f is NaN or infinite or the result needs
// more than precision digits.
func DecimalFromDouble(f float64, precision, scale int) (decimal128.Num, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return decimal128.Num{}, false
	}
	if f == 0 {
		return decimal128.Num{}, true
	}
	var buf [32]byte
	digits, exp, neg := shortestDigits(buf[:0], f)
	n := number{neg: neg, mant: digits, nsig: len(digits), exp: exp - len(digits) + 1}
	d, err := n.decimal(precision, scale)
	return d, err == nil
}

// AppendDecimal appends the DECIMAL with unscaled value d and the given
// scale in plain notation with exactly scale fraction digits, as Java's
// BigDecimal.toPlainString writes it and so as Flink casts a DECIMAL to
// STRING ("12.50", "-0.05", "7"). A negative scale appends zeros.
func AppendDecimal(dst []byte, d decimal128.Num, scale int) []byte {
	hi, lo := d.HighBits(), d.LowBits()
	u := u128{uint64(hi), lo}
	if hi < 0 {
		dst = append(dst, '-')
		l, b := bits.Sub64(0, lo, 0)
		h, _ := bits.Sub64(0, uint64(hi), b)
		u = u128{h, l}
	}
	var buf [40]byte
	digits := u.appendDigits(buf[:0])
	switch {
	case scale <= 0:
		dst = append(dst, digits...)
		for i := 0; i < -scale; i++ {
			dst = append(dst, '0')
		}
		return dst
	case len(digits) <= scale:
		dst = append(dst, '0', '.')
		for i := len(digits); i < scale; i++ {
			dst = append(dst, '0')
		}
		return append(dst, digits...)
	}
	at := len(digits) - scale
	dst = append(dst, digits[:at]...)
	dst = append(dst, '.')
	return append(dst, digits[at:]...)
}

// appendDigits appends the decimal digits of u ("0" for zero).
func (u u128) appendDigits(dst []byte) []byte {
	if u.hi == 0 {
		return strconv.AppendUint(dst, u.lo, 10)
	}
	// Base-10^19 chunks, least significant first: 2^128 < 10^39, so three.
	const chunk = 10_000_000_000_000_000_000
	var chunks [3]uint64
	k := 0
	for u.hi != 0 || u.lo != 0 {
		qhi, r1 := bits.Div64(0, u.hi, chunk)
		qlo, r := bits.Div64(r1, u.lo, chunk)
		u = u128{qhi, qlo}
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
