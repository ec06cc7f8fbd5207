package windowagg

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/operator"
)

// Leftovers describes what op still holds (buffered groups, pending
// slices, kept slices, suffixes, patches, spilled entries), or "" when it
// holds nothing: after the final watermark it must hold nothing.
func Leftovers(op operator.Operator) string {
	o, ok := op.(*Operator)
	if !ok {
		o = op.(procOperator).Operator
	}
	st, err := o.oc.State.Table(bufferConfig.Table)
	if err != nil {
		return err.Error()
	}
	spilled := 0
	if err := st.Scan(nil, nil, func(k, v []byte) error { spilled++; return nil }); err != nil {
		return err.Error()
	}
	sh := &o.sh
	if o.buf.Buffered() == 0 && len(o.pending) == 0 && len(sh.stored) == 0 && len(sh.snaps) == 0 && len(sh.patches) == 0 && spilled == 0 {
		return ""
	}
	return fmt.Sprintf("%d buffered groups, %d pending slices, %d kept slices, %d suffixes, %d patches, %d spilled entries",
		o.buf.Buffered(), len(o.pending), len(sh.stored), len(sh.snaps), len(sh.patches), spilled)
}
