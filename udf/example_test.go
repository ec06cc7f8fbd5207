package udf_test

import (
	"fmt"
	"strings"

	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/udf"
)

// A scalar function from a plain Go function; NULL in gives NULL out.
func ExampleScalarFunc2() {
	countChar := udf.ScalarFunc2("count_char", func(s, c string) int64 { return int64(strings.Count(s, c)) })
	reg := udf.NewRegistry()
	if err := reg.Register(countChar); err != nil {
		fmt.Println(err)
	}
	t, err := countChar.ResultType([]types.Type{types.StringType, types.StringType})
	fmt.Println(t, err)
	// Output: BIGINT <nil>
}

// An aggregate over a Go state; S is saved with encoding/gob.
func ExampleAggregateFunc1() {
	type state struct{ Sum, N int64 }
	avg := udf.AggregateFunc1("int_avg", udf.Agg1[state, int64, udf.Nullable[int64]]{
		Add:   func(s *state, x int64) { s.Sum += x; s.N++ },
		Merge: func(s, o *state) { s.Sum += o.Sum; s.N += o.N },
		Result: func(s *state) udf.Nullable[int64] {
			if s.N == 0 {
				return udf.Null[int64]()
			}
			return udf.Value(s.Sum / s.N)
		},
	})
	fmt.Println(udf.NewRegistry().Register(avg))
	// Output: <nil>
}

// A table function whose rows are structs: one column per field.
func ExampleTableFunc1() {
	type kv struct {
		Key   string `udf:"k"`
		Value string `udf:"v"`
	}
	pairs := udf.TableFunc1("pairs", func(s string) []kv {
		var out []kv
		for _, p := range strings.Split(s, "&") {
			k, v, _ := strings.Cut(p, "=")
			out = append(out, kv{k, v})
		}
		return out
	})
	schema, err := pairs.ResultSchema([]types.Type{types.StringType})
	fmt.Println(schema, err)
	// Output: (k STRING, v STRING) <nil>
}
