package checkpoint

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/eddy-streaming/eddy/state/keygroup"
)

// NoWatermark is the watermark of a subtask that has seen none (equal to
// engine/stream.MinWatermark).
const NoWatermark int64 = math.MinInt64

// HandlesFor returns the backend handles a new subtask of operator opID
// owning key groups kgs restores from: those of the old subtasks whose key
// groups overlap kgs, in subtask order (one without a rescale). Subtasks
// without a backend are left out; nil when the checkpoint has no state for
// opID.
func (m *Metadata) HandlesFor(opID string, kgs keygroup.Range) []*BackendHandle {
	var out []*BackendHandle
	for _, st := range m.subtasks(opID) {
		if st.Backend != nil && overlaps(st.KeyGroups, kgs) {
			out = append(out, st.Backend)
		}
	}
	return out
}

// Positions returns the source positions of every old subtask of operator
// opID, in subtask order, leaving out subtasks that recorded none. Every new
// reader is given all of them (connectors.RestorableSource), which is what
// makes a rescale work.
func (m *Metadata) Positions(opID string) [][]byte {
	var out [][]byte
	for _, st := range m.subtasks(opID) {
		if len(st.Position) > 0 {
			out = append(out, st.Position)
		}
	}
	return out
}

// Committables returns the prepared sink output of every old subtask of
// operator opID, in subtask order, each subtask's Pending ones (oldest
// first) before its Committable, leaving out empty ones
// (connectors.RecoverableSink commits them on restore).
func (m *Metadata) Committables(opID string) [][]byte {
	var out [][]byte
	for _, st := range m.subtasks(opID) {
		for _, c := range st.Pending {
			if len(c) > 0 {
				out = append(out, c)
			}
		}
		if len(st.Committable) > 0 {
			out = append(out, st.Committable)
		}
	}
	return out
}

// Watermark returns the watermark to replay into a new subtask of operator
// opID owning key groups kgs: the minimum over the old subtasks whose key
// groups overlap kgs. When none overlaps (an operator that is not keyed
// records empty ranges) it is the minimum over all old subtasks, which is
// always safe; NoWatermark when the checkpoint has nothing for opID.
func (m *Metadata) Watermark(opID string, kgs keygroup.Range) int64 {
	sts := m.subtasks(opID)
	if len(sts) == 0 {
		return NoWatermark
	}
	wm, found := int64(math.MaxInt64), false
	for _, st := range sts {
		if overlaps(st.KeyGroups, kgs) {
			wm, found = min(wm, st.Watermark), true
		}
	}
	if !found {
		for _, st := range sts {
			wm = min(wm, st.Watermark)
		}
	}
	return wm
}

// Unmatched returns, sorted, the IDs of the operators that have state in the
// checkpoint but are not in opIDs (the plan's stateful operators).
func (m *Metadata) Unmatched(opIDs map[string]bool) []string {
	var out []string
	for _, id := range sortedOps(m) {
		if !opIDs[id] && m.holdsState(id) {
			out = append(out, id)
		}
	}
	return out
}

// holdsState reports whether operator opID saved anything but watermarks:
// keyed state, a source position or sink output. An operator without (a
// calc, whose presence can depend on the parallelism) may be missing from a
// plan without losing anything.
func (m *Metadata) holdsState(opID string) bool {
	for _, st := range m.subtasks(opID) {
		if st.Backend != nil || len(st.Position) > 0 || len(st.Committable) > 0 || len(st.Pending) > 0 {
			return true
		}
	}
	return false
}

// Fits checks that the plan, whose operator IDs are opIDs, can take the
// checkpoint's state: every operator with state in the checkpoint must be
// in the plan, or its state would be lost. With allowDrop such state is
// dropped instead (the runtime logs Unmatched). Operators of the plan
// without state in the checkpoint start empty.
func (m *Metadata) Fits(opIDs map[string]bool, allowDrop bool) error {
	un := m.Unmatched(opIDs)
	if len(un) == 0 || allowDrop {
		return nil
	}
	return fmt.Errorf("checkpoint %d has state for %d operator(s) the job does not have: %s (the query changed? restore with --allow-non-restored-state to drop that state)",
		m.ID, len(un), strings.Join(quoteAll(un), ", "))
}

// CheckMaxParallelism fails when the job's max parallelism differs from the
// checkpoint's: keyed state is split into that many key groups for good.
func (m *Metadata) CheckMaxParallelism(maxP int) error {
	if maxP != m.MaxParallelism {
		return fmt.Errorf("checkpoint %d was taken with max parallelism %d; the job has %d (it cannot change once a job has state)", m.ID, m.MaxParallelism, maxP)
	}
	return nil
}

// subtasks returns the subtask entries of opID, nil entries left out.
func (m *Metadata) subtasks(opID string) []*SubtaskState {
	if m == nil {
		return nil
	}
	op := m.Operators[opID]
	if op == nil {
		return nil
	}
	out := make([]*SubtaskState, 0, len(op.Subtasks))
	for _, st := range op.Subtasks {
		if st != nil {
			out = append(out, st)
		}
	}
	return out
}

func overlaps(a, b keygroup.Range) bool {
	return a.Start < b.End && b.Start < a.End && a.Len() > 0 && b.Len() > 0
}

func sortedOps(m *Metadata) []string {
	if m == nil {
		return nil
	}
	ids := make([]string, 0, len(m.Operators))
	for id := range m.Operators {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
