package expr

import (
	"bytes"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/types"
)

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	cmpEq cmpOp = iota
	cmpNe
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

var cmpFuncs = map[string]cmpOp{FuncEq: cmpEq, FuncNe: cmpNe, FuncLt: cmpLt, FuncLe: cmpLe, FuncGt: cmpGt, FuncGe: cmpGe}

var cmpSymbols = [...]string{"=", "<>", "<", "<=", ">", ">="}

// swapped returns the operator with its operands exchanged (a < b is b > a).
func (op cmpOp) swapped() cmpOp {
	switch op {
	case cmpLt:
		return cmpGt
	case cmpLe:
		return cmpGe
	case cmpGt:
		return cmpLt
	case cmpGe:
		return cmpLe
	}
	return op
}

// table returns the truth of op for a three-way comparison result c,
// indexed by c+1.
func (op cmpOp) table() [3]bool {
	switch op {
	case cmpEq:
		return [3]bool{false, true, false}
	case cmpNe:
		return [3]bool{true, false, true}
	case cmpLt:
		return [3]bool{true, false, false}
	case cmpLe:
		return [3]bool{true, true, false}
	case cmpGt:
		return [3]bool{false, false, true}
	}
	return [3]bool{false, true, true}
}

// compileCompare compiles eq, ne, lt, le, gt and ge.
func compileCompare(fn string, t types.Type, args []*prog) (*prog, error) {
	if err := wantArgs(args, 2); err != nil {
		return nil, err
	}
	op := cmpFuncs[fn]
	l, r := args[0], args[1]
	p := &prog{t: t, text: infix(cmpSymbols[op], args), fallible: anyFallible(l, r)}
	if t.Kind != types.Boolean {
		return nil, fmt.Errorf("result type is %s, want BOOLEAN", t)
	}
	lk, rk := l.t.Kind, r.t.Kind
	if lk == types.Null || rk == types.Null {
		p.konst = &scalar{null: true}
		return p, nil
	}
	if lk != rk {
		return nil, fmt.Errorf("cannot compare %s", argTypes(args))
	}
	var kernel func(ec *evalCtx, lv, rv value, n int) arrow.Array
	switch lk {
	case types.Int:
		kernel = func(ec *evalCtx, lv, rv value, n int) arrow.Array { return cmpNumbers[int32](ec, op, lv, rv, n) }
	case types.BigInt, types.Timestamp, types.Interval:
		kernel = func(ec *evalCtx, lv, rv value, n int) arrow.Array { return cmpNumbers[int64](ec, op, lv, rv, n) }
	case types.Double:
		kernel = func(ec *evalCtx, lv, rv value, n int) arrow.Array { return cmpNumbers[float64](ec, op, lv, rv, n) }
	case types.Decimal:
		dc := newDecCompare(l.t, r.t)
		kernel = func(ec *evalCtx, lv, rv value, n int) arrow.Array { return cmpDecimals(ec, op, dc, lv, rv, n) }
	case types.String:
		kernel = func(ec *evalCtx, lv, rv value, n int) arrow.Array { return cmpStrings(ec, op, lv, rv, n) }
	case types.Boolean:
		kernel = func(ec *evalCtx, lv, rv value, n int) arrow.Array { return cmpBools(ec, op, lv, rv, n) }
	default:
		return nil, fmt.Errorf("cannot compare %s", argTypes(args))
	}
	p.run = strictBinary(l, r, func(ec *evalCtx, lv, rv value, n int) (value, error) {
		if lv.arr == nil && rv.arr == nil {
			arr := broadcast(ec.mem, lv.sc, l.t, n)
			defer arr.Release()
			lv = value{arr: arr}
		}
		return value{arr: kernel(ec, lv, rv, n)}, nil
	})
	return p, nil
}

// cmpNumbers compares primitive operands (at least one a column).
func cmpNumbers[T number](ec *evalCtx, op cmpOp, lv, rv value, n int) arrow.Array {
	ob, out := newBitmap(ec.mem, n)
	switch {
	case lv.arr != nil && rv.arr != nil:
		a, b := values[T](lv.arr), values[T](rv.arr)
		switch op {
		case cmpEq:
			eqAA(a, b, out)
		case cmpNe:
			neAA(a, b, out)
		case cmpLt:
			ltAA(a, b, out)
		case cmpLe:
			leAA(a, b, out)
		case cmpGt:
			ltAA(b, a, out)
		case cmpGe:
			leAA(b, a, out)
		}
	default:
		arr, sc := lv.arr, rv.sc
		if arr == nil {
			arr, sc, op = rv.arr, lv.sc, op.swapped()
		}
		a, s := values[T](arr), scalarNumber[T](sc)
		switch op {
		case cmpEq:
			eqAS(a, s, out)
		case cmpNe:
			neAS(a, s, out)
		case cmpLt:
			ltAS(a, s, out)
		case cmpLe:
			leAS(a, s, out)
		case cmpGt:
			gtAS(a, s, out)
		case cmpGe:
			geAS(a, s, out)
		}
	}
	vb, nulls := andValidity(ec.mem, n, lv.arr, rv.arr)
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, vb, ob)
}

// decCompare compares DECIMAL values of possibly different scales.
type decCompare struct {
	s1, s2 int
	// m1, m2 scale each side to the larger scale.
	m1, m2 decimal128.Num
	// same reports equal scales (compare unscaled values directly); fast
	// that aligned values fit 128 bits.
	same, fast bool
}

func newDecCompare(lt, rt types.Type) *decCompare {
	sa := max(lt.Scale, rt.Scale)
	return &decCompare{
		s1: lt.Scale, s2: rt.Scale,
		m1:   pow10[sa-lt.Scale].signed(false),
		m2:   pow10[sa-rt.Scale].signed(false),
		same: lt.Scale == rt.Scale,
		fast: max(lt.Precision-lt.Scale, rt.Precision-rt.Scale)+sa <= 38,
	}
}

// cmp compares a (scale s1) with b (scale s2).
func (dc *decCompare) cmp(a, b decimal128.Num, s *bigScratch) int {
	if dc.same {
		return decCmp(a, b)
	}
	if dc.fast {
		return decCmp(a.Mul(dc.m1), b.Mul(dc.m2))
	}
	A := setNum(&s.a, a, &s.t)
	B := setNum(&s.b, b, &s.t)
	A.Mul(A, bigPow10[dc.m1Exp()])
	B.Mul(B, bigPow10[dc.m2Exp()])
	return A.Cmp(B)
}

func (dc *decCompare) m1Exp() int { return max(dc.s1, dc.s2) - dc.s1 }
func (dc *decCompare) m2Exp() int { return max(dc.s1, dc.s2) - dc.s2 }

// cmpDecimals compares DECIMAL operands.
func cmpDecimals(ec *evalCtx, op cmpOp, dc *decCompare, lv, rv value, n int) arrow.Array {
	ob, out := newBitmap(ec.mem, n)
	tbl := op.table()
	a, am := decOperand(lv)
	b, bm := decOperand(rv)
	var s bigScratch
	for i := 0; i < n; i++ {
		if tbl[dc.cmp(a[i&am], b[i&bm], &s)+1] {
			bitutil.SetBit(out, i)
		}
	}
	vb, nulls := andValidity(ec.mem, n, lv.arr, rv.arr)
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, vb, ob)
}

// strOperand gives access to the strings of a STRING operand: a column, or
// a constant repeated on every row.
type strOperand struct {
	offs  []int32
	data  []byte
	konst []byte
	isCol bool
}

func newStrOperand(v value) strOperand {
	if v.arr != nil {
		offs, data := strData(v.arr)
		return strOperand{offs: offs, data: data, isCol: true}
	}
	return strOperand{konst: []byte(v.sc.s)}
}

// at returns the bytes of row i.
func (s *strOperand) at(i int) []byte {
	if s.isCol {
		return s.data[s.offs[i]:s.offs[i+1]]
	}
	return s.konst
}

// cmpStrings compares STRING operands bytewise (UTF-8 byte order is code
// point order).
func cmpStrings(ec *evalCtx, op cmpOp, lv, rv value, n int) arrow.Array {
	ob, out := newBitmap(ec.mem, n)
	a, b := newStrOperand(lv), newStrOperand(rv)
	switch op {
	case cmpEq, cmpNe:
		want := op == cmpEq
		for i := 0; i < n; i++ {
			if (string(a.at(i)) == string(b.at(i))) == want {
				bitutil.SetBit(out, i)
			}
		}
	default:
		tbl := op.table()
		for i := 0; i < n; i++ {
			if tbl[bytes.Compare(a.at(i), b.at(i))+1] {
				bitutil.SetBit(out, i)
			}
		}
	}
	vb, nulls := andValidity(ec.mem, n, lv.arr, rv.arr)
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, vb, ob)
}

// cmpBools compares BOOLEAN operands (FALSE < TRUE), a byte at a time.
func cmpBools(ec *evalCtx, op cmpOp, lv, rv value, n int) arrow.Array {
	ob, out := newBitmap(ec.mem, n)
	a, ac := boolOperand(lv, n)
	b, bc := boolOperand(rv, n)
	for i := range out {
		x, y := ac, bc
		if a != nil {
			x = a[i]
		}
		if b != nil {
			y = b[i]
		}
		var w byte
		switch op {
		case cmpEq:
			w = ^(x ^ y)
		case cmpNe:
			w = x ^ y
		case cmpLt:
			w = ^x & y
		case cmpLe:
			w = ^x | y
		case cmpGt:
			w = x &^ y
		case cmpGe:
			w = x | ^y
		}
		out[i] = w
	}
	maskTail(out, n)
	vb, nulls := andValidity(ec.mem, n, lv.arr, rv.arr)
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, vb, ob)
}

// boolOperand returns the offset-0 value bitmap of a BOOLEAN column, or nil
// and the byte a constant repeats (0x00 or 0xFF).
func boolOperand(v value, n int) ([]byte, byte) {
	if v.arr != nil {
		bits, off := boolBits(v.arr)
		return alignedBits(bits, off, n, nil), 0
	}
	if v.sc.b {
		return nil, 0xFF
	}
	return nil, 0
}

// maskTail clears the bits of the last byte of an n-bit bitmap beyond n.
func maskTail(bm []byte, n int) {
	if r := n % 8; r != 0 {
		bm[n/8] &= byte(1)<<r - 1
	}
}
