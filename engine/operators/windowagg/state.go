package windowagg

import "github.com/eddy-streaming/eddy/engine/internal/hashtable"

// The winbuf.Window methods of slice: a group's state is each aggregate's
// encoded state (agg.Groups.AppendState), in call order.

// Groups implements winbuf.Window.
func (s *slice) Groups() *hashtable.Table { return s.table }

// Size implements winbuf.Window: the slice's number of groups.
func (s *slice) Size() int { return s.table.Len() }

// AppendState implements winbuf.Window.
func (s *slice) AppendState(dst []byte, g uint32) []byte { return s.accs.AppendState(dst, g) }

// MergeState implements winbuf.Window.
func (s *slice) MergeState(g uint32, v []byte) error {
	s.accs.Grow(s.table.Len())
	return s.accs.MergeState(g, v)
}

// Reset implements winbuf.Window.
func (s *slice) Reset() {
	s.table.Reset(64)
	s.accs.Reset()
}
