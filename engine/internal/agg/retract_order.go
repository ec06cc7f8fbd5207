package agg

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/google/btree"

	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// valKind is what the retracting MIN, MAX, FIRST_VALUE and LAST_VALUE need
// of a value type T: reading a column, SQL's order (NaN after every other
// double, -0.0 = 0.0), owning a value read from a column (strings are
// read without copying and copied when kept) and an encoding.
type valKind[T any] struct {
	read func(col arrow.Array) (func(r int) T, error)
	cmp  func(a, b T) int
	own  func(T) T
	enc  func(dst []byte, v T) []byte
	dec  func(src []byte) (T, []byte, error)
}

func ident[T any](v T) T { return v }

func ordKind[T ordinal]() *valKind[T] {
	return &valKind[T]{
		read: func(col arrow.Array) (func(int) T, error) {
			vs, err := values[T](col)
			if err != nil {
				return nil, err
			}
			return func(r int) T { return vs[r] }, nil
		},
		cmp: func(a, b T) int {
			switch {
			case before(a, b):
				return -1
			case before(b, a):
				return 1
			}
			return 0
		},
		own: ident[T],
		enc: func(dst []byte, v T) []byte { return binary.LittleEndian.AppendUint64(dst, toBits(v)) },
		dec: func(src []byte) (T, []byte, error) {
			u, rest, err := readU64(src)
			return fromBits[T](u), rest, err
		},
	}
}

var decKind = &valKind[decimal128.Num]{
	read: func(col arrow.Array) (func(int) decimal128.Num, error) {
		c, ok := col.(*array.Decimal128)
		if !ok {
			return nil, fmt.Errorf("agg: input column is %s, want decimal", col.DataType())
		}
		vs := c.Values()
		return func(r int) decimal128.Num { return vs[r] }, nil
	},
	cmp: func(a, b decimal128.Num) int { return a.Cmp(b) },
	own: ident[decimal128.Num],
	enc: appendDec,
	dec: readDec,
}

var boolKind = &valKind[bool]{
	read: func(col arrow.Array) (func(int) bool, error) {
		c, ok := col.(*array.Boolean)
		if !ok {
			return nil, fmt.Errorf("agg: input column is %s, want boolean", col.DataType())
		}
		return c.Value, nil
	},
	cmp: func(a, b bool) int {
		switch {
		case a == b:
			return 0
		case b:
			return -1
		}
		return 1
	},
	own: ident[bool],
	enc: func(dst []byte, v bool) []byte {
		if v {
			return append(dst, 1)
		}
		return append(dst, 0)
	},
	dec: func(src []byte) (bool, []byte, error) {
		b, rest, err := readByte(src)
		if err == nil && b > 1 {
			err = fmt.Errorf("agg: bad BOOLEAN state byte %d", b)
		}
		return b == 1, rest, err
	},
}

var strKind = &valKind[string]{
	read: func(col arrow.Array) (func(int) string, error) {
		c, ok := col.(*array.String)
		if !ok {
			return nil, fmt.Errorf("agg: input column is %s, want string", col.DataType())
		}
		data, offs := rowkey.StringData(c)
		return func(r int) string {
			lo, hi := offs[r], offs[r+1]
			if hi == lo {
				return ""
			}
			// Valid while the column is: own copies what is kept.
			return unsafe.String(&data[lo], int(hi-lo))
		}, nil
	},
	cmp: strings.Compare,
	own: strings.Clone,
	enc: func(dst []byte, v string) []byte {
		return append(binary.AppendUvarint(dst, uint64(len(v))), v...)
	},
	dec: func(src []byte) (string, []byte, error) {
		l, w := binary.Uvarint(src)
		if w <= 0 || l > uint64(len(src)-w) {
			return "", nil, errTruncated
		}
		return string(src[w : w+int(l)]), src[w+int(l):], nil
	},
}

// ordered accumulators over every type MIN, MAX, FIRST_VALUE and
// LAST_VALUE take; make builds one for a valKind.
func forKind(in arrow.DataType, what string, mk func(k any) RetractAccumulator) (RetractAccumulator, error) {
	var k any
	switch in.ID() {
	case arrow.INT32:
		k = ordKind[int32]()
	case arrow.INT64:
		k = ordKind[int64]()
	case arrow.TIMESTAMP:
		k = ordKind[arrow.Timestamp]()
	case arrow.FLOAT64:
		k = ordKind[float64]()
	case arrow.DECIMAL128:
		k = decKind
	case arrow.BOOL:
		k = boolKind
	case arrow.STRING:
		k = strKind
	default:
		return nil, fmt.Errorf("agg: %s over %s cannot retract its input", what, typeName(in))
	}
	return mk(k), nil
}

// edges of a group in the trees: a pivot with edge -1 orders before every
// value of its group, one with edge +1 after.
const (
	lowEdge  int8 = -1
	highEdge int8 = 1
)

// mmItem is one distinct value of a group with its count.
type mmItem[T any] struct {
	g    uint32
	edge int8
	v    T
	n    int64
}

// mmr is MIN or MAX over a retracting input: an ordered multiset of the
// values of every group, kept in one B-tree ordered by (group, value) with
// a count per value (Flink's MinWithRetract keeps a map per group; the
// order makes the next extreme one step away). A group's extreme is the
// first (MIN) or last (MAX) item of its range; retracting it, when its
// count reaches 0, leaves the next one in place.
type mmr[T any] struct {
	isMax bool
	k     *valKind[T]
	t     *btree.BTreeG[mmItem[T]]
	n     int

	// Scratch.
	items []mmItem[T]
	vals  []T
	has   []bool
	idx   []uint32
}

func newMinMaxRetract(isMax bool, in arrow.DataType) (RetractAccumulator, error) {
	what := "MIN"
	if isMax {
		what = "MAX"
	}
	return forKind(in, what, func(k any) RetractAccumulator {
		switch k := k.(type) {
		case *valKind[int32]:
			return newMMR(isMax, k)
		case *valKind[int64]:
			return newMMR(isMax, k)
		case *valKind[arrow.Timestamp]:
			return newMMR(isMax, k)
		case *valKind[float64]:
			return newMMR(isMax, k)
		case *valKind[decimal128.Num]:
			return newMMR(isMax, k)
		case *valKind[bool]:
			return newMMR(isMax, k)
		case *valKind[string]:
			return newMMR(isMax, k)
		}
		return nil
	})
}

func newMMR[T any](isMax bool, k *valKind[T]) *mmr[T] {
	less := func(a, b mmItem[T]) bool {
		if a.g != b.g {
			return a.g < b.g
		}
		if a.edge != 0 || b.edge != 0 {
			return a.edge < b.edge
		}
		return k.cmp(a.v, b.v) < 0
	}
	return &mmr[T]{isMax: isMax, k: k, t: btree.NewG(32, less)}
}

func (a *mmr[T]) Len() int { return a.n }
func (a *mmr[T]) Grow(n int) {
	if n > a.n {
		a.n = n
	}
}
func (a *mmr[T]) Reset() {
	a.t.Clear(true)
	a.n = 0
}

// add adds d copies of v (owned when new) to group g (d < 0 takes them
// out; a value the group does not hold is ignored).
func (a *mmr[T]) add(g uint32, v T, d int64) {
	it, found := a.t.Get(mmItem[T]{g: g, v: v})
	switch {
	case found:
		it.n += d
		if it.n <= 0 {
			a.t.Delete(it)
		} else {
			a.t.ReplaceOrInsert(it)
		}
	case d > 0:
		a.t.ReplaceOrInsert(mmItem[T]{g: g, v: a.k.own(v), n: d})
	}
}

func (a *mmr[T]) fold(col arrow.Array, groups []uint32, sel []int32, d int64) error {
	get, err := a.k.read(col)
	if err != nil {
		return err
	}
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		if r := rowOf(sel, k); !nulls || !valid.Null(r) {
			a.add(g, get(r), d)
		}
	}
	return nil
}

func (a *mmr[T]) Update(col arrow.Array, groups []uint32, sel []int32) error {
	return a.fold(col, groups, sel, 1)
}

// Retract implements RetractAccumulator; a value the group does not hold
// is ignored.
func (a *mmr[T]) Retract(col arrow.Array, groups []uint32, sel []int32) error {
	return a.fold(col, groups, sel, -1)
}

// group appends the items of group g to dst.
func (a *mmr[T]) group(dst []mmItem[T], g uint32) []mmItem[T] {
	a.t.AscendRange(mmItem[T]{g: g, edge: lowEdge}, mmItem[T]{g: g, edge: highEdge}, func(it mmItem[T]) bool {
		dst = append(dst, it)
		return true
	})
	return dst
}

// Clear implements GroupAccumulator.
func (a *mmr[T]) Clear(g uint32) {
	a.items = a.group(a.items[:0], g)
	for _, it := range a.items {
		a.t.Delete(it)
	}
	clear(a.items)
}

// extreme returns group g's MIN or MAX.
func (a *mmr[T]) extreme(g uint32) (v T, ok bool) {
	visit := func(it mmItem[T]) bool {
		v, ok = it.v, it.g == g
		return false
	}
	if a.isMax {
		a.t.DescendLessOrEqual(mmItem[T]{g: g, edge: highEdge}, visit)
	} else {
		a.t.AscendGreaterOrEqual(mmItem[T]{g: g, edge: lowEdge}, visit)
	}
	if !ok {
		var zero T
		v = zero
	}
	return v, ok
}

func (a *mmr[T]) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*mmr[T])
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into %T", src, a)
	}
	a.items = s.group(a.items[:0], sg)
	for _, it := range a.items {
		a.add(g, it.v, it.n)
	}
	clear(a.items)
	return nil
}

// AppendState writes the number of distinct values of the group (uvarint),
// then each value and its count (uvarint).
func (a *mmr[T]) AppendState(dst []byte, g uint32) []byte {
	a.items = a.group(a.items[:0], g)
	dst = binary.AppendUvarint(dst, uint64(len(a.items)))
	for _, it := range a.items {
		dst = binary.AppendUvarint(a.k.enc(dst, it.v), uint64(it.n))
	}
	clear(a.items)
	return dst
}

func (a *mmr[T]) MergeState(g uint32, src []byte) ([]byte, error) {
	n, w := binary.Uvarint(src)
	if w <= 0 || n > uint64(len(src)) {
		return nil, errTruncated
	}
	src = src[w:]
	for ; n > 0; n-- {
		v, rest, err := a.k.dec(src)
		if err != nil {
			return nil, err
		}
		c, w := binary.Uvarint(rest)
		if w <= 0 || c == 0 || c > math.MaxInt64 {
			return nil, fmt.Errorf("agg: MIN/MAX state holds a bad count")
		}
		a.add(g, v, int64(c))
		src = rest[w:]
	}
	return src, nil
}

// buildFrom appends the results of groups, which get returns, to b.
func buildFrom[T any](b array.Builder, groups []uint32, vals *[]T, has *[]bool, idx *[]uint32, get func(g uint32) (T, bool)) error {
	m := len(groups)
	*vals, *has = grow((*vals)[:0], m), grow((*has)[:0], m)
	if len(*idx) < m {
		for i := len(*idx); i < m; i++ {
			*idx = append(*idx, uint32(i))
		}
	}
	for i, g := range groups {
		(*vals)[i], (*has)[i] = get(g)
	}
	err := appendSel(b, *vals, *has, (*idx)[:m])
	clear(*vals) // drop references to strings
	return err
}

func (a *mmr[T]) BuildGroups(b array.Builder, groups []uint32) error {
	return buildFrom(b, groups, &a.vals, &a.has, &a.idx, a.extreme)
}

func (a *mmr[T]) Build(b array.Builder) error {
	gs := make([]uint32, a.n)
	for i := range gs {
		gs[i] = uint32(i)
	}
	return a.BuildGroups(b, gs)
}

// pkItem is one live value of a group with its arrival number.
type pkItem[T any] struct {
	g    uint32
	edge int8
	seq  uint64
	v    T
}

// pickr is FIRST_VALUE or LAST_VALUE over a retracting input: the live
// values of every group with their arrival numbers, in two B-trees: by
// (group, arrival), whose first or last item of a group is the result,
// and by (group, value, arrival), where a retraction finds the earliest
// live instance of its value (Flink's FirstValueWithRetract retracts the
// same one).
type pickr[T any] struct {
	last    bool
	k       *valKind[T]
	byOrder *btree.BTreeG[pkItem[T]]
	byValue *btree.BTreeG[pkItem[T]]
	n       int
	base    uint64
	preset  bool

	// Scratch.
	items []pkItem[T]
	vals  []T
	has   []bool
	idx   []uint32
}

func newPickRetract(last bool, in arrow.DataType) (RetractAccumulator, error) {
	what := "FIRST_VALUE"
	if last {
		what = "LAST_VALUE"
	}
	return forKind(in, what, func(k any) RetractAccumulator {
		switch k := k.(type) {
		case *valKind[int32]:
			return newPickR(last, k)
		case *valKind[int64]:
			return newPickR(last, k)
		case *valKind[arrow.Timestamp]:
			return newPickR(last, k)
		case *valKind[float64]:
			return newPickR(last, k)
		case *valKind[decimal128.Num]:
			return newPickR(last, k)
		case *valKind[bool]:
			return newPickR(last, k)
		case *valKind[string]:
			return newPickR(last, k)
		}
		return nil
	})
}

func newPickR[T any](last bool, k *valKind[T]) *pickr[T] {
	byOrder := func(a, b pkItem[T]) bool {
		if a.g != b.g {
			return a.g < b.g
		}
		if a.edge != b.edge {
			return a.edge < b.edge
		}
		return a.seq < b.seq
	}
	byValue := func(a, b pkItem[T]) bool {
		if a.g != b.g {
			return a.g < b.g
		}
		if a.edge != 0 || b.edge != 0 {
			return a.edge < b.edge
		}
		if c := k.cmp(a.v, b.v); c != 0 {
			return c < 0
		}
		return a.seq < b.seq
	}
	return &pickr[T]{last: last, k: k, byOrder: btree.NewG(32, byOrder), byValue: btree.NewG(32, byValue)}
}

func (a *pickr[T]) Len() int { return a.n }
func (a *pickr[T]) Grow(n int) {
	if n > a.n {
		a.n = n
	}
}
func (a *pickr[T]) Reset() {
	a.byOrder.Clear(true)
	a.byValue.Clear(true)
	a.n = 0
}

func (a *pickr[T]) setSeqBase(base uint64) { a.base, a.preset = base, true }

func (a *pickr[T]) insert(it pkItem[T]) {
	a.byOrder.ReplaceOrInsert(it)
	a.byValue.ReplaceOrInsert(it)
}

func (a *pickr[T]) Update(col arrow.Array, groups []uint32, sel []int32) error {
	get, err := a.k.read(col)
	if err != nil {
		return err
	}
	base := a.base
	if !a.preset {
		base = reserveSeq(col.Len())
	}
	a.preset = false
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		if r := rowOf(sel, k); !nulls || !valid.Null(r) {
			a.insert(pkItem[T]{g: g, seq: base + uint64(r), v: a.k.own(get(r))})
		}
	}
	return nil
}

// Retract implements RetractAccumulator: each retracted value takes out
// the earliest live instance of that value in its group; a value the group
// does not hold is ignored.
func (a *pickr[T]) Retract(col arrow.Array, groups []uint32, sel []int32) error {
	get, err := a.k.read(col)
	if err != nil {
		return err
	}
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		r := rowOf(sel, k)
		if nulls && valid.Null(r) {
			continue
		}
		v := get(r)
		var found pkItem[T]
		var ok bool
		a.byValue.AscendGreaterOrEqual(pkItem[T]{g: g, v: v}, func(it pkItem[T]) bool {
			found, ok = it, it.g == g && it.edge == 0 && a.k.cmp(it.v, v) == 0
			return false
		})
		if ok {
			a.byValue.Delete(found)
			a.byOrder.Delete(found)
		}
	}
	return nil
}

// group appends the items of group g, in arrival order, to dst.
func (a *pickr[T]) group(dst []pkItem[T], g uint32) []pkItem[T] {
	a.byOrder.AscendRange(pkItem[T]{g: g, edge: lowEdge}, pkItem[T]{g: g, edge: highEdge}, func(it pkItem[T]) bool {
		dst = append(dst, it)
		return true
	})
	return dst
}

// Clear implements GroupAccumulator.
func (a *pickr[T]) Clear(g uint32) {
	a.items = a.group(a.items[:0], g)
	for _, it := range a.items {
		a.byOrder.Delete(it)
		a.byValue.Delete(it)
	}
	clear(a.items)
}

// result returns group g's first or last live value.
func (a *pickr[T]) result(g uint32) (v T, ok bool) {
	visit := func(it pkItem[T]) bool {
		v, ok = it.v, it.g == g
		return false
	}
	if a.last {
		a.byOrder.DescendLessOrEqual(pkItem[T]{g: g, edge: highEdge}, visit)
	} else {
		a.byOrder.AscendGreaterOrEqual(pkItem[T]{g: g, edge: lowEdge}, visit)
	}
	if !ok {
		var zero T
		v = zero
	}
	return v, ok
}

func (a *pickr[T]) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*pickr[T])
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into %T", src, a)
	}
	a.items = s.group(a.items[:0], sg)
	for _, it := range a.items {
		it.g = g
		a.insert(it)
	}
	clear(a.items)
	return nil
}

// AppendState writes the number of live values of the group (uvarint),
// then each one's arrival number (8 bytes) and value.
func (a *pickr[T]) AppendState(dst []byte, g uint32) []byte {
	a.items = a.group(a.items[:0], g)
	dst = binary.AppendUvarint(dst, uint64(len(a.items)))
	for _, it := range a.items {
		dst = a.k.enc(binary.LittleEndian.AppendUint64(dst, it.seq), it.v)
	}
	clear(a.items)
	return dst
}

func (a *pickr[T]) MergeState(g uint32, src []byte) ([]byte, error) {
	n, w := binary.Uvarint(src)
	if w <= 0 || n > uint64(len(src)) {
		return nil, errTruncated
	}
	src = src[w:]
	for ; n > 0; n-- {
		seq, rest, err := readU64(src)
		if err != nil {
			return nil, err
		}
		v, rest, err := a.k.dec(rest)
		if err != nil {
			return nil, err
		}
		observeSeq(seq)
		a.insert(pkItem[T]{g: g, seq: seq, v: v})
		src = rest
	}
	return src, nil
}

func (a *pickr[T]) BuildGroups(b array.Builder, groups []uint32) error {
	return buildFrom(b, groups, &a.vals, &a.has, &a.idx, a.result)
}

func (a *pickr[T]) Build(b array.Builder) error {
	gs := make([]uint32, a.n)
	for i := range gs {
		gs[i] = uint32(i)
	}
	return a.BuildGroups(b, gs)
}
