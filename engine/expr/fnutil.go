package expr

// Shared machinery of the built-in function kernels (strings.go,
// datetime.go, math.go, ...): n-ary strict evaluation, operand views that
// treat a column and a constant alike, output validity and a string column
// builder that writes straight into Arrow buffers.

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// kernel computes a function over evaluated arguments (each a column of n
// rows or a constant). It must not keep the arguments.
type kernel func(ec *evalCtx, vals []value, n int) (value, error)

// strictRun returns the run function of a strict call: it evaluates every
// argument, gives NULL when one is the constant NULL, and otherwise applies
// k. The arguments are released after k.
func strictRun(args []*prog, k kernel) func(*evalCtx, *batch) (value, error) {
	return func(ec *evalCtx, in *batch) (value, error) {
		vals, err := evalAll(ec, in, args)
		defer releaseAll(vals)
		if err != nil {
			return value{}, err
		}
		for _, v := range vals {
			if v.isNullScalar() {
				return value{sc: &scalar{null: true}}, nil
			}
		}
		return k(ec, vals, in.n)
	}
}

// evalAll evaluates args over in. On error the values computed so far are
// returned too, for the caller to release.
func evalAll(ec *evalCtx, in *batch, args []*prog) ([]value, error) {
	vals := make([]value, 0, len(args))
	for _, a := range args {
		v, err := a.eval(ec, in)
		if err != nil {
			return vals, err
		}
		vals = append(vals, v)
	}
	return vals, nil
}

// releaseAll releases every value.
func releaseAll(vals []value) {
	for _, v := range vals {
		v.release()
	}
}

// outNulls builds the validity of a function's output: the rows where an
// argument is NULL, plus the rows the function itself makes NULL.
type outNulls struct {
	mem  memory.Allocator
	n    int
	buf  *memory.Buffer
	bits []byte // nil while every row is valid
}

// newOutNulls starts from the intersection of the validity of vals' columns
// (constants are never NULL here: strictRun handled them). Any number of
// arguments may have NULLs.
func newOutNulls(mem memory.Allocator, n int, vals ...value) outNulls {
	o := outNulls{mem: mem, n: n}
	for _, v := range vals {
		if v.arr == nil || v.arr.NullN() == 0 {
			continue
		}
		if o.bits == nil {
			o.buf, o.bits = newBitmap(mem, n)
			if v.arr.DataType().ID() == arrow.NULL {
				continue // all NULL: the cleared bitmap says so
			}
			src, off := validity(v.arr)
			bitutil.CopyBitmap(src, off, n, o.bits, 0)
			continue
		}
		if v.arr.DataType().ID() == arrow.NULL {
			clear(o.bits)
			continue
		}
		src, off := validity(v.arr)
		bitutil.BitmapAnd(o.bits, src, 0, int64(off), o.bits, 0, int64(n))
	}
	return o
}

// valid reports whether row i is still valid.
func (o *outNulls) valid(i int) bool { return o.bits == nil || bitutil.BitIsSet(o.bits, i) }

// anyNull reports whether some row is NULL so far.
func (o *outNulls) anyNull() bool { return o.bits != nil }

// setNull makes row i NULL.
func (o *outNulls) setNull(i int) {
	if o.bits == nil {
		o.buf, o.bits = newBitmap(o.mem, o.n)
		bitutil.SetBitsTo(o.bits, 0, int64(o.n), true)
	}
	bitutil.ClearBit(o.bits, i)
}

// finish returns the validity bitmap (nil when no row is NULL) and the NULL
// count; the caller owns the buffer.
func (o *outNulls) finish() (*memory.Buffer, int) {
	if o.bits == nil {
		return nil, 0
	}
	nulls := nullsIn(o.bits, o.n)
	if nulls == 0 {
		o.buf.Release()
		o.buf, o.bits = nil, nil
		return nil, 0
	}
	b := o.buf
	o.buf, o.bits = nil, nil
	return b, nulls
}

// release drops the bitmap of an abandoned output.
func (o *outNulls) release() {
	if o.buf != nil {
		o.buf.Release()
		o.buf, o.bits = nil, nil
	}
}

// intOperand gives access to an INT or BIGINT operand as int64: a column
// or a constant.
type intOperand struct {
	i32   []int32
	i64   []int64
	konst int64
}

func newIntOperand(v value) intOperand {
	if v.arr == nil {
		return intOperand{konst: v.sc.i}
	}
	if v.arr.DataType().ID() == arrow.INT32 {
		return intOperand{i32: values[int32](v.arr)}
	}
	return intOperand{i64: values[int64](v.arr)}
}

// at returns row i.
func (o *intOperand) at(i int) int64 {
	switch {
	case o.i64 != nil:
		return o.i64[i]
	case o.i32 != nil:
		return int64(o.i32[i])
	}
	return o.konst
}

// isConst reports whether the operand is a constant.
func (o *intOperand) isConst() bool { return o.i32 == nil && o.i64 == nil }

// f64Operand gives access to a DOUBLE operand: a column or a constant.
type f64Operand struct {
	col   []float64
	konst float64
}

func newF64Operand(v value) f64Operand {
	if v.arr == nil {
		return f64Operand{konst: v.sc.f}
	}
	return f64Operand{col: values[float64](v.arr)}
}

func (o *f64Operand) at(i int) float64 {
	if o.col != nil {
		return o.col[i]
	}
	return o.konst
}

// strBuilder builds a STRING column of n rows directly in Arrow buffers
// allocated from mem: rows are appended in order; a NULL row is appended
// as empty.
type strBuilder struct {
	n    int
	ob   *memory.Buffer
	offs []int32
	db   *memory.Buffer
	data []byte // db's bytes, as long as its capacity
	pos  int
	i    int
}

// newStrBuilder starts a column of n rows, reserving hint bytes of data.
func newStrBuilder(mem memory.Allocator, n, hint int) *strBuilder {
	b := &strBuilder{n: n}
	b.ob, b.offs = newValues[int32](mem, n+1)
	b.db = memory.NewResizableBuffer(mem)
	if hint < 64 {
		hint = 64
	}
	b.db.Resize(hint)
	b.data = b.db.Bytes()
	return b
}

// reserve makes room for k more bytes.
func (b *strBuilder) reserve(k int) {
	if b.pos+k <= len(b.data) {
		return
	}
	want := max(2*len(b.data), b.pos+k)
	b.db.Resize(want)
	b.data = b.db.Bytes()
}

// add appends s as the next row.
func (b *strBuilder) add(s []byte) {
	b.reserve(len(s))
	b.offs[b.i] = int32(b.pos)
	b.pos += copy(b.data[b.pos:], s)
	b.i++
}

// addString appends s as the next row.
func (b *strBuilder) addString(s string) {
	b.reserve(len(s))
	b.offs[b.i] = int32(b.pos)
	b.pos += copy(b.data[b.pos:], s)
	b.i++
}

// begin starts a row that is written piecewise with write, writeByte and
// writeRune, then closed by the next begin, add or finish.
func (b *strBuilder) begin() {
	b.offs[b.i] = int32(b.pos)
	b.i++
}

// write appends s to the current row.
func (b *strBuilder) write(s []byte) {
	b.reserve(len(s))
	b.pos += copy(b.data[b.pos:], s)
}

// writeStr appends s to the current row.
func (b *strBuilder) writeStr(s string) {
	b.reserve(len(s))
	b.pos += copy(b.data[b.pos:], s)
}

// writeByte appends c to the current row.
func (b *strBuilder) writeByte(c byte) {
	b.reserve(1)
	b.data[b.pos] = c
	b.pos++
}

// writeRune appends r, UTF-8 encoded, to the current row.
func (b *strBuilder) writeRune(r rune) {
	b.reserve(4)
	b.pos += utf8.EncodeRune(b.data[b.pos:], r)
}

// finish returns the column with validity vb (nil: no NULLs) holding nulls
// NULLs. Rows not appended are empty.
func (b *strBuilder) finish(vb *memory.Buffer, nulls int) arrow.Array {
	for ; b.i < b.n; b.i++ {
		b.offs[b.i] = int32(b.pos)
	}
	b.offs[b.n] = int32(b.pos)
	b.db.ResizeNoShrink(b.pos)
	return makeArray(arrow.BinaryTypes.String, b.n, nulls, vb, b.ob, b.db)
}

// release frees the buffers of an abandoned builder.
func (b *strBuilder) release() {
	b.ob.Release()
	b.db.Release()
}

// checkArgKinds checks that argument i has one of the kinds allowed[i]
// (NULL-typed arguments are always accepted), naming the function.
func checkArgKinds(name string, args []*prog, allowed ...[]types.Kind) error {
	for i, a := range args {
		if i >= len(allowed) {
			break
		}
		if a.t.Kind == types.Null {
			continue
		}
		ok := false
		for _, k := range allowed[i] {
			if a.t.Kind == k {
				ok = true
				break
			}
		}
		if !ok {
			names := make([]string, len(allowed[i]))
			for j, k := range allowed[i] {
				names[j] = k.String()
			}
			return fmt.Errorf("argument %d of %s is %s, want %s", i+1, name, a.t, strings.Join(names, " or "))
		}
	}
	return nil
}

// argRange checks the argument count is in [lo, hi].
func argRange(name string, args []*prog, lo, hi int) error {
	if len(args) < lo || len(args) > hi {
		if lo == hi {
			return fmt.Errorf("%s takes %d argument(s), got %d", name, lo, len(args))
		}
		return fmt.Errorf("%s takes %d to %d arguments, got %d", name, lo, hi, len(args))
	}
	return nil
}

// callText renders NAME(arg, ...) for error messages.
func callText(name string, args []*prog) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = a.text
	}
	return name + "(" + strings.Join(parts, ", ") + ")"
}

// constString returns the value of a constant STRING argument, and whether
// it is one (a NULL constant gives ok with null set).
func constString(p *prog) (s string, null, ok bool) {
	if p.konst == nil {
		return "", false, false
	}
	if p.konst.null || p.t.Kind == types.Null {
		return "", true, true
	}
	return p.konst.s, false, true
}

// strKinds are the kinds a STRING argument may have.
var strKinds = []types.Kind{types.String}

// intKinds are the kinds an integer argument may have.
var intKinds = []types.Kind{types.Int, types.BigInt}

// tsKinds are the kinds a time argument may have.
var tsKinds = []types.Kind{types.Timestamp}

// numKinds are the numeric kinds.
var numKinds = []types.Kind{types.Int, types.BigInt, types.Double, types.Decimal}
