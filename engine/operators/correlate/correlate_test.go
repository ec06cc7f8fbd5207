package correlate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/expr"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

type part struct {
	Word string `udf:"word"`
	Pos  int32  `udf:"pos"`
}

// collect renders every emitted row as text, with its row kind.
type collect struct{ rows []string }

func (c *collect) Emit(ctx context.Context, b stream.Batch) error {
	defer b.Release()
	rec := b.Record
	for i := 0; i < int(rec.NumRows()); i++ {
		cells := make([]string, rec.NumCols())
		for k := range cells {
			if rec.Column(k).IsNull(i) {
				cells[k] = "NULL"
			} else {
				cells[k] = rec.Column(k).ValueStr(i)
			}
		}
		kind := stream.Insert
		if b.Kinds != nil {
			kind = b.Kinds[i]
		}
		c.rows = append(c.rows, fmt.Sprintf("%v %s", kind, strings.Join(cells, "|")))
	}
	return nil
}

func TestCorrelateAgainstReference(t *testing.T) {
	reg := udf.NewRegistry()
	split := udf.TableFunc1("split", func(s string) []part {
		if s == "" {
			return nil
		}
		var out []part
		for i, w := range strings.Split(s, ",") {
			out = append(out, part{Word: w, Pos: int32(i)})
		}
		return out
	})
	if err := reg.Register(split); err != nil {
		t.Fatal(err)
	}
	for _, left := range []bool{false, true} {
		t.Run(fmt.Sprintf("left=%v", left), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			fnType := func(t types.Type) types.Type {
				if left {
					return t.Nullable()
				}
				return t
			}
			spec := &jobgraph.OperatorSpec{ID: "c", Output: types.Schema{Fields: []types.Field{
				{Name: "id", Type: types.BigIntType}, {Name: "s", Type: types.StringType},
				{Name: "word", Type: fnType(types.StringType)}, {Name: "pos", Type: fnType(types.IntType)},
			}}, Correlate: &jobgraph.CorrelateSpec{Function: "split", Args: []*expr.Expr{expr.Col(1, types.StringType)}, Left: left}}
			op, err := New(spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := op.Open(t.Context(), &operator.Context{Alloc: mem, Functions: reg}); err != nil {
				t.Fatal(err)
			}
			r := rand.New(rand.NewPCG(9, 9))
			in := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
			var want []string
			out := &collect{}
			id := int64(0)
			for batch := 0; batch < 30; batch++ {
				n := r.IntN(40)
				rb := array.NewRecordBuilder(mem, in)
				kinds := make([]stream.RowKind, n)
				for i := 0; i < n; i++ {
					id++
					kinds[i] = []stream.RowKind{stream.Insert, stream.Delete}[r.IntN(2)]
					rb.Field(0).(*array.Int64Builder).Append(id)
					var s *string
					if r.IntN(6) > 0 {
						var sb strings.Builder
						for k := r.IntN(4); k > 0; k-- {
							sb.WriteString([]string{"a", "é", ",", "bc"}[r.IntN(4)])
						}
						v := sb.String()
						s = &v
						rb.Field(1).(*array.StringBuilder).Append(v)
					} else {
						rb.Field(1).AppendNull()
					}
					// The reference, row at a time.
					sText := "NULL"
					if s != nil {
						sText = *s
					}
					matched := false
					if s != nil && *s != "" {
						for p, w := range strings.Split(*s, ",") {
							want = append(want, fmt.Sprintf("%v %d|%s|%s|%d", kinds[i], id, sText, w, p))
							matched = true
						}
					}
					if !matched && left {
						want = append(want, fmt.Sprintf("%v %d|%s|NULL|NULL", kinds[i], id, sText))
					}
				}
				rec := rb.NewRecordBatch()
				rb.Release()
				if err := op.ProcessBatch(t.Context(), 0, stream.Batch{Record: rec, Kinds: kinds}, out); err != nil {
					t.Fatal(err)
				}
				rec.Release()
			}
			if err := op.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			got := out.rows
			sort.Strings(got)
			sort.Strings(want)
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("got %d rows:\n%s\nwant %d:\n%s", len(got), strings.Join(got, "\n"), len(want), strings.Join(want, "\n"))
			}
		})
	}
}

func TestCorrelateErrors(t *testing.T) {
	reg := udf.NewRegistry()
	if err := reg.Register(udf.ScalarFunc1("scalar", func(s string) string { return s })); err != nil {
		t.Fatal(err)
	}
	spec := func(fn string) *jobgraph.OperatorSpec {
		return &jobgraph.OperatorSpec{ID: "c", Output: types.Schema{Fields: []types.Field{{Name: "s", Type: types.StringType}}},
			Correlate: &jobgraph.CorrelateSpec{Function: fn, Args: []*expr.Expr{expr.Col(0, types.StringType)}}}
	}
	for fn, want := range map[string]string{"nope": "unknown table function nope", "scalar": "scalar is not a table function"} {
		op, err := New(spec(fn))
		if err != nil {
			t.Fatal(err)
		}
		err = op.Open(t.Context(), &operator.Context{Functions: reg})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", fn, err, want)
		}
	}
}
