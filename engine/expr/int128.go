package expr

import (
	"math/big"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow/decimal128"
)

// u128 is an unsigned 128-bit integer: the magnitude of a decimal128 value.
// The fast decimal paths use it where the planner's precisions bound every
// intermediate value below 10^38; the others go through big.Int.
type u128 struct{ hi, lo uint64 }

// pow10 holds 10^k as u128 for k in [0, 38].
var pow10 [39]u128

// pow10u64 holds 10^k for k in [0, 19].
var pow10u64 [20]uint64

// bigPow10 holds 10^k as big.Int for k in [0, 160].
var bigPow10 [161]*big.Int

func init() {
	p := u128{lo: 1}
	for k := range pow10 {
		pow10[k] = p
		p = p.mul64(10)
	}
	x := uint64(1)
	for k := range pow10u64 {
		pow10u64[k] = x
		x *= 10
	}
	b := big.NewInt(1)
	for k := range bigPow10 {
		bigPow10[k] = new(big.Int).Set(b)
		b.Mul(b, big.NewInt(10))
	}
}

// mul64 returns u*m modulo 2^128.
func (u u128) mul64(m uint64) u128 {
	hi, lo := bits.Mul64(u.lo, m)
	hi += u.hi * m
	return u128{hi, lo}
}

// add64 returns u+a modulo 2^128.
func (u u128) add64(a uint64) u128 {
	lo, c := bits.Add64(u.lo, a, 0)
	return u128{u.hi + c, lo}
}

// less reports u < v.
func (u u128) less(v u128) bool { return u.hi < v.hi || (u.hi == v.hi && u.lo < v.lo) }

// isZero reports u == 0.
func (u u128) isZero() bool { return u.hi == 0 && u.lo == 0 }

// divmod64 returns u / d and u % d for d > 0.
func (u u128) divmod64(d uint64) (u128, uint64) {
	qhi, r := bits.Div64(0, u.hi, d)
	qlo, r := bits.Div64(r, u.lo, d)
	return u128{qhi, qlo}, r
}

// mulPow10 returns u*10^k and whether the result is below 10^limit (with
// limit <= 38); on false the product is not computed.
func (u u128) mulPow10(k, limit int) (u128, bool) {
	if k == 0 {
		return u, u.less(pow10[limit])
	}
	if k > limit {
		return u128{}, u.isZero()
	}
	if !u.less(pow10[limit-k]) {
		return u128{}, false
	}
	// u < 10^(limit-k) so u*10^k < 10^limit <= 10^38 fits.
	if k <= 19 {
		return u.mul64(pow10u64[k]), true
	}
	return u.mul64(pow10u64[19]).mul64(pow10u64[k-19]), true
}

// divPow10 returns u / 10^k rounded as asked: half up (away from zero on a
// tie, on the magnitude) or truncated. k may be any non-negative number.
func (u u128) divPow10(k int, halfUp bool) u128 {
	if k == 0 {
		return u
	}
	if k >= 39 {
		return u128{} // u < 2^128 < 10^39 / 2, so even half up gives 0
	}
	if k <= 19 {
		q, r := u.divmod64(pow10u64[k])
		if halfUp && r >= 5*pow10u64[k-1] {
			q = q.add64(1)
		}
		return q
	}
	// Two steps: by 10^19, then by 10^(k-19). The total remainder is
	// r2*10^19 + r1 and it reaches half of 10^k = 5*10^(k-20)*10^19 exactly
	// when r2 >= 5*10^(k-20).
	q1, _ := u.divmod64(pow10u64[19])
	q, r2 := q1.divmod64(pow10u64[k-19])
	if halfUp && r2 >= 5*pow10u64[k-20] {
		q = q.add64(1)
	}
	return q
}

// mag returns the magnitude and sign of a decimal128 value.
func mag(d decimal128.Num) (u128, bool) {
	hi, lo := d.HighBits(), d.LowBits()
	if hi < 0 {
		lo2, b := bits.Sub64(0, lo, 0)
		hi2, _ := bits.Sub64(0, uint64(hi), b)
		return u128{hi2, lo2}, true
	}
	return u128{uint64(hi), lo}, false
}

// signed returns u with the sign neg as a decimal128 value. u must be below
// 2^127.
func (u u128) signed(neg bool) decimal128.Num {
	if neg {
		lo, b := bits.Sub64(0, u.lo, 0)
		hi, _ := bits.Sub64(0, u.hi, b)
		return decimal128.New(int64(hi), lo)
	}
	return decimal128.New(int64(u.hi), u.lo)
}

// decCmp compares two decimal128 values of the same scale.
func decCmp(a, b decimal128.Num) int {
	ah, bh := a.HighBits(), b.HighBits()
	switch {
	case ah < bh:
		return -1
	case ah > bh:
		return 1
	}
	al, bl := a.LowBits(), b.LowBits()
	switch {
	case al < bl:
		return -1
	case al > bl:
		return 1
	}
	return 0
}

// rescale converts the unscaled value x from scale from to scale to,
// rounding half up, and reports whether the result fits prec digits.
func rescale(x decimal128.Num, from, to, prec int) (decimal128.Num, bool) {
	u, neg := mag(x)
	if to >= from {
		r, ok := u.mulPow10(to-from, prec)
		if !ok {
			return decimal128.Num{}, false
		}
		return r.signed(neg), true
	}
	r := u.divPow10(from-to, true)
	if !r.less(pow10[prec]) {
		return decimal128.Num{}, false
	}
	return r.signed(neg), true
}

// bigScratch holds big.Int temporaries reused across rows, so the slow
// decimal paths do not allocate once warmed up.
type bigScratch struct {
	a, b, q, r, t, w big.Int
}

// setNum sets z to the decimal128 value d.
func setNum(z *big.Int, d decimal128.Num, t *big.Int) *big.Int {
	u, neg := mag(d)
	z.SetUint64(u.hi)
	z.Lsh(z, 64)
	t.SetUint64(u.lo)
	z.Or(z, t)
	if neg {
		z.Neg(z)
	}
	return z
}

// numFromBig converts z, which must be below 2^127 in magnitude, to
// decimal128.
func numFromBig(z *big.Int) (decimal128.Num, bool) {
	if z.BitLen() > 127 {
		return decimal128.Num{}, false
	}
	var u u128
	ws := z.Bits()
	if bits.UintSize == 64 {
		if len(ws) > 0 {
			u.lo = uint64(ws[0])
		}
		if len(ws) > 1 {
			u.hi = uint64(ws[1])
		}
	} else {
		for i := len(ws) - 1; i >= 0; i-- {
			u = u.mul64(1 << 32).add64(uint64(ws[i]))
		}
	}
	return u.signed(z.Sign() < 0), true
}

// bigRoundPow10 sets z to x / 10^k rounded half up (away from zero), using
// s.t and s.w as temporaries. x may alias z.
func (s *bigScratch) bigRoundPow10(z, x *big.Int, k int) *big.Int {
	if k == 0 {
		return z.Set(x)
	}
	neg := x.Sign() < 0
	s.w.Abs(x)
	if k >= len(bigPow10) {
		return z.SetInt64(0)
	}
	z.QuoRem(&s.w, bigPow10[k], &s.t)
	// Round up when 2*r >= 10^k.
	s.t.Lsh(&s.t, 1)
	if s.t.Cmp(bigPow10[k]) >= 0 {
		z.Add(z, bigOne)
	}
	if neg {
		z.Neg(z)
	}
	return z
}

var bigOne = big.NewInt(1)

// bigRescale sets z to x (scale from) rescaled to scale to with half-up
// rounding and reports whether it fits prec digits.
func (s *bigScratch) bigRescale(z, x *big.Int, from, to, prec int) (decimal128.Num, bool) {
	if to >= from {
		if to-from >= len(bigPow10) {
			if x.Sign() != 0 {
				return decimal128.Num{}, false
			}
			return decimal128.Num{}, true
		}
		z.Mul(x, bigPow10[to-from])
	} else {
		s.bigRoundPow10(z, x, from-to)
	}
	if z.CmpAbs(bigPow10[prec]) >= 0 {
		return decimal128.Num{}, false
	}
	return numFromBig(z)
}

// bigDigits returns the number of decimal digits of |x| (0 for zero).
func bigDigits(x *big.Int) int {
	if x.Sign() == 0 {
		return 0
	}
	// Estimate from the bit length, then correct.
	d := int(float64(x.BitLen()-1)*0.30102999566398) + 1
	for d < len(bigPow10) && x.CmpAbs(bigPow10[d]) >= 0 {
		d++
	}
	for d > 1 && x.CmpAbs(bigPow10[d-1]) < 0 {
		d--
	}
	return d
}
