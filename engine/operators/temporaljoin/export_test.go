package temporaljoin

import "github.com/eddy-streaming/eddy/engine/operator"

// StateSize returns the number of versions the join keeps, the number of
// keys that have any, and the number of buffered left rows and chunks.
func StateSize(op operator.Operator) (versions, keys, pending, leftChunks int) {
	o := op.(*Operator)
	for _, vs := range o.vers {
		versions += len(vs)
		if len(vs) > 0 {
			keys++
		}
	}
	for _, c := range o.left.chunks {
		if c != nil {
			leftChunks++
		}
	}
	return versions, keys, len(o.pend), leftChunks
}

// SetCompactRows sets the compaction threshold and returns a function that
// restores it.
func SetCompactRows(n int) func() {
	old := compactRows
	compactRows = n
	return func() { compactRows = old }
}
