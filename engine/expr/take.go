package expr

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// selectionOf reads an offset-0 bitmap of n bits: all is true when every
// bit is set; otherwise idx lists the set bits in ascending order (empty
// when none is set).
func selectionOf(bm []byte, n int) (all bool, idx []int32) {
	set := bitutil.CountSetBits(bm, 0, n)
	if set == n {
		return true, nil
	}
	idx = make([]int32, 0, set)
	if set == 0 {
		return false, idx
	}
	nb := int(bitutil.BytesForBits(int64(n)))
	i := 0
	for ; i+8 <= n/8; i += 8 { // whole words of rows below n
		w := binary.LittleEndian.Uint64(bm[i:])
		for w != 0 {
			t := bits.TrailingZeros64(w)
			idx = append(idx, int32(i*8+t))
			w &= w - 1
		}
	}
	for ; i < nb; i++ {
		w := bm[i]
		for w != 0 {
			t := bits.TrailingZeros8(w)
			if i*8+t < n {
				idx = append(idx, int32(i*8+t))
			}
			w &= w - 1
		}
	}
	return false, idx
}

// subBatch is a batch gathered from another; release drops its columns.
type subBatch struct {
	batch
}

func (s *subBatch) release() {
	for _, c := range s.cols {
		if c != nil {
			c.Release()
		}
	}
}

// takeBatch gathers rows idx of the columns p reads.
func takeBatch(mem memory.Allocator, in *batch, p *prog, idx []int32) (subBatch, error) {
	s := subBatch{batch{cols: make([]arrow.Array, len(in.cols)), n: len(idx), memo: in.memo, top: in.top}}
	if in.memo != nil {
		s.rows = subRows(in.rows, idx)
	}
	for _, c := range p.cols {
		a, err := takeArray(mem, in.cols[c], idx)
		if err != nil {
			s.release()
			return subBatch{}, err
		}
		s.cols[c] = a
	}
	return s, nil
}

// takeArray gathers rows idx (each in range) of arr into a new array.
func takeArray(mem memory.Allocator, arr arrow.Array, idx []int32) (arrow.Array, error) {
	n := len(idx)
	dt := arr.DataType()
	switch dt.ID() {
	case arrow.NULL, arrow.INT32, arrow.INT64, arrow.TIMESTAMP, arrow.DURATION, arrow.FLOAT64, arrow.DECIMAL128, arrow.BOOL, arrow.STRING:
	default:
		return nil, fmt.Errorf("expr: take: unsupported column type %s", dt)
	}
	if dt.ID() == arrow.NULL || allNull(arr) {
		return nullArray(mem, dt, n), nil
	}
	var vb *memory.Buffer
	nulls := 0
	if src, off := validity(arr); src != nil {
		var v []byte
		vb, v = newBitmap(mem, n)
		for j, i := range idx {
			if bitutil.BitIsSet(src, off+int(i)) {
				bitutil.SetBit(v, j)
			}
		}
		nulls = nullsIn(v, n)
		if nulls == 0 {
			vb.Release()
			vb = nil
		}
	}
	switch dt.ID() {
	case arrow.INT32:
		return makeArray(dt, n, nulls, vb, gather[int32](mem, values[int32](arr), idx)), nil
	case arrow.INT64, arrow.TIMESTAMP, arrow.DURATION:
		return makeArray(dt, n, nulls, vb, gather[int64](mem, values[int64](arr), idx)), nil
	case arrow.FLOAT64:
		return makeArray(dt, n, nulls, vb, gather[float64](mem, values[float64](arr), idx)), nil
	case arrow.DECIMAL128:
		return makeArray(dt, n, nulls, vb, gather[decimal128.Num](mem, values[decimal128.Num](arr), idx)), nil
	case arrow.BOOL:
		src, off := boolBits(arr)
		ob, out := newBitmap(mem, n)
		for j, i := range idx {
			if bitutil.BitIsSet(src, off+int(i)) {
				bitutil.SetBit(out, j)
			}
		}
		return makeArray(dt, n, nulls, vb, ob), nil
	default: // arrow.STRING
		offs, data := strData(arr)
		total := 0
		for _, i := range idx {
			total += int(offs[i+1] - offs[i])
		}
		ob, outOffs := newValues[int32](mem, n+1)
		db := newBuffer(mem, total)
		out := db.Bytes()
		pos := int32(0)
		for j, i := range idx {
			outOffs[j] = pos
			pos += int32(copy(out[pos:], data[offs[i]:offs[i+1]]))
		}
		outOffs[n] = pos
		return makeArray(dt, n, nulls, vb, ob, db), nil
	}
}

// gather copies src[idx[j]] into a new values buffer.
func gather[T fixed](mem memory.Allocator, src []T, idx []int32) *memory.Buffer {
	b, out := newValues[T](mem, len(idx))
	out = out[:len(idx)]
	for j, i := range idx {
		out[j] = src[i]
	}
	return b
}

// sources says, for each output row of an interleave, which input value
// (src, -1 for NULL) and which row of it (pos) to copy. A nil pos means
// row i of the chosen input (inputs as long as the output).
type sources struct {
	src []int32
	pos []int32
}

// at returns the input row for output row i.
func (s *sources) at(i int) int {
	if s.pos == nil {
		return i
	}
	return int(s.pos[i])
}

// singleSource maps rows idx of an n-row output to rows 0.. of one input;
// every other row is NULL.
func singleSource(n int, idx []int32) sources {
	s := sources{src: make([]int32, n), pos: make([]int32, n)}
	for i := range s.src {
		s.src[i] = -1
	}
	for j, i := range idx {
		s.src[i] = 0
		s.pos[i] = int32(j)
	}
	return s
}

// interleave builds an n-row array of type t whose row i is row pos[i] of
// vals[src[i]] (a column or a constant), or NULL when src[i] < 0.
func interleave(mem memory.Allocator, t types.Type, n int, vals []value, s sources) arrow.Array {
	dt := t.Arrow()
	if t.Kind == types.Null {
		return nullArray(mem, dt, n)
	}
	// Validity first (skipped when no source can give a NULL).
	var vb *memory.Buffer
	var valid []byte
	nulls := 0
	type srcValidity struct {
		bits  []byte
		off   int
		konst bool // constant: valid unless NULL
		null  bool
	}
	sv := make([]srcValidity, len(vals))
	for k, v := range vals {
		switch {
		case v.sc != nil:
			sv[k] = srcValidity{konst: true, null: v.sc.null}
		case allNull(v.arr):
			sv[k] = srcValidity{konst: true, null: true}
		default:
			b, off := validity(v.arr)
			sv[k] = srcValidity{bits: b, off: off}
		}
	}
	mayBeNull := false
	for _, x := range sv {
		mayBeNull = mayBeNull || x.null || x.bits != nil
	}
	for i := 0; i < n && !mayBeNull; i++ {
		mayBeNull = s.src[i] < 0
	}
	if mayBeNull {
		vb, valid = newBitmap(mem, n)
		for i := 0; i < n; i++ {
			k := s.src[i]
			if k < 0 {
				continue
			}
			x := &sv[k]
			if x.konst {
				if !x.null {
					bitutil.SetBit(valid, i)
				}
				continue
			}
			if x.bits == nil || bitutil.BitIsSet(x.bits, x.off+s.at(i)) {
				bitutil.SetBit(valid, i)
			}
		}
		nulls = nullsIn(valid, n)
		if nulls == 0 {
			vb.Release()
			vb = nil
		}
	}
	switch t.Kind {
	case types.Int:
		return makeArray(dt, n, nulls, vb, interleaveFixed[int32](mem, n, vals, s, func(sc *scalar) int32 { return int32(sc.i) }))
	case types.BigInt, types.Timestamp, types.Interval:
		return makeArray(dt, n, nulls, vb, interleaveFixed[int64](mem, n, vals, s, func(sc *scalar) int64 { return sc.i }))
	case types.Double:
		return makeArray(dt, n, nulls, vb, interleaveFixed[float64](mem, n, vals, s, func(sc *scalar) float64 { return sc.f }))
	case types.Decimal:
		return makeArray(dt, n, nulls, vb, interleaveFixed[decimal128.Num](mem, n, vals, s, func(sc *scalar) decimal128.Num { return sc.d }))
	case types.Boolean:
		ob, out := newBitmap(mem, n)
		type srcBits struct {
			bits []byte
			off  int
			b    bool
		}
		sb := make([]srcBits, len(vals))
		for k, v := range vals {
			if v.sc != nil {
				sb[k].b = v.sc.b && !v.sc.null
			} else if v.arr.DataType().ID() == arrow.BOOL {
				sb[k].bits, sb[k].off = boolBits(v.arr)
			}
		}
		for i := 0; i < n; i++ {
			k := s.src[i]
			if k < 0 {
				continue
			}
			x := &sb[k]
			if x.bits == nil {
				if x.b {
					bitutil.SetBit(out, i)
				}
			} else if bitutil.BitIsSet(x.bits, x.off+s.at(i)) {
				bitutil.SetBit(out, i)
			}
		}
		return makeArray(dt, n, nulls, vb, ob)
	case types.String:
		ops := make([]strOperand, len(vals))
		for k, v := range vals {
			if v.sc != nil || v.arr.DataType().ID() != arrow.STRING {
				ops[k] = strOperand{}
				if v.sc != nil {
					ops[k].konst = []byte(v.sc.s)
				}
			} else {
				ops[k] = newStrOperand(v)
			}
		}
		total := 0
		for i := 0; i < n; i++ {
			if k := s.src[i]; k >= 0 {
				total += len(ops[k].at(s.at(i)))
			}
		}
		ob, offs := newValues[int32](mem, n+1)
		db := newBuffer(mem, total)
		data := db.Bytes()
		p := int32(0)
		for i := 0; i < n; i++ {
			offs[i] = p
			if k := s.src[i]; k >= 0 {
				p += int32(copy(data[p:], ops[k].at(s.at(i))))
			}
		}
		offs[n] = p
		return makeArray(dt, n, nulls, vb, ob, db)
	}
	if vb != nil {
		vb.Release()
	}
	return nullArray(mem, dt, n)
}

// interleaveFixed builds the values buffer of a fixed-width interleave.
func interleaveFixed[T fixed](mem memory.Allocator, n int, vals []value, s sources, fromScalar func(*scalar) T) *memory.Buffer {
	type src struct {
		v    []T
		mask int32
	}
	ss := make([]src, len(vals))
	for k, v := range vals {
		if v.sc != nil || allNull(v.arr) {
			var x T
			if v.sc != nil && !v.sc.null {
				x = fromScalar(v.sc)
			}
			ss[k] = src{v: []T{x}}
		} else {
			ss[k] = src{v: values[T](v.arr), mask: -1}
		}
	}
	b, out := newValues[T](mem, n)
	for i := range out {
		k := s.src[i]
		if k < 0 {
			var z T
			out[i] = z
			continue
		}
		x := &ss[k]
		out[i] = x.v[int32(s.at(i))&x.mask]
	}
	return b
}
