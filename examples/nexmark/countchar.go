package nexmark

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// CountChar is count_char(s, c), the scalar function Flink's nexmark
// registers for Q14 (com.github.nexmark.flink.udf.CountChar): how many
// bytes of s equal the first byte of c. A NULL s counts 0; the result is
// BIGINT NOT NULL. Like upstream, which fails on them, a NULL or empty c
// is an error.
type CountChar struct{}

var _ udf.Scalar = CountChar{}

// Name returns "count_char".
func (CountChar) Name() string { return "count_char" }

// ResultType accepts two strings and returns BIGINT NOT NULL.
func (CountChar) ResultType(args []types.Type) (types.Type, error) {
	if len(args) != 2 {
		return types.Type{}, fmt.Errorf("count_char takes 2 arguments (a string and a character), got %d", len(args))
	}
	for i, a := range args {
		if a.Kind != types.String && a.Kind != types.Null {
			return types.Type{}, fmt.Errorf("count_char: argument %d must be a STRING, got %s", i+1, a)
		}
	}
	t := types.BigIntType
	t.NotNull = true
	return t, nil
}

// Eval counts, a column at a time.
func (CountChar) Eval(ctx context.Context, args []arrow.Array, n int, mem memory.Allocator) (arrow.Array, error) {
	if len(args) != 2 {
		return nil, fmt.Errorf("count_char: got %d arguments, want 2", len(args))
	}
	s, ok1 := args[0].(*array.String)
	c, ok2 := args[1].(*array.String)
	nullS, nullC := args[0].DataType().ID() == arrow.NULL, args[1].DataType().ID() == arrow.NULL
	if (!ok1 && !nullS) || (!ok2 && !nullC) {
		return nil, fmt.Errorf("count_char: arguments of types %s and %s, want two strings", args[0].DataType(), args[1].DataType())
	}
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(arrow.Int64Traits.BytesRequired(n))
	out := arrow.Int64Traits.CastFromBytes(buf.Bytes())
	for i := 0; i < n; i++ {
		if nullC || c.IsNull(i) || c.ValueLen(i) == 0 {
			buf.Release()
			return nil, fmt.Errorf("count_char: the character to count (argument 2) is NULL or empty in row %d", i)
		}
		if nullS || s.IsNull(i) {
			out[i] = 0
			continue
		}
		// The first byte of c, as upstream compares bytes.
		out[i] = int64(strings.Count(s.Value(i), c.Value(i)[:1]))
	}
	data := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, buf}, nil, 0, 0)
	buf.Release()
	defer data.Release()
	return array.NewInt64Data(data), nil
}

// Functions returns a registry with the functions the queries call:
// count_char.
func Functions() *udf.Registry {
	r := udf.NewRegistry()
	// A fresh registry holds no count_char, so Register cannot fail.
	_ = r.Register(CountChar{})
	return r
}
