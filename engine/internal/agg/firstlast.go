package agg

import (
	"encoding/binary"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// Arrival order.
//
// FIRST_VALUE and LAST_VALUE keep, with each group's value, the arrival
// sequence number of the row it came from (as Flink's FIRST_VALUE keeps an
// order next to its value), and Merge and MergeState keep the value with
// the smaller (FIRST_VALUE) or larger (LAST_VALUE) number. So, like every
// other accumulator, they merge partial states in any order and give the
// result of one accumulator that saw all the rows in arrival order. This
// matters: the window buffer (winbuf) fires a window by merging its spilled,
// older state into the newer state still in memory, and sliding windows
// merge slices whose rows interleave in time.
//
// Sequence numbers come from one process-wide counter, so accumulators of
// different slices and windows of an operator are ordered with each other.
// Groups.Update numbers the rows of one record once (row i gets base + i)
// however many slices or windows its rows are split over; an accumulator
// updated on its own numbers each Update call's rows afresh. The counter
// starts at the wall clock in nanoseconds when the process starts, and
// MergeState moves it past every number it reads, so numbers saved in
// state by an earlier run stay below the numbers of new rows (unless a
// process numbered more than a row per nanosecond since it started).
var seqClock atomic.Uint64

func init() { seqClock.Store(uint64(time.Now().UnixNano())) }

// reserveSeq returns the first of n fresh sequence numbers.
func reserveSeq(n int) uint64 { return seqClock.Add(uint64(n)) - uint64(n) }

// observeSeq moves the counter past s.
func observeSeq(s uint64) {
	for {
		cur := seqClock.Load()
		if s < cur || seqClock.CompareAndSwap(cur, s+1) {
			return
		}
	}
}

// sequenced is an accumulator that numbers its rows in arrival order:
// Groups.Update gives it the number of row 0 of the record before each
// Update.
type sequenced interface {
	setSeqBase(base uint64)
}

// pickCore is what FIRST_VALUE and LAST_VALUE keep besides the values: per
// group whether it has a value and the arrival number of that value.
type pickCore struct {
	last   bool
	has    []bool
	seq    []uint64
	base   uint64
	preset bool
}

func (p *pickCore) Len() int { return len(p.has) }

func (p *pickCore) growCore(n int) {
	p.has = grow(p.has, n)
	p.seq = grow(p.seq, n)
}

func (p *pickCore) resetCore() {
	p.has = p.has[:0]
	p.seq = p.seq[:0]
}

func (p *pickCore) setSeqBase(base uint64) { p.base, p.preset = base, true }

// start returns the number of row 0 of an Update over n rows.
func (p *pickCore) start(n int) uint64 {
	if p.preset {
		p.preset = false
		return p.base
	}
	return reserveSeq(n)
}

// wins reports whether a value numbered s replaces group g's value, and
// records s when it does.
func (p *pickCore) wins(g uint32, s uint64) bool {
	if p.has[g] && (p.last && s <= p.seq[g] || !p.last && s >= p.seq[g]) {
		return false
	}
	p.has[g], p.seq[g] = true, s
	return true
}

// readHeader reads the front of a state written by appendHeader: whether
// the group has a value and its number.
func readHeader(src []byte) (has bool, seq uint64, rest []byte, err error) {
	h, src, err := readByte(src)
	if err != nil {
		return false, 0, nil, err
	}
	switch h {
	case 0:
		return false, 0, src, nil
	case 1:
		seq, src, err = readU64(src)
		if err != nil {
			return false, 0, nil, err
		}
		observeSeq(seq)
		return true, seq, src, nil
	}
	return false, 0, nil, fmt.Errorf("agg: bad FIRST_VALUE/LAST_VALUE state marker %d", h)
}

func (p *pickCore) appendHeader(dst []byte, g uint32) []byte {
	if !p.has[g] {
		return append(dst, 0)
	}
	return binary.LittleEndian.AppendUint64(append(dst, 1), p.seq[g])
}

// newPick returns FIRST_VALUE (last false) or LAST_VALUE over type in, or
// nil for a type it does not take.
func newPick(last bool, in arrow.DataType) Accumulator {
	core := pickCore{last: last}
	switch in.ID() {
	case arrow.BOOL:
		return &pick[bool]{pickCore: core}
	case arrow.INT32:
		return &pick[int32]{pickCore: core}
	case arrow.INT64:
		return &pick[int64]{pickCore: core}
	case arrow.TIMESTAMP:
		return &pick[arrow.Timestamp]{pickCore: core}
	case arrow.FLOAT64:
		return &pick[float64]{pickCore: core}
	case arrow.DECIMAL128:
		return &pick[decimal128.Num]{pickCore: core}
	case arrow.STRING:
		return &pickStr{pickCore: core}
	}
	return nil
}

// scalar is a fixed-width value type FIRST_VALUE and LAST_VALUE keep in a
// vector.
type scalar interface {
	bool | int32 | int64 | arrow.Timestamp | float64 | decimal128.Num
}

// pick is FIRST_VALUE or LAST_VALUE over a fixed-width type.
type pick[T scalar] struct {
	pickCore
	vals []T
}

func (a *pick[T]) Grow(n int) {
	a.growCore(n)
	a.vals = grow(a.vals, n)
}

func (a *pick[T]) Reset() {
	a.resetCore()
	a.vals = a.vals[:0]
}

// scalarValues returns the values of col as []T (nil for BOOLEAN, which
// is bit-packed) or an error when col does not hold T.
func scalarValues[T scalar](col arrow.Array) ([]T, *array.Boolean, error) {
	var vs any
	switch c := col.(type) {
	case *array.Boolean:
		if _, ok := any(*new(T)).(bool); ok {
			return nil, c, nil
		}
	case *array.Decimal128:
		vs = c.Values()
	default:
		v, err := values[T](col)
		return v, nil, err
	}
	t, ok := vs.([]T)
	if !ok {
		return nil, nil, fmt.Errorf("agg: input column is %s, want %T values", col.DataType(), *new(T))
	}
	return t, nil, nil
}

func (a *pick[T]) Update(col arrow.Array, groups []uint32, sel []int32) error {
	vs, bools, err := scalarValues[T](col)
	if err != nil {
		return err
	}
	base := a.start(col.Len())
	valid, nulls := rowkey.ValidityOf(col)
	vals := a.vals
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && valid.Null(r) {
			continue
		}
		if !a.wins(g, base+uint64(r)) {
			continue
		}
		if bools != nil {
			vals[g] = any(bools.Value(r)).(T)
		} else {
			vals[g] = vs[r]
		}
	}
	return nil
}

func (a *pick[T]) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*pick[T])
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into %T", src, a)
	}
	if s.has[sg] && a.wins(g, s.seq[sg]) {
		a.vals[g] = s.vals[sg]
	}
	return nil
}

func (a *pick[T]) AppendState(dst []byte, g uint32) []byte {
	dst = a.appendHeader(dst, g)
	if !a.has[g] {
		return dst
	}
	switch v := any(a.vals[g]).(type) {
	case bool:
		if v {
			return append(dst, 1)
		}
		return append(dst, 0)
	case int32:
		return binary.LittleEndian.AppendUint32(dst, uint32(v))
	case int64:
		return binary.LittleEndian.AppendUint64(dst, uint64(v))
	case arrow.Timestamp:
		return binary.LittleEndian.AppendUint64(dst, uint64(v))
	case float64:
		return binary.LittleEndian.AppendUint64(dst, math.Float64bits(v))
	case decimal128.Num:
		return appendDec(dst, v)
	}
	return dst
}

func (a *pick[T]) MergeState(g uint32, src []byte) ([]byte, error) {
	has, seq, src, err := readHeader(src)
	if err != nil || !has {
		return src, err
	}
	var v T
	switch p := any(&v).(type) {
	case *bool:
		var b byte
		if b, src, err = readByte(src); err == nil && b > 1 {
			err = fmt.Errorf("agg: bad BOOLEAN state byte %d", b)
		}
		*p = b == 1
	case *int32:
		if len(src) < 4 {
			return nil, errTruncated
		}
		*p, src = int32(binary.LittleEndian.Uint32(src)), src[4:]
	case *int64:
		var u uint64
		u, src, err = readU64(src)
		*p = int64(u)
	case *arrow.Timestamp:
		var u uint64
		u, src, err = readU64(src)
		*p = arrow.Timestamp(u)
	case *float64:
		var u uint64
		u, src, err = readU64(src)
		*p = math.Float64frombits(u)
	case *decimal128.Num:
		*p, src, err = readDec(src)
	}
	if err != nil {
		return nil, err
	}
	if a.wins(g, seq) {
		a.vals[g] = v
	}
	return src, nil
}

func (a *pick[T]) Build(b array.Builder) error {
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		if vs, ok := any(a.vals).([]bool); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	case *array.Int32Builder:
		if vs, ok := any(a.vals).([]int32); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	case *array.Int64Builder:
		if vs, ok := any(a.vals).([]int64); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	case *array.TimestampBuilder:
		if vs, ok := any(a.vals).([]arrow.Timestamp); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	case *array.Float64Builder:
		if vs, ok := any(a.vals).([]float64); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	case *array.Decimal128Builder:
		if vs, ok := any(a.vals).([]decimal128.Num); ok {
			bb.AppendValues(vs, a.has)
			return nil
		}
	}
	return fmt.Errorf("agg: FIRST_VALUE/LAST_VALUE of %T values cannot be built into a %s builder", a.vals, b.Type())
}

// pickStr is FIRST_VALUE or LAST_VALUE over STRING. Each group keeps its
// own byte slice and reuses it when the value changes.
type pickStr struct {
	pickCore
	vals [][]byte
}

func (a *pickStr) Grow(n int) {
	if n <= len(a.has) {
		return
	}
	a.growCore(n)
	if old := len(a.vals); n <= cap(a.vals) {
		a.vals = a.vals[:n]
		for i := old; i < n; i++ {
			a.vals[i] = a.vals[i][:0]
		}
	} else {
		a.vals = grow(a.vals, n)
	}
}

func (a *pickStr) Reset() {
	a.resetCore()
	a.vals = a.vals[:0]
}

func (a *pickStr) Update(col arrow.Array, groups []uint32, sel []int32) error {
	c, ok := col.(*array.String)
	if !ok {
		return fmt.Errorf("agg: input column is %s, want string", col.DataType())
	}
	base := a.start(col.Len())
	data, offs := rowkey.StringData(c)
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && valid.Null(r) {
			continue
		}
		if a.wins(g, base+uint64(r)) {
			a.vals[g] = append(a.vals[g][:0], data[offs[r]:offs[r+1]]...)
		}
	}
	return nil
}

func (a *pickStr) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*pickStr)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into %T", src, a)
	}
	if s.has[sg] && a.wins(g, s.seq[sg]) {
		a.vals[g] = append(a.vals[g][:0], s.vals[sg]...)
	}
	return nil
}

func (a *pickStr) AppendState(dst []byte, g uint32) []byte {
	dst = a.appendHeader(dst, g)
	if !a.has[g] {
		return dst
	}
	return append(binary.AppendUvarint(dst, uint64(len(a.vals[g]))), a.vals[g]...)
}

func (a *pickStr) MergeState(g uint32, src []byte) ([]byte, error) {
	has, seq, src, err := readHeader(src)
	if err != nil || !has {
		return src, err
	}
	l, w := binary.Uvarint(src)
	if w <= 0 || l > uint64(len(src)-w) {
		return nil, errTruncated
	}
	v := src[w : w+int(l)]
	if a.wins(g, seq) {
		a.vals[g] = append(a.vals[g][:0], v...)
	}
	return src[w+int(l):], nil
}

func (a *pickStr) Build(b array.Builder) error {
	bb, ok := b.(*array.StringBuilder)
	if !ok {
		return fmt.Errorf("agg: STRING FIRST_VALUE/LAST_VALUE cannot be built into a %s builder", b.Type())
	}
	n := 0
	for g, v := range a.vals {
		if a.has[g] {
			n += len(v)
		}
	}
	bb.Reserve(len(a.has))
	bb.ReserveData(n)
	for g, v := range a.vals {
		if a.has[g] {
			bb.BinaryBuilder.Append(v)
		} else {
			bb.AppendNull()
		}
	}
	return nil
}
