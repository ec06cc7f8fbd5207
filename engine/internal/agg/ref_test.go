package agg_test

import (
	"bytes"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
)

// This file checks every aggregate function, over every input type it
// takes, with and without DISTINCT and FILTER, against a row-at-a-time
// reference written here, on random data: random groups, NULLs, batch
// sizes, sliced columns, rows split over partial accumulators that are
// merged in random order directly (Merge) or through their encoded state
// (AppendState/MergeState).

// inTypes are the input types of the tests; decimals are DECIMAL(10, 2).
var inTypes = []types.Type{
	types.BooleanType, types.IntType, types.BigIntType, types.DoubleType,
	types.DecimalType(10, 2), types.StringType, types.TimestampType,
}

// refCall is one aggregate call under test.
type refCall struct {
	fn       jobgraph.AggFunc
	out      types.Type
	distinct bool
	filter   bool
}

func (c refCall) String() string {
	s := string(c.fn)
	if c.distinct {
		s += " DISTINCT"
	}
	if c.filter {
		s += " FILTER"
	}
	return s + " -> " + c.out.String()
}

// callsFor lists the calls over input type in: every function that takes
// it with each result type it gives, each with and without DISTINCT and
// FILTER where the function takes them.
func callsFor(in types.Type) []refCall {
	type fo struct {
		fn  jobgraph.AggFunc
		out types.Type
	}
	fos := []fo{{jobgraph.CountStar, types.BigIntType}, {jobgraph.Count, types.BigIntType},
		{jobgraph.Min, in}, {jobgraph.Max, in}, {jobgraph.FirstValue, in}, {jobgraph.LastValue, in},
		{jobgraph.ApproxCountDistinct, types.BigIntType}}
	switch in.Kind {
	case types.Int:
		fos = append(fos, fo{jobgraph.Sum, types.IntType}, fo{jobgraph.Sum, types.BigIntType},
			fo{jobgraph.Avg, types.IntType}, fo{jobgraph.Avg, types.DoubleType})
	case types.BigInt:
		fos = append(fos, fo{jobgraph.Sum, types.BigIntType}, fo{jobgraph.Avg, types.BigIntType}, fo{jobgraph.Avg, types.DoubleType})
	case types.Double:
		fos = append(fos, fo{jobgraph.Sum, types.DoubleType}, fo{jobgraph.Avg, types.DoubleType})
	case types.Decimal:
		fos = append(fos, fo{jobgraph.Sum, types.DecimalType(38, in.Scale)}, fo{jobgraph.Avg, types.DecimalType(38, max(6, in.Scale))})
	}
	var calls []refCall
	for _, f := range fos {
		for _, distinct := range []bool{false, true} {
			if distinct && (f.fn == jobgraph.CountStar || f.fn == jobgraph.LastValue) {
				continue
			}
			for _, filter := range []bool{false, true} {
				calls = append(calls, refCall{fn: f.fn, out: f.out, distinct: distinct, filter: filter})
			}
		}
	}
	return calls
}

// Input schema of the tests: the argument, then a FILTER column.
const (
	colArg    = 0
	colFilter = 1
)

func jobCalls(cs []refCall) []jobgraph.AggCall {
	out := make([]jobgraph.AggCall, len(cs))
	for i, c := range cs {
		out[i] = jobgraph.AggCall{Func: c.fn, Arg: colArg, Type: c.out, Name: c.String(), Distinct: c.distinct}
		if c.fn == jobgraph.CountStar {
			out[i].Arg = -1
		}
		if c.filter {
			f := colFilter
			out[i].Filter = &f
		}
	}
	return out
}

// A row of the test data. v is nil for NULL, else a bool, int32, int64
// (BIGINT and TIMESTAMP), float64, *big.Int (a DECIMAL's unscaled value)
// or string. f is the FILTER column: 0 NULL, 1 FALSE, 2 TRUE.
type row struct {
	key int
	v   any
	f   int
}

// value draws a value of type t: often from a small domain, so that
// DISTINCT has duplicates to remove, else from the whole range.
func value(r *rand.Rand, t types.Type) any {
	small := r.IntN(2) == 0
	switch t.Kind {
	case types.Boolean:
		return r.IntN(2) == 0
	case types.Int:
		if small {
			return int32(r.IntN(40) - 20)
		}
		return int32(r.Uint32())
	case types.BigInt, types.Timestamp:
		if small {
			return int64(r.IntN(40) - 20)
		}
		return int64(r.Uint64())
	case types.Double:
		switch r.IntN(30) {
		case 0:
			return math.NaN()
		case 1:
			return math.Inf(1)
		case 2:
			return math.Inf(-1)
		case 3:
			return math.Copysign(0, -1)
		}
		if small {
			return float64(r.IntN(20)-10) * 0.5
		}
		return float64(r.IntN(1000)-500) * 0.125
	case types.Decimal:
		if small {
			return big.NewInt(int64(r.IntN(40) - 20))
		}
		return big.NewInt(r.Int64N(2e9) - 1e9)
	case types.String:
		if small {
			return []string{"", "a", "b", "ab", "é", "zz"}[r.IntN(6)]
		}
		return strings.Repeat("xy", r.IntN(4)) + string(rune('a'+r.IntN(26)))
	}
	panic("no values of " + t.String())
}

// record builds the rows as a record of (argument, filter). With off > 0
// the columns are slices, off rows into larger arrays.
func record(mem memory.Allocator, t types.Type, rows []row, off int) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: t.Arrow(), Nullable: true}, {Name: "f", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	r := rand.New(rand.NewPCG(uint64(len(rows)), 1))
	for i := -off; i < len(rows)+off; i++ {
		var v any
		f := 0
		if i >= 0 && i < len(rows) {
			v, f = rows[i].v, rows[i].f
		} else if r.IntN(3) > 0 { // padding, NULL or not
			v, f = value(r, t), r.IntN(3)
		}
		appendValue(b.Field(0), v)
		if f == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.BooleanBuilder).Append(f == 2)
		}
	}
	rec := b.NewRecordBatch()
	if off == 0 {
		return rec
	}
	defer rec.Release()
	return rec.NewSlice(int64(off), int64(off+len(rows)))
}

func appendValue(b array.Builder, v any) {
	if v == nil {
		b.AppendNull()
		return
	}
	switch bb := b.(type) {
	case *array.BooleanBuilder:
		bb.Append(v.(bool))
	case *array.Int32Builder:
		bb.Append(v.(int32))
	case *array.Int64Builder:
		bb.Append(v.(int64))
	case *array.TimestampBuilder:
		bb.Append(arrow.Timestamp(v.(int64)))
	case *array.Float64Builder:
		bb.Append(v.(float64))
	case *array.Decimal128Builder:
		bb.Append(decimal128.FromBigInt(v.(*big.Int)))
	case *array.StringBuilder:
		bb.Append(v.(string))
	default:
		panic(fmt.Sprintf("no builder for %T", b))
	}
}

// ref is the row-at-a-time reference of one call for one group.
type ref interface {
	add(v any)
	result() string
}

// newRef returns the reference of call c over input type in.
func newRef(c refCall, in types.Type) ref {
	var inner ref
	switch c.fn {
	case jobgraph.CountStar:
		return &refCount{star: true}
	case jobgraph.Count:
		inner = &refCount{}
	case jobgraph.Sum, jobgraph.Avg:
		inner = &refSum{in: in, out: c.out, avg: c.fn == jobgraph.Avg}
	case jobgraph.Min, jobgraph.Max:
		inner = &refExtreme{in: in, max: c.fn == jobgraph.Max}
	case jobgraph.FirstValue, jobgraph.LastValue:
		inner = &refPick{in: in, last: c.fn == jobgraph.LastValue}
	case jobgraph.ApproxCountDistinct:
		return &refDistinct{inner: &refCount{}}
	default:
		panic(c.fn)
	}
	if c.distinct && (c.fn == jobgraph.Count || c.fn == jobgraph.Sum || c.fn == jobgraph.Avg) {
		return &refDistinct{inner: inner}
	}
	// MIN, MAX and FIRST_VALUE of the distinct values are those of all
	// values (FIRST_VALUE keeps the first value as it came, -0.0 or 0.0).
	return inner
}

type refCount struct {
	star bool
	n    int64
}

func (a *refCount) add(v any) {
	if v != nil || a.star {
		a.n++
	}
}
func (a *refCount) result() string { return strconv.FormatInt(a.n, 10) }

// refDistinct feeds its inner reference each value the first time it is
// seen, SQL-equal values being one value (0.0 = -0.0, NaN = NaN).
type refDistinct struct {
	inner ref
	seen  map[any]bool
}

func canonical(v any) any {
	switch x := v.(type) {
	case float64:
		if x == 0 {
			return 0.0
		}
		if x != x {
			return "NaN"
		}
	case *big.Int:
		return "dec:" + x.String()
	}
	return v
}

func (a *refDistinct) add(v any) {
	if v == nil {
		return
	}
	k := canonical(v)
	if a.seen[k] {
		return
	}
	if a.seen == nil {
		a.seen = map[any]bool{}
	}
	a.seen[k] = true
	if f, ok := v.(float64); ok && f == 0 {
		v = 0.0 // the distinct value is the canonical zero
	}
	a.inner.add(v)
}
func (a *refDistinct) result() string { return a.inner.result() }

// refSum is SUM or AVG with Flink's types: integer sums wrap in 64 bits,
// INT results keep the low 32 bits, integer AVG truncates, DECIMAL AVG
// rounds half away from zero.
type refSum struct {
	in, out types.Type
	avg     bool
	n       int64
	i       int64
	f       float64
	d       big.Int
}

func (a *refSum) add(v any) {
	if v == nil {
		return
	}
	a.n++
	switch x := v.(type) {
	case int32:
		a.i += int64(x)
	case int64:
		a.i += x
	case float64:
		a.f += x
	case *big.Int:
		a.d.Add(&a.d, x)
	}
}

func (a *refSum) result() string {
	if a.n == 0 {
		return "null"
	}
	switch a.in.Kind {
	case types.Double:
		if a.avg {
			return optest.Float(a.f / float64(a.n))
		}
		return optest.Float(a.f)
	case types.Decimal:
		if a.avg {
			q := new(big.Rat).SetFrac(&a.d, new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(a.in.Scale)), nil))
			q.Quo(q, new(big.Rat).SetInt64(a.n))
			return q.FloatString(a.out.Scale)
		}
		return optest.Decimal(&a.d, a.in.Scale)
	}
	v := a.i
	if a.avg {
		if a.out.Kind == types.Double {
			return optest.Float(float64(a.i) / float64(a.n))
		}
		v = a.i / a.n
	}
	if a.out.Kind == types.Int {
		return strconv.FormatInt(int64(int32(v)), 10)
	}
	return strconv.FormatInt(v, 10)
}

// refExtreme is MIN or MAX: FALSE < TRUE, NaN above every number, strings
// by their UTF-8 bytes.
type refExtreme struct {
	in  types.Type
	max bool
	v   any
}

func less(x, y any) bool {
	switch a := x.(type) {
	case bool:
		return !a && y.(bool)
	case int32:
		return a < y.(int32)
	case int64:
		return a < y.(int64)
	case float64:
		b := y.(float64)
		return a < b || (b != b && a == a)
	case *big.Int:
		return a.Cmp(y.(*big.Int)) < 0
	case string:
		return bytes.Compare([]byte(a), []byte(y.(string))) < 0
	}
	panic(fmt.Sprintf("%T", x))
}

func (a *refExtreme) add(v any) {
	if v == nil {
		return
	}
	if a.v == nil || (a.max && less(a.v, v)) || (!a.max && less(v, a.v)) {
		a.v = v
	}
}

func (a *refExtreme) result() string {
	s := render(a.in, a.v)
	if s == "-0" { // MIN/MAX keep either of 0.0 and -0.0, which are equal
		s = "0"
	}
	return s
}

// refPick is FIRST_VALUE or LAST_VALUE: the first or last non-NULL value.
type refPick struct {
	in   types.Type
	last bool
	v    any
}

func (a *refPick) add(v any) {
	if v != nil && (a.last || a.v == nil) {
		a.v = v
	}
}
func (a *refPick) result() string { return render(a.in, a.v) }

// render writes v as optest.RenderValue writes a value of type t.
func render(t types.Type, v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return strconv.FormatBool(x)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return optest.Float(x)
	case *big.Int:
		return optest.Decimal(x, t.Scale)
	case string:
		return strconv.Quote(x)
	}
	panic(fmt.Sprintf("%T", v))
}

// reference computes every call's result per key over rows, in order.
func reference(cs []refCall, in types.Type, keys int, rows []row) [][]string {
	out := make([][]string, len(cs))
	for i, c := range cs {
		refs := make([]ref, keys)
		for k := range refs {
			refs[k] = newRef(c, in)
		}
		for _, r := range rows {
			if c.filter && r.f != 2 {
				continue
			}
			refs[r.key].add(r.v)
		}
		out[i] = make([]string, keys)
		for k, a := range refs {
			out[i][k] = a.result()
		}
	}
	return out
}

// results builds every call's result from g and returns them per key,
// group perm[key] holding key.
func results(t *testing.T, mem memory.Allocator, cs []refCall, g *agg.Groups, perm []uint32) [][]string {
	t.Helper()
	bs := make([]array.Builder, len(cs))
	for i, c := range cs {
		bs[i] = array.NewBuilder(mem, c.out.Arrow())
		defer bs[i].Release()
	}
	if err := g.Build(bs); err != nil {
		t.Fatalf("Build: %v", err)
	}
	out := make([][]string, len(cs))
	for i, b := range bs {
		arr := b.NewArray()
		if arr.Len() != g.Len() {
			t.Fatalf("%s: built %d values for %d groups", cs[i], arr.Len(), g.Len())
		}
		out[i] = make([]string, len(perm))
		for k, grp := range perm {
			s := optest.RenderValue(arr, int(grp))
			if cs[i].fn == jobgraph.Min || cs[i].fn == jobgraph.Max {
				if s == "-0" {
					s = "0"
				}
			}
			out[i][k] = s
		}
		arr.Release()
	}
	return out
}

// compare checks got against want. APPROX_COUNT_DISTINCT of the few
// values a test group has is exact but for a rare hash collision: it may
// be one short.
func compare(t *testing.T, what string, cs []refCall, got, want [][]string) {
	t.Helper()
	for i, c := range cs {
		for k := range want[i] {
			g, w := got[i][k], want[i][k]
			if c.fn == jobgraph.ApproxCountDistinct {
				gn, _ := strconv.Atoi(g)
				wn, _ := strconv.Atoi(w)
				if gn == wn || gn == wn-1 {
					continue
				}
			}
			if g != w {
				t.Fatalf("%s: %s: key %d = %s, want %s", what, c, k, g, w)
			}
		}
	}
}

func randomPerm(r *rand.Rand, n int) []uint32 {
	p := make([]uint32, n)
	for i, v := range r.Perm(n) {
		p[i] = uint32(v)
	}
	return p
}

// TestAgainstReference runs every call over every input type, on random
// data, through three paths that must all give the reference's result:
// one Groups updated batch by batch (each batch in up to three Update
// calls over row selections, as an operator splitting a batch over
// windows does); partial Groups that each get a random share of every
// batch's rows, merged in random order into a fresh Groups, each directly
// or through its encoded state; and the first Groups again after Reset.
func TestAgainstReference(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for ti, in := range inTypes {
		for round := 0; round < 8; round++ {
			seed := uint64(100*ti + round)
			t.Run(fmt.Sprintf("%s/%d", in, seed), func(t *testing.T) {
				testAgainstReference(t, mem, in, seed)
			})
		}
	}
}

func testAgainstReference(t *testing.T, mem memory.Allocator, in types.Type, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 7))
	cs := callsFor(in)
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: in.Arrow(), Nullable: true}, {Name: "f", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, nil)
	calls, err := agg.Bind(jobCalls(cs), schema, nil)
	if err != nil {
		t.Fatal(err)
	}
	keys := 1 + r.IntN(30)
	nullRate := []int{0, 5, 2}[r.IntN(3)] // none, a fifth, half
	var all []row
	var batches [][]row
	for b := 1 + r.IntN(8); b > 0; b-- {
		n := r.IntN(300)
		if r.IntN(8) == 0 {
			n = 0
		}
		rows := make([]row, n)
		for i := range rows {
			rows[i] = row{key: r.IntN(keys), f: r.IntN(3)}
			if nullRate == 0 || r.IntN(nullRate) != 0 {
				rows[i].v = value(r, in)
			}
		}
		batches = append(batches, rows)
		all = append(all, rows...)
	}
	want := reference(cs, in, keys, all)

	newGroups := func() *agg.Groups {
		g, err := calls.NewGroups()
		if err != nil {
			t.Fatal(err)
		}
		g.Grow(keys)
		return g
	}
	whole := newGroups()
	wholePerm := randomPerm(r, keys)
	nparts := 1 + r.IntN(4)
	parts := make([]*agg.Groups, nparts)
	perms := make([][]uint32, nparts)
	for p := range parts {
		parts[p], perms[p] = newGroups(), randomPerm(r, keys)
	}
	for _, rows := range batches {
		off := 0
		if r.IntN(2) == 0 {
			off = 1 + r.IntN(20)
		}
		rec := record(mem, in, rows, off)
		// The whole Groups, in up to three selections of the batch, in a
		// random order: rows keep their arrival order by row number.
		splits := 1 + r.IntN(3)
		sels := make([][]int32, splits)
		gss := make([][]uint32, splits)
		for i, rw := range rows {
			s := r.IntN(splits)
			sels[s] = append(sels[s], int32(i))
			gss[s] = append(gss[s], wholePerm[rw.key])
		}
		if splits == 1 && r.IntN(2) == 0 {
			sels[0] = nil // all rows
		}
		for _, s := range r.Perm(splits) {
			if sels[s] == nil && splits > 1 {
				continue
			}
			if err := whole.Update(rec, gss[s], sels[s]); err != nil {
				t.Fatal(err)
			}
		}
		// The partial Groups, each with a random share of the rows.
		psel := make([][]int32, nparts)
		pgs := make([][]uint32, nparts)
		for i, rw := range rows {
			p := r.IntN(nparts)
			psel[p] = append(psel[p], int32(i))
			pgs[p] = append(pgs[p], perms[p][rw.key])
		}
		for _, p := range r.Perm(nparts) {
			if psel[p] == nil {
				continue
			}
			if err := parts[p].Update(rec, pgs[p], psel[p]); err != nil {
				t.Fatal(err)
			}
		}
		rec.Release()
	}
	compare(t, "one Groups", cs, results(t, mem, cs, whole, wholePerm), want)

	merged, mergedPerm := newGroups(), randomPerm(r, keys)
	for _, p := range r.Perm(nparts) {
		viaState := r.IntN(2) == 0
		for _, k := range r.Perm(keys) {
			dst, sg := mergedPerm[k], perms[p][k]
			if viaState {
				enc := parts[p].AppendState(nil, sg)
				if err := merged.MergeState(dst, enc); err != nil {
					t.Fatalf("MergeState: %v", err)
				}
			} else if err := merged.Merge(dst, parts[p], sg); err != nil {
				t.Fatalf("Merge: %v", err)
			}
		}
	}
	compare(t, fmt.Sprintf("%d partial Groups merged", nparts), cs, results(t, mem, cs, merged, mergedPerm), want)

	// A damaged state is an error, not a wrong result.
	enc := merged.AppendState(nil, uint32(r.IntN(keys)))
	for _, bad := range [][]byte{enc[:len(enc)-1], append(enc, 0)} {
		spare := newGroups()
		if err := spare.MergeState(0, bad); err == nil {
			t.Fatalf("MergeState of a state of %d bytes, damaged to %d, succeeded", len(enc), len(bad))
		}
	}

	// Reset keeps memory for reuse and must forget everything.
	whole.Reset()
	if whole.Len() != 0 {
		t.Fatalf("Reset left %d groups", whole.Len())
	}
	whole.Grow(keys)
	for _, rows := range batches {
		rec := record(mem, in, rows, 0)
		gs := make([]uint32, len(rows))
		for i, rw := range rows {
			gs[i] = wholePerm[rw.key]
		}
		if err := whole.Update(rec, gs, nil); err != nil {
			t.Fatal(err)
		}
		rec.Release()
	}
	compare(t, "one Groups after Reset", cs, results(t, mem, cs, whole, wholePerm), want)
}

// TestMergeSelf merges groups of one Groups into other groups of the same
// Groups (a session window absorbing another keeps both in one table):
// group a+b must hold both groups' rows.
func TestMergeSelf(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for ti, in := range inTypes {
		r := rand.New(rand.NewPCG(uint64(ti), 3))
		cs := callsFor(in)
		schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: in.Arrow(), Nullable: true}, {Name: "f", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, nil)
		calls, err := agg.Bind(jobCalls(cs), schema, nil)
		if err != nil {
			t.Fatal(err)
		}
		g, err := calls.NewGroups()
		if err != nil {
			t.Fatal(err)
		}
		const keys = 6
		g.Grow(keys)
		rows := make([]row, 400)
		for i := range rows {
			rows[i] = row{key: r.IntN(keys), f: r.IntN(3)}
			if r.IntN(4) > 0 {
				rows[i].v = value(r, in)
			}
		}
		rec := record(mem, in, rows, 0)
		gs := make([]uint32, len(rows))
		for i, rw := range rows {
			gs[i] = uint32(rw.key)
		}
		if err := g.Update(rec, gs, nil); err != nil {
			t.Fatal(err)
		}
		rec.Release()
		// Fold key 2k+1 into key 2k.
		for k := 0; k < keys; k += 2 {
			if err := g.Merge(uint32(k), g, uint32(k+1)); err != nil {
				t.Fatal(err)
			}
		}
		folded := make([]row, len(rows))
		for i, rw := range rows {
			folded[i] = rw
			folded[i].key = rw.key &^ 1
		}
		want := reference(cs, in, keys, folded)
		got := results(t, mem, cs, g, []uint32{0, 1, 2, 3, 4, 5})
		for i := range cs { // odd keys are unchanged; compare even ones
			for k := 1; k < keys; k += 2 {
				got[i][k], want[i][k] = "", ""
			}
		}
		compare(t, in.String()+": merged into itself", cs, got, want)
	}
}
