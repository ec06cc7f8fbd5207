package agg

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/big"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// dec is SUM or AVG over DECIMAL: a 128-bit sum at the input scale and a
// count of non-NULL values. A sum that leaves 128 bits, or a result that
// does not fit the result precision, is an error: the engine never returns
// a wrong number.
type dec struct {
	avg                 bool
	inScale             int32
	outPrec, outScale   int32
	sum                 []decimal128.Num
	cnt                 []int64
	q, r, div, mul, one big.Int // scratch for AVG; mul is 10^(outScale-inScale)
}

func newDec(avg bool, inScale, outPrec, outScale int32) *dec {
	a := &dec{avg: avg, inScale: inScale, outPrec: outPrec, outScale: outScale}
	a.mul.Exp(big.NewInt(10), big.NewInt(int64(outScale-inScale)), nil)
	a.one.SetInt64(1)
	return a
}

func (a *dec) Len() int { return len(a.cnt) }
func (a *dec) Grow(n int) {
	a.sum = grow(a.sum, n)
	a.cnt = grow(a.cnt, n)
}
func (a *dec) Reset() {
	a.sum = a.sum[:0]
	a.cnt = a.cnt[:0]
}

// add128 returns x+y and whether it overflowed 128 bits.
func add128(x, y decimal128.Num) (decimal128.Num, bool) {
	r := x.Add(y)
	xh, yh, rh := x.HighBits(), y.HighBits(), r.HighBits()
	return r, (xh^yh) >= 0 && (rh^xh) < 0
}

func (a *dec) errOverflow() error {
	name := "SUM"
	if a.avg {
		name = "AVG"
	}
	return fmt.Errorf("agg: %s of DECIMAL overflowed: the sum does not fit in 128 bits", name)
}

func (a *dec) Update(col arrow.Array, groups []uint32, sel []int32) error {
	c, ok := col.(*array.Decimal128)
	if !ok {
		return fmt.Errorf("agg: input column is %s, want decimal", col.DataType())
	}
	vs := c.Values()
	valid, nulls := rowkey.ValidityOf(col)
	var over bool
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && valid.Null(r) {
			continue
		}
		var o bool
		a.sum[g], o = add128(a.sum[g], vs[r])
		over = over || o
		a.cnt[g]++
	}
	if over {
		return a.errOverflow()
	}
	return nil
}

func (a *dec) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*dec)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a DECIMAL aggregate", src)
	}
	var o bool
	a.sum[g], o = add128(a.sum[g], s.sum[sg])
	a.cnt[g] += s.cnt[sg]
	if o {
		return a.errOverflow()
	}
	return nil
}

// Subtract implements Retractable.
func (a *dec) Subtract(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*dec)
	if !ok {
		return fmt.Errorf("agg: cannot subtract %T from a DECIMAL aggregate", src)
	}
	var o bool
	a.sum[g], o = add128(a.sum[g], s.sum[sg].Negate())
	a.cnt[g] -= s.cnt[sg]
	if o || s.sum[sg] == minDec128 {
		return a.errOverflow()
	}
	return nil
}

// minDec128 is the one 128-bit value whose negation overflows.
var minDec128 = decimal128.New(math.MinInt64, 0)

// addEncoded adds one value in the rowkey key format without its marker
// byte (a distinct value).
func (a *dec) addEncoded(g uint32, v []byte) error {
	if len(v) != 16 {
		return errValueWidth(len(v), 16)
	}
	x := decimal128.New(int64(binary.LittleEndian.Uint64(v[8:])), binary.LittleEndian.Uint64(v))
	var o bool
	a.sum[g], o = add128(a.sum[g], x)
	a.cnt[g]++
	if o {
		return a.errOverflow()
	}
	return nil
}

func (a *dec) AppendState(dst []byte, g uint32) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, uint64(a.cnt[g]))
	dst = binary.LittleEndian.AppendUint64(dst, a.sum[g].LowBits())
	return binary.LittleEndian.AppendUint64(dst, uint64(a.sum[g].HighBits()))
}

func (a *dec) MergeState(g uint32, src []byte) ([]byte, error) {
	if len(src) < 24 {
		return nil, errTruncated
	}
	c := int64(binary.LittleEndian.Uint64(src))
	v := decimal128.New(int64(binary.LittleEndian.Uint64(src[16:])), binary.LittleEndian.Uint64(src[8:]))
	var o bool
	a.sum[g], o = add128(a.sum[g], v)
	a.cnt[g] += c
	if o {
		return nil, a.errOverflow()
	}
	return src[24:], nil
}

func (a *dec) Build(b array.Builder) error {
	bb, ok := b.(*array.Decimal128Builder)
	if !ok {
		return fmt.Errorf("agg: DECIMAL result cannot be built into a %s builder", b.Type())
	}
	bb.Reserve(len(a.cnt))
	for g, c := range a.cnt {
		if c == 0 {
			bb.AppendNull()
			continue
		}
		v := a.sum[g]
		if a.avg {
			var err error
			if v, err = a.average(v, c); err != nil {
				return err
			}
		}
		if !v.FitsInPrecision(a.outPrec) {
			return fmt.Errorf("agg: result %s does not fit DECIMAL(%d, %d)", v.ToString(a.outScale), a.outPrec, a.outScale)
		}
		bb.Append(v)
	}
	return nil
}

// average returns sum/cnt at the output scale, rounded half away from zero
// (Flink's HALF_UP).
func (a *dec) average(sum decimal128.Num, cnt int64) (decimal128.Num, error) {
	n := sum.BigInt()
	n.Mul(n, &a.mul)
	neg := n.Sign() < 0
	n.Abs(n)
	a.div.SetInt64(cnt)
	a.q.QuoRem(n, &a.div, &a.r)
	a.r.Lsh(&a.r, 1)
	if a.r.Cmp(&a.div) >= 0 {
		a.q.Add(&a.q, &a.one)
	}
	if neg {
		a.q.Neg(&a.q)
	}
	if a.q.BitLen() > 126 {
		return decimal128.Num{}, fmt.Errorf("agg: AVG result does not fit DECIMAL(%d, %d)", a.outPrec, a.outScale)
	}
	return decimal128.FromBigInt(&a.q), nil
}
