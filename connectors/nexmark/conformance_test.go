package nexmark_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/connectortest"
	"github.com/eddy-streaming/eddy/connectors/nexmark"
	"github.com/eddy-streaming/eddy/engine/types"
)

// TestConformance runs the connector conformance suite over the three
// Nexmark tables (bounded by 'events.num'). The reference is an
// uninterrupted read by one reader: events are deterministic per index,
// so every parallelism, projection, failure and restore must give the same
// multiset.
func TestConformance(t *testing.T) {
	for i, table := range nexmark.TableNames {
		t.Run(table, func(t *testing.T) {
			connectortest.RunSource(t, connectortest.SourceHarness{
				Factory: nexmark.New(),
				Seed:    uint64(200 + i),
				// Event times depend on the number of generators, as upstream.
				ParallelismDependent: true,
				NewTable: func(t testing.TB, r *rand.Rand) connectortest.SourceTable {
					// Persons are 1 in 50 events, auctions 3: read
					// enough of them.
					events := 3000 + r.IntN(2000)
					switch table {
					case nexmark.Person:
						events *= 25
					case nexmark.Auction:
						events *= 8
					}
					return connectortest.SourceTable{Info: connectors.TableInfo{
						Name:   "t_" + table,
						Schema: types.Schema{Fields: nexmark.Columns(table)},
						Options: map[string]string{
							"connector": "nexmark", "table": table,
							"events.num": strconv.Itoa(events),
							"seed":       strconv.FormatInt(r.Int64N(1000), 10),
						},
					}}
				},
			})
		})
	}
}
