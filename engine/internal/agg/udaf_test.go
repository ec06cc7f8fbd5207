package agg_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/agg"
	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// wsum is a user-defined aggregate: wsum(x BIGINT, w INT) is the sum of
// x*w over the rows where both are non-NULL, NULL when there are none.
// fault makes its accumulators misbehave.
type wsum struct {
	name  string
	fault string
}

func (f *wsum) Name() string { return f.name }

func (f *wsum) ResultType(args []types.Type) (types.Type, error) {
	if len(args) != 2 || args[0].Kind != types.BigInt || args[1].Kind != types.Int {
		return types.Type{}, fmt.Errorf("takes (BIGINT, INT), got %v", args)
	}
	if f.fault == "result type" {
		return types.IntType, nil
	}
	return types.BigIntType, nil
}

func (f *wsum) NewAccumulator(args []types.Type) udf.Accumulator {
	if f.fault == "no accumulator" {
		return nil
	}
	return &wsumAcc{fault: f.fault}
}

type wsumAcc struct {
	fault  string
	sum, n int64
}

func (a *wsumAcc) Accumulate(args []arrow.Array, i int) error {
	if a.fault == "panic" {
		panic("boom")
	}
	if a.fault == "accumulate" {
		return errors.New("cannot accumulate")
	}
	x, w := args[0].(*array.Int64), args[1].(*array.Int32)
	if x.IsValid(i) && w.IsValid(i) {
		a.sum += x.Value(i) * int64(w.Value(i))
		a.n++
	}
	return nil
}

func (a *wsumAcc) Merge(other udf.Accumulator) error {
	o := other.(*wsumAcc)
	a.sum += o.sum
	a.n += o.n
	return nil
}

func (a *wsumAcc) Result(b array.Builder) error {
	bb := b.(*array.Int64Builder)
	switch {
	case a.fault == "two results":
		bb.AppendValues([]int64{1, 2}, nil)
	case a.n == 0:
		bb.AppendNull()
	default:
		bb.Append(a.sum)
	}
	return nil
}

func (a *wsumAcc) MarshalBinary() ([]byte, error) {
	if a.fault == "marshal" {
		return nil, errors.New("cannot marshal")
	}
	b := binary.LittleEndian.AppendUint64(nil, uint64(a.sum))
	return binary.LittleEndian.AppendUint64(b, uint64(a.n)), nil
}

func (a *wsumAcc) UnmarshalBinary(data []byte) error {
	if len(data) != 16 {
		return fmt.Errorf("state of %d bytes, want 16", len(data))
	}
	a.sum, a.n = int64(binary.LittleEndian.Uint64(data)), int64(binary.LittleEndian.Uint64(data[8:]))
	return nil
}

// upper is a user-defined scalar function, to be found where an aggregate
// is wanted.
type upper struct{}

func (upper) Name() string { return "upper_udf" }
func (upper) ResultType(args []types.Type) (types.Type, error) {
	return types.StringType, nil
}
func (upper) Eval(ctx context.Context, args []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error) {
	return nil, errors.New("not called")
}

// udafSchema is (w INT, x BIGINT, f BOOLEAN): the arguments of wsum(x, w)
// are not in order.
var udafSchema = arrow.NewSchema([]arrow.Field{
	{Name: "w", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
	{Name: "x", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "f", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

func wsumCall(name string, filter bool) jobgraph.AggCall {
	c := jobgraph.AggCall{Func: jobgraph.UDAF, UDF: name, Arg: 1, Args: []int{1, 0}, Type: types.BigIntType, Name: name}
	if filter {
		f := 2
		c.Filter = &f
	}
	return c
}

func registry(t *testing.T, fs ...udf.Function) *udf.Registry {
	t.Helper()
	reg := udf.NewRegistry()
	for _, f := range fs {
		if err := reg.Register(f); err != nil {
			t.Fatal(err)
		}
	}
	return reg
}

type udafRow struct {
	key  int
	x, w *int64
	f    int
}

func udafRecord(mem memory.Allocator, rows []udafRow) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, udafSchema)
	defer b.Release()
	for _, r := range rows {
		if r.w == nil {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int32Builder).Append(int32(*r.w))
		}
		if r.x == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.Int64Builder).Append(*r.x)
		}
		if r.f == 0 {
			b.Field(2).AppendNull()
		} else {
			b.Field(2).(*array.BooleanBuilder).Append(r.f == 2)
		}
	}
	return b.NewRecordBatch()
}

// TestUDAF runs wsum, with and without FILTER, over random rows split over
// partial Groups merged directly and through state, against a row-at-a-time
// reference.
func TestUDAF(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	reg := registry(t, &wsum{name: "WSum"})
	calls, err := agg.Bind([]jobgraph.AggCall{wsumCall("wsum", false), wsumCall("wsum", true)}, udafSchema, reg)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(4, 4))
	const keys = 9
	num := func() *int64 {
		if r.IntN(6) == 0 {
			return nil
		}
		v := int64(r.IntN(2000) - 1000)
		return &v
	}
	newGroups := func() *agg.Groups {
		g, err := calls.NewGroups()
		if err != nil {
			t.Fatal(err)
		}
		g.Grow(keys)
		return g
	}
	whole, parts := newGroups(), []*agg.Groups{newGroups(), newGroups()}
	var sums [2][keys]int64
	var ns [2][keys]int
	for batch := 0; batch < 6; batch++ {
		rows := make([]udafRow, r.IntN(300))
		gs := make([]uint32, len(rows))
		var sels [2][]int32
		var pgs [2][]uint32
		for i := range rows {
			rows[i] = udafRow{key: r.IntN(keys), x: num(), w: num(), f: r.IntN(3)}
			gs[i] = uint32(rows[i].key)
			p := r.IntN(2)
			sels[p], pgs[p] = append(sels[p], int32(i)), append(pgs[p], gs[i])
			if rw := rows[i]; rw.x != nil && rw.w != nil {
				v := *rw.x * int64(int32(*rw.w))
				sums[0][rw.key] += v
				ns[0][rw.key]++
				if rw.f == 2 {
					sums[1][rw.key] += v
					ns[1][rw.key]++
				}
			}
		}
		rec := udafRecord(mem, rows)
		if err := whole.Update(rec, gs, nil); err != nil {
			t.Fatal(err)
		}
		for p := range parts {
			if sels[p] != nil {
				if err := parts[p].Update(rec, pgs[p], sels[p]); err != nil {
					t.Fatal(err)
				}
			}
		}
		rec.Release()
	}
	merged := newGroups()
	for k := uint32(0); k < keys; k++ {
		if err := merged.Merge(k, parts[0], k); err != nil {
			t.Fatal(err)
		}
		if err := merged.MergeState(k, parts[1].AppendState(nil, k)); err != nil {
			t.Fatal(err)
		}
	}
	for label, g := range map[string]*agg.Groups{"whole": whole, "merged": merged} {
		bs := []array.Builder{array.NewInt64Builder(mem), array.NewInt64Builder(mem)}
		if err := g.Build(bs); err != nil {
			t.Fatal(err)
		}
		for c, b := range bs {
			arr := b.NewArray()
			b.Release()
			for k := 0; k < keys; k++ {
				want := "null"
				if ns[c][k] > 0 {
					want = strconv.FormatInt(sums[c][k], 10)
				}
				if got := optest.RenderValue(arr, k); got != want {
					t.Errorf("%s: call %d key %d = %s, want %s", label, c, k, got, want)
				}
			}
			arr.Release()
		}
	}
}

// TestUDAFFaults checks that a misbehaving user-defined aggregate gives an
// error naming it, and never a panic.
func TestUDAFFaults(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, tc := range []struct{ fault, want string }{
		{"panic", `"wsum" panicked in Accumulate: boom`},
		{"accumulate", "cannot accumulate"},
		{"no accumulator", "returned no accumulator"},
		{"two results", "Result appended 2 values, want 1"},
		{"marshal", "cannot marshal"},
	} {
		calls, err := agg.Bind([]jobgraph.AggCall{wsumCall("wsum", false)}, udafSchema, registry(t, &wsum{name: "wsum", fault: tc.fault}))
		if err != nil {
			t.Fatal(err)
		}
		g, err := calls.NewGroups()
		if err != nil {
			t.Fatal(err)
		}
		g.Grow(1)
		one := int64(1)
		rec := udafRecord(mem, []udafRow{{x: &one, w: &one}})
		err = g.Update(rec, []uint32{0}, nil)
		rec.Release()
		if err == nil {
			g.AppendState(nil, 0)
			b := array.NewInt64Builder(mem)
			err = g.Build([]array.Builder{b})
			b.Release()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.fault, err, tc.want)
		}
	}
}

// TestBindErrors checks Bind's messages for calls it cannot run.
func TestBindErrors(t *testing.T) {
	reg := registry(t, &wsum{name: "wsum"}, &wsum{name: "wint", fault: "result type"}, upper{})
	bad := func(c jobgraph.AggCall, mutate func(*jobgraph.AggCall)) jobgraph.AggCall {
		mutate(&c)
		return c
	}
	x := jobgraph.AggCall{Func: jobgraph.Count, Arg: 1, Type: types.BigIntType, Name: "c"}
	for _, tc := range []struct {
		call jobgraph.AggCall
		want string
	}{
		{wsumCall("nope", false), `user-defined aggregate "nope" is not registered (registered functions: [upper_udf wint wsum])`},
		{wsumCall("upper_udf", false), `"upper_udf" is agg_test.upper, not an aggregate function`},
		{wsumCall("wint", false), `"wint" over [BIGINT INT] returns INT, but the plan expects BIGINT`},
		{bad(wsumCall("wsum", false), func(c *jobgraph.AggCall) { c.Args, c.Arg = []int{1}, 1 }), `"wsum" over [BIGINT]: takes (BIGINT, INT)`},
		{bad(wsumCall("wsum", false), func(c *jobgraph.AggCall) { c.Args = []int{1, 7} }), "argument 2 column 7 is out of range: input has 3 columns"},
		{bad(wsumCall("wsum", false), func(c *jobgraph.AggCall) { c.Arg = 0 }), "argument column 0 is not the first of its argument columns [1 0]"},
		{bad(wsumCall("wsum", false), func(c *jobgraph.AggCall) { c.Distinct = true }), `DISTINCT is not supported for user-defined aggregate "wsum"`},
		{bad(wsumCall("wsum", false), func(c *jobgraph.AggCall) { c.UDF = "" }), "names no function"},
		{bad(x, func(c *jobgraph.AggCall) { c.Func, c.Arg, c.Distinct = jobgraph.CountStar, -1, true }), "COUNT(*) takes no DISTINCT"},
		{bad(x, func(c *jobgraph.AggCall) { c.Func, c.Distinct = jobgraph.LastValue, true }), "last_value does not support DISTINCT"},
		{bad(x, func(c *jobgraph.AggCall) { c.Func, c.Type = jobgraph.FirstValue, types.IntType }), "first_value over int64 giving INT is not supported"},
		{bad(x, func(c *jobgraph.AggCall) { c.Func, c.Type = jobgraph.ApproxCountDistinct, types.IntType }), "approx_count_distinct over int64 giving INT is not supported"},
		{bad(x, func(c *jobgraph.AggCall) { c.Func, c.Type = jobgraph.Sum, types.Type{Kind: 99} }), "unknown result type"},
		{bad(x, func(c *jobgraph.AggCall) { c.Args = []int{1, 0} }), "count takes one argument, got columns [1 0]"},
		{bad(x, func(c *jobgraph.AggCall) { f := 1; c.Filter = &f }), "FILTER column 1 is int64, want BOOLEAN"},
	} {
		_, err := agg.Bind([]jobgraph.AggCall{tc.call}, udafSchema, reg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want an error containing %q", tc.call, err, tc.want)
		}
	}
	if _, err := agg.Bind([]jobgraph.AggCall{wsumCall("wsum", false)}, udafSchema, nil); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("no registry: got %v", err)
	}
	if _, err := agg.New(wsumCall("wsum", false), arrow.PrimitiveTypes.Int64); err == nil || !strings.Contains(err.Error(), "needs the job's function registry") {
		t.Errorf("New of a UDAF: got %v", err)
	}
}

// typesSeen is a user-defined aggregate that records the argument types it
// is checked with.
type typesSeen struct{ seen []types.Type }

func (f *typesSeen) Name() string { return "types_seen" }
func (f *typesSeen) ResultType(args []types.Type) (types.Type, error) {
	f.seen = args
	return types.BigIntType, nil
}
func (f *typesSeen) NewAccumulator(args []types.Type) udf.Accumulator { return &wsumAcc{} }

// TestUDAFArgumentTypes checks the argument types a user-defined aggregate
// is told for every column type.
func TestUDAFArgumentTypes(t *testing.T) {
	for _, in := range inTypes {
		f := &typesSeen{}
		schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: in.Arrow(), Nullable: true}}, nil)
		call := jobgraph.AggCall{Func: jobgraph.UDAF, UDF: "types_seen", Arg: 0, Type: types.BigIntType}
		if _, err := agg.Bind([]jobgraph.AggCall{call}, schema, registry(t, f)); err != nil {
			t.Fatal(err)
		}
		if len(f.seen) != 1 || f.seen[0] != in {
			t.Errorf("%s: the function saw %v", in, f.seen)
		}
	}
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int8}}, nil)
	call := jobgraph.AggCall{Func: jobgraph.UDAF, UDF: "types_seen", Arg: 0, Type: types.BigIntType}
	if _, err := agg.Bind([]jobgraph.AggCall{call}, schema, registry(t, &typesSeen{})); err == nil || !strings.Contains(err.Error(), "no SQL type carries Arrow int8") {
		t.Errorf("int8 argument: got %v", err)
	}
}
