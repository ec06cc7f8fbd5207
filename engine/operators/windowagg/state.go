package windowagg

import (
	"fmt"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
)

// The winbuf.Window methods of slice: a group's state is each aggregate's
// encoded state (agg.Accumulator.AppendState), in call order.

// Groups implements winbuf.Window.
func (s *slice) Groups() *hashtable.Table { return s.table }

// Size implements winbuf.Window: the slice's number of groups.
func (s *slice) Size() int { return s.table.Len() }

// AppendState implements winbuf.Window.
func (s *slice) AppendState(dst []byte, g uint32) []byte {
	for _, a := range s.accs {
		dst = a.AppendState(dst, g)
	}
	return dst
}

// MergeState implements winbuf.Window.
func (s *slice) MergeState(g uint32, v []byte) error {
	n := s.table.Len()
	for i, a := range s.accs {
		a.Grow(n)
		var err error
		if v, err = a.MergeState(g, v); err != nil {
			return fmt.Errorf("aggregate %d: %w", i, err)
		}
	}
	if len(v) != 0 {
		return fmt.Errorf("%d trailing bytes", len(v))
	}
	return nil
}

// Reset implements winbuf.Window.
func (s *slice) Reset() {
	s.table.Reset(64)
	for _, a := range s.accs {
		a.Reset()
	}
}
