package nexmark

import (
	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
)

func tableOf(table string, cols []types.Field, opts map[string]string) connectors.TableInfo {
	o := map[string]string{"connector": "nexmark", "table": table}
	for k, v := range opts {
		o[k] = v
	}
	return connectors.TableInfo{Name: "t_" + table, Schema: types.Schema{Fields: cols}, Options: o}
}
