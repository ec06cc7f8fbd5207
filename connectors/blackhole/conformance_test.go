package blackhole_test

import (
	"testing"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/blackhole"
	"github.com/eddy-streaming/eddy/connectors/connectortest"
)

// TestConformance runs the conformance suite over the blackhole sink, with
// inserts and with an upsert changelog: it takes no options, accepts every
// type and updating input, and its jobs succeed through failures and
// restores (there is no output to read back).
func TestConformance(t *testing.T) {
	for _, mode := range []string{"", "upsert"} {
		t.Run("changelog="+mode, func(t *testing.T) {
			connectortest.RunSink(t, connectortest.SinkHarness{
				Factory:   blackhole.New(),
				Changelog: mode,
				NewTable: func(t testing.TB) connectors.TableInfo {
					return connectors.TableInfo{Name: "void", Schema: connectortest.AllTypesSchema(), PrimaryKey: []int{0},
						Options: map[string]string{"connector": "blackhole"}}
				},
			})
		})
	}
}
