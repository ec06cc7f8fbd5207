package expr

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// benchText is a column of live-room style comments (about 40 bytes, some
// with #topics# and commas) and a column of timestamps, 4096 rows.
func benchText() (cols []arrow.Array, schema types.Schema) {
	r := rand.New(rand.NewPCG(3, 4))
	words := []string{"666", "lol", "gg", "wow", "love", "this", "so", "good", "haha", "nice", "#dance#", "#music#", "brazil", "amazing", "é", "🙂"}
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	tb := array.NewTimestampBuilder(memory.DefaultAllocator, arrow.FixedWidthTypes.Timestamp_ms.(*arrow.TimestampType))
	for i := 0; i < benchRows; i++ {
		var parts []string
		for k := 2 + r.IntN(8); k > 0; k-- {
			parts = append(parts, words[r.IntN(len(words))])
		}
		sep := " "
		if r.IntN(2) == 0 {
			sep = ","
		}
		sb.Append(strings.Join(parts, sep))
		tb.Append(arrow.Timestamp(1_700_000_000_000 + r.Int64N(1e10)))
	}
	cols = []arrow.Array{sb.NewArray(), tb.NewArray()}
	return cols, types.Schema{Fields: []types.Field{{Name: "s", Type: types.StringType}, {Name: "ts", Type: types.TimestampType}}}
}

func benchFunction(b *testing.B, e *Expr) {
	cols, schema := benchText()
	ev, err := Compile(e, schema)
	if err != nil {
		b.Fatal(err)
	}
	ctx := b.Context()
	mem := memory.NewGoAllocator()
	perCPU(b, benchRows, func() error {
		out, err := ev.EvalColumns(ctx, cols, benchRows, mem)
		if err != nil {
			return err
		}
		out.Release()
		return nil
	})
}

func BenchmarkLike(b *testing.B) {
	s := Col(0, types.StringType)
	for _, pat := range []string{"%#dance#%", "lol%", "%wow_love%", "%a%b%c%"} {
		b.Run(fmt.Sprintf("pattern=%s", pat), func(b *testing.B) {
			benchFunction(b, Call(FuncLike, types.BooleanType, s, Lit(pat, types.StringType), Lit(`\`, types.StringType)))
		})
	}
}

func BenchmarkRegexpExtract(b *testing.B) {
	s := Col(0, types.StringType)
	for _, c := range []struct{ pat, group string }{{`#([a-z]+)#`, "1"}, {`[0-9]+`, "0"}} {
		b.Run(fmt.Sprintf("pattern=%s", c.pat), func(b *testing.B) {
			benchFunction(b, Call(FuncRegexpExtract, types.StringType, s, Lit(c.pat, types.StringType), Lit(c.group, types.IntType)))
		})
	}
}

func BenchmarkDateFormat(b *testing.B) {
	ts := Col(1, types.TimestampType)
	for _, f := range []string{"yyyy-MM-dd HH:mm", "EEE, d MMM yyyy HH:mm:ss.SSS"} {
		b.Run(fmt.Sprintf("format=%s", f), func(b *testing.B) {
			benchFunction(b, Call(FuncDateFormat, types.StringType, ts, Lit(f, types.StringType)))
		})
	}
}

func BenchmarkSplitIndex(b *testing.B) {
	s := Col(0, types.StringType)
	for _, idx := range []string{"0", "3"} {
		b.Run("index="+idx, func(b *testing.B) {
			benchFunction(b, Call(FuncSplitIndex, types.StringType, s, Lit(",", types.StringType), Lit(idx, types.IntType)))
		})
	}
}
