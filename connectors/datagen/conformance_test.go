package datagen_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/connectortest"
	"github.com/eddy-streaming/eddy/connectors/datagen"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestConformance runs the connector conformance suite over every
// generated stream (the fixed gift catalogue is too small to fail a job
// mid-read). The reference is an uninterrupted read by one reader: the
// rows are deterministic per row index, so every parallelism, failure and
// restore must give the same multiset.
func TestConformance(t *testing.T) {
	for i, stream := range []string{datagen.Gifts, datagen.Comments, datagen.Likes, datagen.RoomEvents} {
		t.Run(stream, func(t *testing.T) {
			connectortest.RunSource(t, connectortest.SourceHarness{
				Factory: datagen.New(),
				Seed:    uint64(100 + i),
				NewTable: func(t testing.TB, r *rand.Rand) connectortest.SourceTable {
					return connectortest.SourceTable{Info: connectors.TableInfo{
						Name:   "t_" + stream,
						Schema: types.Schema{Fields: datagen.StreamColumns(stream)},
						Options: map[string]string{
							"connector": "datagen", "stream": stream,
							"number-of-rows":       strconv.Itoa(2000 + r.IntN(2000)),
							"seed":                 strconv.FormatInt(r.Int64N(1000), 10),
							"max-out-of-orderness": "2 s",
						},
					}}
				},
			})
		})
	}
}
