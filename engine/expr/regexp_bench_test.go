package expr

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/types"
)

// q21Pattern is Nexmark q21's channel_id pattern.
const q21Pattern = `(&|^)channel_id=([^&]*)`

// benchBids is a 4096-row column pair like Nexmark's bids (channel, url):
// half the rows one of four hot channels, whose URLs have no channel_id;
// the rest "channel-<i>" with a URL that for 9 in 10 ends in
// "&channel_id=<n>".
func benchBids() (cols []arrow.Array, schema types.Schema) {
	r := rand.New(rand.NewPCG(5, 6))
	hot := []string{"Google", "Facebook", "Baidu", "Apple"}
	part := func() string {
		var sb strings.Builder
		for l := 3 + r.IntN(2); l > 0; l-- {
			if r.IntN(13) == 0 {
				sb.WriteByte('_')
			} else {
				sb.WriteByte(byte('a' + r.IntN(26)))
			}
		}
		return sb.String()
	}
	base := func() string {
		return "https://www.nexmark.com/" + part() + "/" + part() + "/" + part() + "/item.htm?query=1"
	}
	cb := array.NewStringBuilder(memory.DefaultAllocator)
	ub := array.NewStringBuilder(memory.DefaultAllocator)
	for i := 0; i < benchRows; i++ {
		if r.IntN(2) == 0 {
			cb.Append(hot[r.IntN(len(hot))])
			ub.Append(base())
			continue
		}
		c := r.IntN(10_000)
		cb.Append("channel-" + strconv.Itoa(c))
		u := base()
		if r.IntN(10) > 0 {
			u += "&channel_id=" + strconv.Itoa(int(r.Int32()))
		}
		ub.Append(u)
	}
	cols = []arrow.Array{cb.NewArray(), ub.NewArray()}
	return cols, types.Schema{Fields: []types.Field{{Name: "channel", Type: types.StringType}, {Name: "url", Type: types.StringType}}}
}

// q21Exprs returns q21's projection (the CASE) and filter over benchBids'
// schema.
func q21Exprs() (project, filter *Expr) {
	str := types.StringType
	channel, url := Col(0, str), Col(1, str)
	lower := Call(FuncLower, str, channel)
	extract := func() *Expr {
		return Call(FuncRegexpExtract, str, url, Lit(q21Pattern, str), Lit("2", types.IntType))
	}
	eq := func(s string) *Expr { return Call(FuncEq, types.BooleanType, lower, Lit(s, str)) }
	project = Call(FuncCase, str,
		eq("apple"), Lit("0", str),
		eq("google"), Lit("1", str),
		eq("facebook"), Lit("2", str),
		eq("baidu"), Lit("3", str),
		extract())
	in := Call(FuncOr, types.BooleanType,
		Call(FuncOr, types.BooleanType, eq("apple"), eq("google")),
		Call(FuncOr, types.BooleanType, eq("facebook"), eq("baidu")))
	filter = Call(FuncOr, types.BooleanType, Call(FuncIsNotNull, types.BooleanType, extract()), in)
	return project, filter
}

// BenchmarkQ21 measures Nexmark q21's expressions on q21-like bids: the
// REGEXP_EXTRACT alone (and REGEXP with the same pattern), the CASE of the
// projection and the WHERE predicate.
func BenchmarkQ21(b *testing.B) {
	cols, schema := benchBids()
	str := types.StringType
	url := Col(1, str)
	project, filter := q21Exprs()
	for _, c := range []struct {
		name string
		e    *Expr
	}{
		{"regexp_extract", Call(FuncRegexpExtract, str, url, Lit(q21Pattern, str), Lit("2", types.IntType))},
		{"regexp", Call(FuncRegexp, types.BooleanType, url, Lit(q21Pattern, str))},
		{"case", project},
		{"where", filter},
	} {
		b.Run(c.name, func(b *testing.B) {
			ev, err := Compile(c.e, schema)
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
		})
	}
}
