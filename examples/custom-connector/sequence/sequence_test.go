package sequence_test

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/connectortest"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/examples/custom-connector/sequence"
)

var allColumns = []types.Field{
	{Name: "seq", Type: types.BigIntType},
	{Name: "ts", Type: types.TimestampType},
	{Name: "parity", Type: types.StringType},
}

// table returns a random sequence table and its rows, computed one value
// at a time.
func table(r *rand.Rand) connectortest.SourceTable {
	cols := append([]types.Field(nil), allColumns...)
	r.Shuffle(len(cols), func(i, j int) { cols[i], cols[j] = cols[j], cols[i] })
	cols = cols[:1+r.IntN(len(cols))]
	start := r.Int64N(2000) - 1000
	end := start + 2000 + r.Int64N(3000)
	splits := 1 + r.IntN(12)
	stepMs := r.Int64N(3000)
	const t0 = 1_767_225_600_000 // 2026-01-01 00:00:00
	schema := types.Schema{Fields: cols}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), schema.Arrow())
	defer b.Release()
	for v := start; v < end; v++ {
		for c, f := range cols {
			switch f.Name {
			case "seq":
				b.Field(c).(*array.Int64Builder).Append(v)
			case "ts":
				b.Field(c).(*array.TimestampBuilder).Append(arrow.Timestamp(t0 + (v-start)*stepMs))
			case "parity":
				p := "odd"
				if v%2 == 0 {
					p = "even"
				}
				b.Field(c).(*array.StringBuilder).Append(p)
			}
		}
	}
	return connectortest.SourceTable{
		Info: connectors.TableInfo{Name: "numbers", Schema: schema, Options: map[string]string{
			"connector": "sequence", "start": strconv.FormatInt(start, 10), "end": strconv.FormatInt(end, 10),
			"splits": strconv.Itoa(splits), "event-time.step": strconv.FormatInt(stepMs, 10) + " ms",
		}},
		Want: []stream.Batch{{Record: b.NewRecordBatch()}},
	}
}

// TestConformance runs Eddy's connector conformance suite: options,
// schemas, the split contract driven directly through a restore onto
// another number of readers, and exactly-once jobs through the runtime.
func TestConformance(t *testing.T) {
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
			connectortest.RunSource(t, connectortest.SourceHarness{
				Factory:  sequence.New(),
				Seed:     seed,
				NewTable: func(t testing.TB, r *rand.Rand) connectortest.SourceTable { return table(r) },
			})
		})
	}
}

// TestTableErrors checks that CREATE TABLE mistakes name the column or
// option.
func TestTableErrors(t *testing.T) {
	f := sequence.New()
	for _, c := range []struct {
		cols []types.Field
		opts map[string]string
		want string
	}{
		{[]types.Field{{Name: "nope", Type: types.BigIntType}}, nil, "column 'nope'"},
		{[]types.Field{{Name: "seq", Type: types.IntType}}, nil, "column 'seq' is declared INT"},
		{[]types.Field{{Name: "ts", Type: types.StringType}}, nil, "column 'ts'"},
		{allColumns, map[string]string{"start": "10", "end": "5"}, "option 'end'"},
		{allColumns, map[string]string{"splits": "0"}, "option 'splits'"},
		{allColumns, map[string]string{"event-time.start": "yesterday"}, "option 'event-time.start'"},
		{allColumns, map[string]string{"event-time.step": "-1 s"}, "option 'event-time.step'"},
		{allColumns, map[string]string{"rows-per-second": "-2"}, "option 'rows-per-second'"},
		{nil, nil, "declares no columns"},
	} {
		err := f.ValidateTable(connectors.TableInfo{Name: "t", Schema: types.Schema{Fields: c.cols}, Options: c.opts})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("columns %v, options %v: error %v, want one containing %q", c.cols, c.opts, err, c.want)
		}
	}
}
