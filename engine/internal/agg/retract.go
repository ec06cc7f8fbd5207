package agg

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/cespare/xxhash/v2"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
)

// Retraction.
//
// NewRetracting returns accumulators that take rows back out of their
// groups (RetractAccumulator), for aggregates over a retracting input:
// COUNT subtracts; SUM and AVG of integers and decimals subtract their sum
// and count of non-NULL values (the result is NULL when none is left);
// SUM and AVG of DOUBLE keep the finite sum apart from the numbers of NaN,
// +Inf and -Inf values, so that retracting an infinity gives the finite sum
// back (the finite sum itself is subject to rounding, as in Flink); MIN and
// MAX keep an ordered multiset of each group's values with their counts
// (mmr); FIRST_VALUE and LAST_VALUE keep each group's live values with
// their arrival numbers, and a retracted value takes out its earliest live
// instance, as Flink's FirstValueWithRetract does (pickr); DISTINCT keeps
// a reference count per (group, value) and feeds its inner COUNT, SUM or
// AVG a value when its count leaves or reaches zero (rdistinct).

// NewRetracting returns a RetractAccumulator for call over an input
// column of Arrow type in (nil for COUNT(*)), with the result types of New.
// APPROX_COUNT_DISTINCT and user-defined aggregates cannot retract.
func NewRetracting(call jobgraph.AggCall, in arrow.DataType) (RetractAccumulator, error) {
	switch call.Func {
	case jobgraph.UDAF:
		return nil, fmt.Errorf("agg: user-defined aggregate %q cannot retract its input", call.UDF)
	case jobgraph.ApproxCountDistinct:
		return nil, fmt.Errorf("agg: APPROX_COUNT_DISTINCT cannot retract its input (a HyperLogLog sketch cannot forget a value)")
	}
	// New checks the call's types and builds the plain accumulator.
	a, err := New(call, in)
	if err != nil {
		return nil, err
	}
	if call.Distinct && (call.Func == jobgraph.Count || call.Func == jobgraph.Sum || call.Func == jobgraph.Avg) {
		plain := call
		plain.Distinct = false
		inner, err := NewRetracting(plain, in)
		if err != nil {
			return nil, err
		}
		sub, ok := inner.(encodedRetractor)
		if !ok {
			return nil, fmt.Errorf("agg: %s over %s cannot take DISTINCT", call.Func, typeName(in))
		}
		return newRDistinct(sub, in)
	}
	switch call.Func {
	case jobgraph.Min, jobgraph.Max:
		return newMinMaxRetract(call.Func == jobgraph.Max, in)
	case jobgraph.FirstValue, jobgraph.LastValue:
		return newPickRetract(call.Func == jobgraph.LastValue, in)
	case jobgraph.Sum, jobgraph.Avg:
		if in.ID() == arrow.FLOAT64 {
			return &fnum{avg: call.Func == jobgraph.Avg}, nil
		}
	}
	r, ok := a.(RetractAccumulator)
	if !ok {
		return nil, fmt.Errorf("agg: %s over %s cannot retract its input", call.Func, typeName(in))
	}
	return r, nil
}

// encodedRetractor is an accumulator DISTINCT can feed and unfeed values
// in the rowkey key format, without the marker byte.
type encodedRetractor interface {
	RetractAccumulator
	addEncoded(g uint32, v []byte) error
	subEncoded(g uint32, v []byte) error
}

// Retract implements RetractAccumulator.
func (c *count) Retract(col arrow.Array, groups []uint32, sel []int32) error {
	n := c.n
	if c.star || col.NullN() == 0 {
		for _, g := range groups {
			n[g]--
		}
		return nil
	}
	v, _ := rowkey.ValidityOf(col)
	for k, g := range groups {
		if !v.Null(rowOf(sel, k)) {
			n[g]--
		}
	}
	return nil
}

func (c *count) subEncoded(g uint32, _ []byte) error {
	c.n[g]--
	return nil
}

// Retract implements RetractAccumulator for integer inputs (doubles
// retract through fnum).
func (a *num[I, S]) Retract(col arrow.Array, groups []uint32, sel []int32) error {
	var zero S
	if _, double := any(zero).(float64); double {
		return fmt.Errorf("agg: SUM and AVG of DOUBLE retract through their own accumulator")
	}
	vs, err := values[I](col)
	if err != nil {
		return err
	}
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		if r := rowOf(sel, k); !nulls || !valid.Null(r) {
			a.sum[g] -= S(vs[r])
			a.cnt[g]--
		}
	}
	return nil
}

func (a *num[I, S]) subEncoded(g uint32, v []byte) error {
	// The value is an INT (4 bytes) or a BIGINT (8 bytes), as addEncoded
	// takes it.
	var x int64
	switch len(v) {
	case 4:
		x = int64(int32(binary.LittleEndian.Uint32(v)))
	case 8:
		x = int64(binary.LittleEndian.Uint64(v))
	default:
		return errValueWidth(len(v), 8)
	}
	a.sum[g] -= S(x)
	a.cnt[g]--
	return nil
}

// Retract implements RetractAccumulator.
func (a *dec) Retract(col arrow.Array, groups []uint32, sel []int32) error {
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
		a.sum[g], o = add128(a.sum[g], vs[r].Negate())
		over = over || o || vs[r] == minDec128
		a.cnt[g]--
	}
	if over {
		return a.errOverflow()
	}
	return nil
}

func (a *dec) subEncoded(g uint32, v []byte) error {
	if len(v) != 16 {
		return errValueWidth(len(v), 16)
	}
	x := decimal128.New(int64(binary.LittleEndian.Uint64(v[8:])), binary.LittleEndian.Uint64(v))
	var o bool
	a.sum[g], o = add128(a.sum[g], x.Negate())
	a.cnt[g]--
	if o || x == minDec128 {
		return a.errOverflow()
	}
	return nil
}

// fnum is SUM or AVG of DOUBLE over a retracting input: per group the sum
// of the finite values, the number of non-NULL values and the numbers of
// NaN, +Inf and -Inf values, so that a retracted infinity or NaN leaves no
// trace. The result follows IEEE addition: NaN when a NaN or both
// infinities are present, else the infinity present, else the finite sum
// (divided by the count for AVG).
type fnum struct {
	avg                  bool
	sum                  []float64
	cnt, nan, pinf, ninf []int64
}

func (a *fnum) Len() int { return len(a.cnt) }
func (a *fnum) Grow(n int) {
	a.sum, a.cnt = grow(a.sum, n), grow(a.cnt, n)
	a.nan, a.pinf, a.ninf = grow(a.nan, n), grow(a.pinf, n), grow(a.ninf, n)
}
func (a *fnum) Reset() {
	a.sum, a.cnt, a.nan, a.pinf, a.ninf = a.sum[:0], a.cnt[:0], a.nan[:0], a.pinf[:0], a.ninf[:0]
}
func (a *fnum) Clear(g uint32) {
	a.sum[g], a.cnt[g], a.nan[g], a.pinf[g], a.ninf[g] = 0, 0, 0, 0, 0
}

// add adds d (1 or -1) copies of v to group g.
func (a *fnum) add(g uint32, v float64, d int64) {
	a.cnt[g] += d
	switch {
	case v != v:
		a.nan[g] += d
	case math.IsInf(v, 1):
		a.pinf[g] += d
	case math.IsInf(v, -1):
		a.ninf[g] += d
	default:
		a.sum[g] += float64(d) * v
	}
}

func (a *fnum) fold(col arrow.Array, groups []uint32, sel []int32, d int64) error {
	vs, err := values[float64](col)
	if err != nil {
		return err
	}
	valid, nulls := rowkey.ValidityOf(col)
	for k, g := range groups {
		if r := rowOf(sel, k); !nulls || !valid.Null(r) {
			a.add(g, vs[r], d)
		}
	}
	return nil
}

func (a *fnum) Update(col arrow.Array, groups []uint32, sel []int32) error {
	return a.fold(col, groups, sel, 1)
}

// Retract implements RetractAccumulator.
func (a *fnum) Retract(col arrow.Array, groups []uint32, sel []int32) error {
	return a.fold(col, groups, sel, -1)
}

func (a *fnum) encoded(g uint32, v []byte, d int64) error {
	if len(v) != 8 {
		return errValueWidth(len(v), 8)
	}
	a.add(g, math.Float64frombits(binary.LittleEndian.Uint64(v)), d)
	return nil
}

func (a *fnum) addEncoded(g uint32, v []byte) error { return a.encoded(g, v, 1) }
func (a *fnum) subEncoded(g uint32, v []byte) error { return a.encoded(g, v, -1) }

func (a *fnum) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*fnum)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a retracting DOUBLE SUM/AVG", src)
	}
	a.sum[g] += s.sum[sg]
	a.cnt[g] += s.cnt[sg]
	a.nan[g] += s.nan[sg]
	a.pinf[g] += s.pinf[sg]
	a.ninf[g] += s.ninf[sg]
	return nil
}

func (a *fnum) AppendState(dst []byte, g uint32) []byte {
	dst = binary.LittleEndian.AppendUint64(dst, math.Float64bits(a.sum[g]))
	for _, v := range []int64{a.cnt[g], a.nan[g], a.pinf[g], a.ninf[g]} {
		dst = binary.LittleEndian.AppendUint64(dst, uint64(v))
	}
	return dst
}

func (a *fnum) MergeState(g uint32, src []byte) ([]byte, error) {
	if len(src) < 40 {
		return nil, errTruncated
	}
	a.sum[g] += math.Float64frombits(binary.LittleEndian.Uint64(src))
	for i, p := range []*int64{&a.cnt[g], &a.nan[g], &a.pinf[g], &a.ninf[g]} {
		*p += int64(binary.LittleEndian.Uint64(src[8+8*i:]))
	}
	return src[40:], nil
}

// result returns group g's result and whether it has one.
func (a *fnum) result(g uint32) (float64, bool) {
	c := a.cnt[g]
	switch {
	case c <= 0:
		return 0, false
	case a.nan[g] > 0 || a.pinf[g] > 0 && a.ninf[g] > 0:
		return math.NaN(), true
	case a.pinf[g] > 0:
		return math.Inf(1), true
	case a.ninf[g] > 0:
		return math.Inf(-1), true
	case a.avg:
		return a.sum[g] / float64(c), true
	}
	return a.sum[g], true
}

func (a *fnum) Build(b array.Builder) error {
	bb, ok := b.(*array.Float64Builder)
	if !ok {
		return fmt.Errorf("agg: DOUBLE SUM/AVG cannot be built into a %s builder", b.Type())
	}
	bb.Reserve(len(a.cnt))
	for g := range a.cnt {
		if v, ok := a.result(uint32(g)); ok {
			bb.UnsafeAppend(v)
		} else {
			bb.UnsafeAppendBoolToBitmap(false)
		}
	}
	return nil
}

func (a *fnum) BuildGroups(b array.Builder, groups []uint32) error {
	bb, ok := b.(*array.Float64Builder)
	if !ok {
		return fmt.Errorf("agg: DOUBLE SUM/AVG cannot be built into a %s builder", b.Type())
	}
	bb.Reserve(len(groups))
	for _, g := range groups {
		if v, ok := a.result(g); ok {
			bb.UnsafeAppend(v)
		} else {
			bb.UnsafeAppendBoolToBitmap(false)
		}
	}
	return nil
}

// rdistinct is COUNT, SUM or AVG over the distinct non-NULL values of each
// group of a retracting input. One hash set for all groups maps (group id,
// value in the rowkey key format) to an entry with a reference count: the
// inner accumulator gets a value when its count goes from 0 to 1 and loses
// it when it goes back to 0. Entries whose count dropped to 0 stay in the
// set (the set cannot delete) and are reused when the value comes back; an
// operator that drops many groups rebuilds its state by merging the live
// groups into a fresh one, which copies live entries only. The entries of
// one group are chained (head, next).
type rdistinct struct {
	inner encodedRetractor
	enc   *rowkey.Encoder
	set   *hashtable.Table
	refs  []int64  // per entry
	head  []uint32 // per group: 1 + its newest entry, 0 when it has none
	next  []uint32 // per entry: 1 + the group's entry before it, 0 at the end

	// Scratch reused from batch to batch.
	vals   rowkey.Rows
	keys   rowkey.Rows
	hashes []uint64
	ids    []uint32
	gs     []uint32 // the group of each key
	key    []byte
	cols   [1]arrow.Array
}

func newRDistinct(inner encodedRetractor, in arrow.DataType) (*rdistinct, error) {
	enc, err := rowkey.NewEncoder([]arrow.DataType{in})
	if err != nil {
		return nil, fmt.Errorf("agg: DISTINCT over %s: %w", in, err)
	}
	d := &rdistinct{inner: inner, enc: enc}
	if w := enc.FixedWidth(); w > 0 {
		d.set = hashtable.NewFixed(0, 4+w)
	} else {
		d.set = hashtable.New(0)
	}
	return d, nil
}

func (d *rdistinct) Len() int { return len(d.head) }

func (d *rdistinct) Grow(n int) {
	d.head = grow(d.head, n)
	d.inner.Grow(n)
}

func (d *rdistinct) Reset() {
	d.set.Reset(d.set.Len())
	d.refs, d.head, d.next = d.refs[:0], d.head[:0], d.next[:0]
	d.inner.Reset()
}

// Clear implements GroupAccumulator: every value of the group drops to
// count 0.
func (d *rdistinct) Clear(g uint32) {
	for e := d.head[g]; e != 0; e = d.next[e-1] {
		d.refs[e-1] = 0
	}
	d.inner.Clear(g)
}

// keysOf encodes (group, value) of every non-NULL row into d.keys, their
// hashes into d.hashes and their groups into d.gs.
func (d *rdistinct) keysOf(col arrow.Array, groups []uint32, sel []int32) error {
	d.cols[0] = col
	cols := d.cols[:]
	defer clear(cols)
	if err := d.enc.Encode(cols, col.Len(), sel, &d.vals); err != nil {
		return fmt.Errorf("agg: DISTINCT: %w", err)
	}
	valid, nulls := rowkey.ValidityOf(col)
	keys := &d.keys
	keys.Data, keys.Offs, d.gs = keys.Data[:0], append(keys.Offs[:0], 0), d.gs[:0]
	for k, g := range groups {
		if nulls && valid.Null(rowOf(sel, k)) {
			continue
		}
		keys.Data = binary.LittleEndian.AppendUint32(keys.Data, g)
		keys.Data = append(keys.Data, d.vals.Row(k)...)
		keys.Offs = append(keys.Offs, int32(len(keys.Data)))
		d.gs = append(d.gs, g)
	}
	m := len(d.gs)
	d.hashes = grow(d.hashes, m)[:m]
	for j := range d.hashes {
		d.hashes[j] = xxhash.Sum64(keys.Row(j))
	}
	return nil
}

// addRef adds n references to entry id of group g, whose value v is in
// the key format with its marker byte; fresh says the entry is new.
func (d *rdistinct) addRef(g, id uint32, fresh bool, v []byte, n int64) error {
	if fresh {
		d.refs = append(d.refs, 0)
		d.next = append(d.next, d.head[g])
		d.head[g] = id + 1
	}
	d.refs[id] += n
	if d.refs[id] == n {
		return d.inner.addEncoded(g, v[1:])
	}
	return nil
}

func (d *rdistinct) Update(col arrow.Array, groups []uint32, sel []int32) error {
	if err := d.keysOf(col, groups, sel); err != nil {
		return err
	}
	m := len(d.gs)
	if m == 0 {
		return nil
	}
	d.ids = grow(d.ids, m)[:m]
	before := d.set.Len()
	if _, err := d.set.FindOrInsert(d.hashes, &d.keys, nil, d.ids); err != nil {
		return fmt.Errorf("agg: DISTINCT: %w", err)
	}
	// Ids are dense in insertion order: the key that created entry id is
	// the first whose id is the next unseen one.
	fresh := uint32(before)
	for j, id := range d.ids {
		isNew := id == fresh
		if isNew {
			fresh++
		}
		if err := d.addRef(d.gs[j], id, isNew, d.keys.Row(j)[4:], 1); err != nil {
			return err
		}
	}
	return nil
}

// Retract implements RetractAccumulator; a value the group does not hold
// is ignored.
func (d *rdistinct) Retract(col arrow.Array, groups []uint32, sel []int32) error {
	if err := d.keysOf(col, groups, sel); err != nil {
		return err
	}
	for j, g := range d.gs {
		key := d.keys.Row(j)
		id, ok := d.set.Find(d.hashes[j], key)
		if !ok || d.refs[id] == 0 {
			continue
		}
		if d.refs[id]--; d.refs[id] == 0 {
			if err := d.inner.subEncoded(g, key[5:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// insert adds n references to value v (key format, marker included) of
// group g.
func (d *rdistinct) insert(g uint32, v []byte, n int64) error {
	d.key = binary.LittleEndian.AppendUint32(d.key[:0], g)
	d.key = append(d.key, v...)
	id, added, err := d.set.FindOrInsertOne(xxhash.Sum64(d.key), d.key)
	if err != nil {
		return fmt.Errorf("agg: DISTINCT: %w", err)
	}
	return d.addRef(g, id, added, d.key[4:], n)
}

// Merge adds the live values of group sg of src, with their counts, to
// group g.
func (d *rdistinct) Merge(g uint32, src Accumulator, sg uint32) error {
	s, ok := src.(*rdistinct)
	if !ok {
		return fmt.Errorf("agg: cannot merge %T into a retracting DISTINCT aggregate", src)
	}
	for e := s.head[sg]; e != 0; e = s.next[e-1] {
		if n := s.refs[e-1]; n > 0 {
			// insert copies the value into d.key before it touches
			// d.set, so merging from d itself is safe.
			if err := d.insert(g, s.set.Key(e - 1)[4:], n); err != nil {
				return err
			}
		}
	}
	return nil
}

// AppendState writes the group's live values: their number (uvarint),
// then each in the rowkey key format followed by its count (uvarint).
func (d *rdistinct) AppendState(dst []byte, g uint32) []byte {
	n := 0
	for e := d.head[g]; e != 0; e = d.next[e-1] {
		if d.refs[e-1] > 0 {
			n++
		}
	}
	dst = binary.AppendUvarint(dst, uint64(n))
	for e := d.head[g]; e != 0; e = d.next[e-1] {
		if c := d.refs[e-1]; c > 0 {
			dst = append(dst, d.set.Key(e - 1)[4:]...)
			dst = binary.AppendUvarint(dst, uint64(c))
		}
	}
	return dst
}

func (d *rdistinct) MergeState(g uint32, src []byte) ([]byte, error) {
	n, w := binary.Uvarint(src)
	if w <= 0 {
		return nil, errTruncated
	}
	src = src[w:]
	if n > uint64(len(src)) { // every value takes at least two bytes
		return nil, errTruncated
	}
	for ; n > 0; n-- {
		end, err := d.enc.Skip(src, 0)
		if err != nil {
			return nil, errTruncated
		}
		if src[0] != 1 {
			return nil, fmt.Errorf("agg: DISTINCT state holds a NULL value")
		}
		c, w := binary.Uvarint(src[end:])
		if w <= 0 || c == 0 || c > math.MaxInt64 {
			return nil, fmt.Errorf("agg: DISTINCT state holds a bad count")
		}
		if err := d.insert(g, src[:end], int64(c)); err != nil {
			return nil, err
		}
		src = src[end+w:]
	}
	return src, nil
}

func (d *rdistinct) Build(b array.Builder) error { return d.inner.Build(b) }

func (d *rdistinct) BuildGroups(b array.Builder, groups []uint32) error {
	return d.inner.BuildGroups(b, groups)
}
