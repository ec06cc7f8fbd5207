package expr

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"

	"github.com/eddy-streaming/eddy/engine/types"
)

// boolVec is a BOOLEAN operand in byte-aligned form: value bits and
// validity bits as offset-0 bitmaps, or a constant byte repeated (vals or
// valid nil).
type boolVec struct {
	vals, valid  []byte
	valc, validc byte
	n            int
}

// newBoolVec views v (a BOOLEAN or NULL-typed value) as a boolVec.
func newBoolVec(v value, n int) boolVec {
	if v.sc != nil {
		if v.sc.null {
			return boolVec{n: n, valc: 0, validc: 0}
		}
		var b byte
		if v.sc.b {
			b = 0xFF
		}
		return boolVec{n: n, valc: b, validc: 0xFF}
	}
	bv := boolVec{n: n, validc: 0xFF}
	if v.arr.DataType().ID() == arrow.NULL {
		bv.validc = 0
		return bv
	}
	bits, off := boolBits(v.arr)
	bv.vals = alignedBits(bits, off, n, nil)
	if vb, voff := validity(v.arr); vb != nil {
		bv.valid = alignedBits(vb, voff, n, nil)
	}
	return bv
}

// at returns value and validity bytes i.
func (b *boolVec) at(i int) (byte, byte) {
	v, m := b.valc, b.validc
	if b.vals != nil {
		v = b.vals[i]
	}
	if b.valid != nil {
		m = b.valid[i]
	}
	return v, m
}

// notFalse returns a bitmap of the rows that are TRUE or NULL.
func (b *boolVec) notFalse() []byte {
	out := make([]byte, bitutil.BytesForBits(int64(b.n)))
	for i := range out {
		v, m := b.at(i)
		out[i] = ^(^v & m)
	}
	maskTail(out, b.n)
	return out
}

// notTrue returns a bitmap of the rows that are FALSE or NULL.
func (b *boolVec) notTrue() []byte {
	out := make([]byte, bitutil.BytesForBits(int64(b.n)))
	for i := range out {
		v, m := b.at(i)
		out[i] = ^(v & m)
	}
	maskTail(out, b.n)
	return out
}

// kleene combines two BOOLEAN operands with three-valued AND (or OR).
func kleene(ec *evalCtx, a, b value, n int, or bool) arrow.Array {
	x, y := newBoolVec(a, n), newBoolVec(b, n)
	ob, out := newBitmap(ec.mem, n)
	vb, valid := newBitmap(ec.mem, n)
	for i := range out {
		av, am := x.at(i)
		bv, bm := y.at(i)
		aT, aF := av&am, ^av&am
		bT, bF := bv&bm, ^bv&bm
		var t, f byte
		if or {
			t, f = aT|bT, aF&bF
		} else {
			t, f = aT&bT, aF|bF
		}
		out[i] = t
		valid[i] = t | f
	}
	maskTail(out, n)
	maskTail(valid, n)
	nulls := nullsIn(valid, n)
	if nulls == 0 {
		vb.Release()
		vb = nil
	}
	return makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, vb, ob)
}

// compileAndOr compiles AND and OR over two or more BOOLEAN arguments.
// As in Flink, an argument is only evaluated on the rows the arguments
// before it leave undecided (not FALSE for AND, not TRUE for OR), so a
// guard like b <> 0 AND a / b > 1 never divides by zero; an expensive
// argument is evaluated the same way.
func compileAndOr(fn string, t types.Type, args []*prog) (*prog, error) {
	if len(args) < 2 {
		return nil, fmt.Errorf("want at least 2 arguments, got %d", len(args))
	}
	if t.Kind != types.Boolean {
		return nil, fmt.Errorf("result type is %s, want BOOLEAN", t)
	}
	for i, a := range args {
		if a.t.Kind != types.Boolean && a.t.Kind != types.Null {
			return nil, fmt.Errorf("argument %d is %s, want BOOLEAN", i+1, a.t)
		}
	}
	or := fn == FuncOr
	sym := "AND"
	if or {
		sym = "OR"
	}
	p := &prog{t: t, text: infix(sym, args), fallible: anyFallible(args...)}
	if !p.fallible {
		// No argument can fail, so the order does not change the result:
		// the cheap ones go first and decide rows the expensive ones then
		// skip (lower(c) = 'a' OR REGEXP(...) runs the regexp only where
		// lower(c) <> 'a').
		ordered := make([]*prog, 0, len(args))
		for _, a := range args {
			if !a.costly {
				ordered = append(ordered, a)
			}
		}
		for _, a := range args {
			if a.costly {
				ordered = append(ordered, a)
			}
		}
		args = ordered
	}
	p.run = func(ec *evalCtx, in *batch) (value, error) {
		acc, err := args[0].eval(ec, in)
		if err != nil {
			return value{}, err
		}
		for _, a := range args[1:] {
			next, err := andOrStep(ec, in, acc, a, or)
			acc.release()
			if err != nil {
				return value{}, err
			}
			acc = next
		}
		return acc, nil
	}
	return p, nil
}

// andOrStep combines acc with argument a.
func andOrStep(ec *evalCtx, in *batch, acc value, a *prog, or bool) (value, error) {
	n := in.n
	// A decided constant decides every row.
	if acc.sc != nil && !acc.sc.null && acc.sc.b == or {
		return value{sc: acc.sc}, nil
	}
	if !a.lazy() || acc.sc != nil {
		b, err := a.eval(ec, in)
		if err != nil {
			return value{}, err
		}
		defer b.release()
		if acc.sc != nil && b.sc != nil {
			return value{sc: kleeneScalar(acc.sc, b.sc, or)}, nil
		}
		return value{arr: kleene(ec, acc, b, n, or)}, nil
	}
	bv := newBoolVec(acc, n)
	var need []byte
	if or {
		need = bv.notTrue()
	} else {
		need = bv.notFalse()
	}
	all, idx := selectionOf(need, n)
	switch {
	case all:
		b, err := a.eval(ec, in)
		if err != nil {
			return value{}, err
		}
		defer b.release()
		return value{arr: kleene(ec, acc, b, n, or)}, nil
	case len(idx) == 0:
		acc.arr.Retain()
		return value{arr: acc.arr}, nil
	}
	b, err := evalOn(ec, in, a, idx)
	if err != nil {
		return value{}, err
	}
	defer b.Release()
	return value{arr: kleene(ec, acc, value{arr: b}, n, or)}, nil
}

// kleeneScalar is three-valued AND/OR on constants.
func kleeneScalar(a, b *scalar, or bool) *scalar {
	decided := func(s *scalar) bool { return !s.null && s.b == or }
	switch {
	case decided(a) || decided(b):
		return &scalar{b: or}
	case a.null || b.null:
		return &scalar{null: true}
	}
	return &scalar{b: !or}
}

// evalOn evaluates p on the rows idx of in and scatters the result back
// to in's n rows; rows not in idx are NULL.
func evalOn(ec *evalCtx, in *batch, p *prog, idx []int32) (arrow.Array, error) {
	sub, err := takeBatch(ec.mem, in, p, idx)
	if err != nil {
		return nil, err
	}
	defer sub.release()
	v, err := p.eval(ec, &sub.batch)
	if err != nil {
		return nil, err
	}
	defer v.release()
	return interleave(ec.mem, p.t, in.n, []value{v}, singleSource(in.n, idx)), nil
}

// compileNot compiles NOT (NOT NULL is NULL).
func compileNot(t types.Type, args []*prog) (*prog, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	a := args[0]
	if t.Kind != types.Boolean || (a.t.Kind != types.Boolean && a.t.Kind != types.Null) {
		return nil, fmt.Errorf("cannot apply NOT to %s giving %s", a.t, t)
	}
	p := &prog{t: t, text: "(NOT " + a.text + ")", fallible: a.fallible}
	p.run = func(ec *evalCtx, in *batch) (value, error) {
		v, err := a.eval(ec, in)
		if err != nil {
			return value{}, err
		}
		defer v.release()
		if v.sc != nil {
			return value{sc: &scalar{null: v.sc.null, b: !v.sc.b}}, nil
		}
		n := in.n
		bv := newBoolVec(v, n)
		ob, out := newBitmap(ec.mem, n)
		for i := range out {
			x, _ := bv.at(i)
			out[i] = ^x
		}
		maskTail(out, n)
		vb, nulls := copyValidity(ec.mem, v.arr)
		return value{arr: makeArray(arrow.FixedWidthTypes.Boolean, n, nulls, vb, ob)}, nil
	}
	return p, nil
}

// compileIsNull compiles IS NULL and IS NOT NULL, which are never NULL.
func compileIsNull(fn string, t types.Type, args []*prog) (*prog, error) {
	if err := wantArgs(args, 1); err != nil {
		return nil, err
	}
	if t.Kind != types.Boolean {
		return nil, fmt.Errorf("result type is %s, want BOOLEAN", t)
	}
	a := args[0]
	not := fn == FuncIsNotNull
	text := "(" + a.text + " IS NULL)"
	if not {
		text = "(" + a.text + " IS NOT NULL)"
	}
	p := &prog{t: t, text: text, fallible: a.fallible}
	p.run = func(ec *evalCtx, in *batch) (value, error) {
		v, err := a.eval(ec, in)
		if err != nil {
			return value{}, err
		}
		defer v.release()
		if v.sc != nil {
			return value{sc: &scalar{b: v.sc.null != not}}, nil
		}
		n := in.n
		ob, out := newBitmap(ec.mem, n)
		switch {
		case allNull(v.arr):
			if !not {
				bitutil.SetBitsTo(out, 0, int64(n), true)
			}
		case v.arr.NullN() == 0:
			if not {
				bitutil.SetBitsTo(out, 0, int64(n), true)
			}
		default:
			vb, off := validity(v.arr)
			bitutil.CopyBitmap(vb, off, n, out, 0)
			if !not {
				for i := range out {
					out[i] = ^out[i]
				}
				maskTail(out, n)
			}
		}
		return value{arr: makeArray(arrow.FixedWidthTypes.Boolean, n, 0, nil, ob)}, nil
	}
	return p, nil
}
