package groupagg

import "github.com/eddy-streaming/eddy/engine/operator"

// CachedGroups is the number of groups op holds in memory (live or not).
func CachedGroups(op operator.Operator) int {
	switch o := op.(type) {
	case *Operator:
		return o.table.Len()
	case procOperator:
		return o.table.Len()
	}
	panic("not a group aggregate")
}
