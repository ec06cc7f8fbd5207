package windowtopn_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/internal/optest"
	"github.com/eddy-streaming/eddy/engine/jobgraph"
	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/engine/operators/windowtopn"
	"github.com/eddy-streaming/eddy/engine/types"
)

// aggBatches makes what the flagship's window aggregate emits: per 1-minute
// window, one row per (room, gift) with its total, in 4096-row batches.
func aggBatches(mem memory.Allocator, windows, rooms, gifts int) (recs []arrow.RecordBatch, fireAfter map[int]int64) {
	schema := flagshipSchema(false).Arrow()
	r := rand.New(rand.NewPCG(3, 4))
	fireAfter = map[int]int64{}
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	flush := func() {
		if b.Field(0).Len() > 0 {
			recs = append(recs, b.NewRecordBatch())
		}
	}
	for w := 0; w < windows; w++ {
		start := int64(1_767_225_600_000 + w*60_000)
		for room := 0; room < rooms; room++ {
			for gift := 0; gift < gifts; gift++ {
				b.Field(0).(*array.Int64Builder).Append(int64(room))
				b.Field(1).(*array.Int32Builder).Append(int32(gift))
				b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(start))
				b.Field(3).(*array.TimestampBuilder).Append(arrow.Timestamp(start + 60_000))
				b.Field(4).(*array.Int64Builder).Append(int64(r.IntN(100_000)))
				if b.Field(0).Len() == 4096 {
					flush()
				}
			}
		}
		flush()
		fireAfter[len(recs)-1] = start + 60_000 - 1
	}
	return recs, fireAfter
}

func flagshipSchema(rank bool) types.Schema {
	s := types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.BigIntType}, {Name: "gift_id", Type: types.IntType},
		{Name: "window_start", Type: types.TimestampType}, {Name: "window_end", Type: types.TimestampType},
		{Name: "total_amount", Type: types.BigIntType},
	}}
	if rank {
		s.Fields = append(s.Fields, types.Field{Name: "rn", Type: types.Type{Kind: types.BigInt, NotNull: true}})
	}
	return s
}

// BenchmarkWindowTopN ranks the flagship's aggregate output: top 3 gifts
// per room and window by total DESC, gift ASC.
func BenchmarkWindowTopN(b *testing.B) {
	const windows, gifts = 10, 100
	spec := &jobgraph.OperatorSpec{ID: "topn", Output: flagshipSchema(true), WindowTopN: &jobgraph.WindowTopNSpec{
		WindowStart: 2, WindowEnd: 3, PartitionKeys: []int{2, 3, 0},
		OrderBy: []jobgraph.SortKey{{Column: 4, Desc: true}, {Column: 1, NullsFirst: true}},
		N:       3, EmitRank: true}}
	for _, rooms := range []int{10, 1000} {
		for _, limit := range []int{0, 1000} {
			b.Run(optest.BenchName("partitions", rooms, limit), func(b *testing.B) {
				recs, fireAfter := aggBatches(memory.DefaultAllocator, windows, rooms, gifts)
				defer func() {
					for _, r := range recs {
						r.Release()
					}
				}()
				cfg := map[string]string{}
				if limit > 0 {
					cfg[windowtopn.BufferLimitOption] = strconv.Itoa(limit)
				}
				optest.BenchOperator(b, func() (operator.Operator, error) { return windowtopn.New(spec) }, cfg, recs, fireAfter)
			})
		}
	}
}
