package expr

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// errDivZero reports a division by zero inside a kernel.
var errDivZero = errors.New("division by zero")

// maxDivPrecision is the number of significant digits Flink keeps of an
// exact DECIMAL quotient before rounding it to the result scale
// (MathContext(38, HALF_UP)).
const maxDivPrecision = 38

// decArith is one DECIMAL arithmetic operation with its operand and result
// precisions and scales. Like Flink it computes exactly, rounds half up to
// the result scale, and gives NULL when the result does not fit the result
// precision.
type decArith struct {
	op             arithOp
	p1, s1, p2, s2 int
	pr, sr         int
	// sa is the common scale add, sub and mod align both operands to.
	sa int
	// m1, m2 scale the operands to sa.
	m1, m2 decimal128.Num
	// fast reports that every intermediate fits in 128 bits (at most 38
	// digits), so the int128 path applies; otherwise big.Int is used.
	fast bool
	// exact reports that the result always fits the result type without
	// rounding (the result scale is the exact scale and the precision has
	// room), so the column is computed with plain int128 operations.
	exact bool
}

// newDecArith prepares a DECIMAL operation.
func newDecArith(op arithOp, lt, rt, t types.Type) (*decArith, error) {
	for _, x := range []types.Type{lt, rt, t} {
		if err := checkDecimalType(x); err != nil {
			return nil, err
		}
	}
	k := &decArith{op: op, p1: lt.Precision, s1: lt.Scale, p2: rt.Precision, s2: rt.Scale, pr: t.Precision, sr: t.Scale}
	k.sa = max(k.s1, k.s2)
	k.m1 = pow10[k.sa-k.s1].signed(false)
	k.m2 = pow10[k.sa-k.s2].signed(false)
	intDigits := max(k.p1-k.s1, k.p2-k.s2)
	switch op {
	case opAdd, opSub:
		k.fast = intDigits+k.sa+1 <= 38
		k.exact = k.fast && k.sr == k.sa && k.pr >= intDigits+k.sa+1
	case opMul:
		k.fast = k.p1+k.p2 <= 38
		k.exact = k.fast && k.sr == k.s1+k.s2 && k.pr >= k.p1+k.p2
	}
	return k, nil
}

// row computes one result. ok is false when the result overflows the
// result precision (NULL); err is errDivZero for a zero divisor.
func (k *decArith) row(a, b decimal128.Num, s *bigScratch) (decimal128.Num, bool, error) {
	if k.fast {
		var r decimal128.Num
		var ok bool
		switch k.op {
		case opAdd:
			r, ok = rescale(a.Mul(k.m1).Add(b.Mul(k.m2)), k.sa, k.sr, k.pr)
		case opSub:
			r, ok = rescale(a.Mul(k.m1).Sub(b.Mul(k.m2)), k.sa, k.sr, k.pr)
		default:
			r, ok = rescale(a.Mul(b), k.s1+k.s2, k.sr, k.pr)
		}
		return r, ok, nil
	}
	if k.op == opDiv {
		if b.HighBits() == 0 && b.LowBits() == 0 {
			return decimal128.Num{}, false, errDivZero
		}
		if a.HighBits() == 0 && a.LowBits() == 0 {
			return decimal128.Num{}, true, nil
		}
		if r, ok, done := k.divSmall(a, b); done {
			return r, ok, nil
		}
	}
	A := setNum(&s.a, a, &s.t)
	B := setNum(&s.b, b, &s.t)
	switch k.op {
	case opAdd, opSub:
		A.Mul(A, bigPow10[k.sa-k.s1])
		B.Mul(B, bigPow10[k.sa-k.s2])
		if k.op == opAdd {
			s.q.Add(A, B)
		} else {
			s.q.Sub(A, B)
		}
		r, ok := s.bigRescale(&s.r, &s.q, k.sa, k.sr, k.pr)
		return r, ok, nil
	case opMul:
		s.q.Mul(A, B)
		r, ok := s.bigRescale(&s.r, &s.q, k.s1+k.s2, k.sr, k.pr)
		return r, ok, nil
	case opMod:
		if B.Sign() == 0 {
			return decimal128.Num{}, false, errDivZero
		}
		A.Mul(A, bigPow10[k.sa-k.s1])
		B.Mul(B, bigPow10[k.sa-k.s2])
		s.w.QuoRem(A, B, &s.q) // truncated: the sign of the dividend
		r, ok := s.bigRescale(&s.r, &s.q, k.sa, k.sr, k.pr)
		return r, ok, nil
	case opDiv:
		if B.Sign() == 0 {
			return decimal128.Num{}, false, errDivZero
		}
		if A.Sign() == 0 {
			return decimal128.Num{}, true, nil
		}
		neg := A.Sign() != B.Sign()
		A.Abs(A)
		B.Abs(B)
		// Scale |A| up so the integer quotient has at least 39 digits:
		// |A|/|B| >= 10^(dA-dB-1), so e = 39-dA+dB suffices (e >= 2).
		e := maxDivPrecision + 1 - bigDigits(A) + bigDigits(B)
		A.Mul(A, bigPow10[e])
		s.q.QuoRem(A, B, &s.r)
		// q is the quotient at scale u = e + s1 - s2 (truncated). Round it
		// half up to 38 significant digits; the truncated tail cannot
		// change a half-up decision made on the integer digits.
		u := e + k.s1 - k.s2
		drop := bigDigits(&s.q) - maxDivPrecision
		if drop > 0 {
			s.bigRoundPow10(&s.q, &s.q, drop)
			u -= drop
		}
		if neg {
			s.q.Neg(&s.q)
		}
		if u < 0 {
			// Scale is negative only for huge quotients: bring it to 0.
			s.q.Mul(&s.q, bigPow10[-u])
			u = 0
		}
		r, ok := s.bigRescale(&s.r, &s.q, u, k.sr, k.pr)
		return r, ok, nil
	}
	return decimal128.Num{}, false, fmt.Errorf("unsupported decimal operation %d", k.op)
}

// decimalRun returns the run function of a DECIMAL arithmetic node.
func decimalRun(k *decArith, l, r *prog, text string) func(*evalCtx, *batch) (value, error) {
	return strictBinary(l, r, func(ec *evalCtx, lv, rv value, n int) (value, error) {
		a, am := decOperand(lv)
		b, bm := decOperand(rv)
		if k.exact {
			// No rounding and no overflow: whole-column int128 arithmetic
			// (NULL slots are computed too and ignored).
			vb, nulls := andValidity(ec.mem, n, lv.arr, rv.arr)
			ob, out := newValues[decimal128.Num](ec.mem, n)
			switch k.op {
			case opAdd:
				for i := range out {
					out[i] = a[i&am].Mul(k.m1).Add(b[i&bm].Mul(k.m2))
				}
			case opSub:
				for i := range out {
					out[i] = a[i&am].Mul(k.m1).Sub(b[i&bm].Mul(k.m2))
				}
			default:
				for i := range out {
					out[i] = a[i&am].Mul(b[i&bm])
				}
			}
			return value{arr: makeArray(types.DecimalType(k.pr, k.sr).Arrow(), n, nulls, vb, ob)}, nil
		}
		vb, _ := andValidity(ec.mem, n, lv.arr, rv.arr)
		if vb == nil {
			vb, _ = newBitmap(ec.mem, n)
			bitutil.SetBitsTo(vb.Bytes(), 0, int64(n), true)
		}
		valid := vb.Bytes()
		ob, out := newValues[decimal128.Num](ec.mem, n)
		var s bigScratch
		for i := 0; i < n; i++ {
			if !bitutil.BitIsSet(valid, i) {
				out[i] = decimal128.Num{}
				continue
			}
			res, ok, err := k.row(a[i&am], b[i&bm], &s)
			if err != nil {
				ob.Release()
				vb.Release()
				sym := "/"
				if k.op == opMod {
					sym = "%"
				}
				return value{}, fmt.Errorf("expr: %w in %s (%s %s 0)", err, text, sqltext.AppendDecimal(nil, a[i&am], k.s1), sym)
			}
			if !ok {
				bitutil.ClearBit(valid, i)
				res = decimal128.Num{}
			}
			out[i] = res
		}
		nulls := nullsIn(valid, n)
		if nulls == 0 {
			vb.Release()
			vb = nil
		}
		return value{arr: makeArray(types.DecimalType(k.pr, k.sr).Arrow(), n, nulls, vb, ob)}, nil
	})
}

// decOperand returns the values of a DECIMAL operand and its index mask
// (0 for a constant).
func decOperand(v value) ([]decimal128.Num, int) {
	if v.arr != nil {
		return values[decimal128.Num](v.arr), -1
	}
	return []decimal128.Num{v.sc.d}, 0
}

// divSmall is DECIMAL division when the divisor's magnitude fits 64 bits
// (any divisor of precision up to 19), computed by long division into a
// digit buffer instead of big.Int, with the same two roundings: half up
// to 38 significant digits, then half up to the result scale. a and b are
// non-zero. done is false when the divisor is too large for this path.
func (k *decArith) divSmall(a, b decimal128.Num) (res decimal128.Num, ok, done bool) {
	ua, na := mag(a)
	ub, nb := mag(b)
	if ub.hi != 0 {
		return decimal128.Num{}, false, false
	}
	d := ub.lo
	var buf [200]byte
	// The digits of |a|/|b| (the unscaled quotient): integer part, then
	// fraction digits, 19 at a time, until there are 39 significant digits
	// (38 kept plus the one that decides the rounding) or it is exact.
	q, r := ua.divmod64(d)
	D := buf[:0]
	if !q.isZero() {
		D = sqltext.AppendDecimal(D, q.signed(false), 0)
	}
	intLen := len(D)
	first := -1
	if intLen > 0 {
		first = 0
	}
	for (first < 0 || len(D)-first < maxDivPrecision+1) && r != 0 {
		hi, lo := bits.Mul64(r, pow10u64[19])
		var c uint64
		c, r = bits.Div64(hi, lo, d) // hi < d because r < d
		start := len(D)
		var tmp [20]byte
		cs := strconv.AppendUint(tmp[:0], c, 10)
		for i := len(cs); i < 19; i++ {
			D = append(D, '0')
		}
		D = append(D, cs...)
		if first < 0 {
			for i := start; i < len(D); i++ {
				if D[i] != '0' {
					first = i
					break
				}
			}
		}
	}
	// The decimal point of the real quotient sits after digit point.
	point := intLen + k.s2 - k.s1
	if len(D)-first > maxDivPrecision {
		cut := first + maxDivPrecision
		up := D[cut] >= '5'
		D = D[:cut]
		if up {
			i := cut - 1
			for i >= 0 && D[i] == '9' {
				D[i] = '0'
				i--
			}
			if i >= 0 {
				D[i]++
				first = min(first, i)
			} else {
				D = append(D, 0)
				copy(D[1:], D)
				D[0] = '1'
				point++
				first = 0
			}
		}
	}
	// Round half up to the result scale: keep the digits before end.
	end := point + k.sr
	var u u128
	if end > first {
		if end-first > k.pr {
			return decimal128.Num{}, false, true
		}
		for i := first; i < end; i++ {
			digit := uint64(0)
			if i < len(D) {
				digit = uint64(D[i] - '0')
			}
			u = u.mul64(10).add64(digit)
		}
	}
	if end >= 0 && end < len(D) && D[end] >= '5' {
		u = u.add64(1)
	}
	if !u.less(pow10[k.pr]) {
		return decimal128.Num{}, false, true
	}
	return u.signed(na != nb), true, true
}
