package stream

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
)

// RowKind is the changelog kind of one row, as in Flink.
type RowKind int8

// The four row kinds.
const (
	Insert       RowKind = iota // +I
	UpdateBefore                // -U
	UpdateAfter                 // +U
	Delete                      // -D
)

// String returns Flink's short form: "+I", "-U", "+U" or "-D".
func (k RowKind) String() string {
	switch k {
	case Insert:
		return "+I"
	case UpdateBefore:
		return "-U"
	case UpdateAfter:
		return "+U"
	case Delete:
		return "-D"
	}
	return fmt.Sprintf("RowKind(%d)", int8(k))
}

// IsRetract reports whether the row withdraws an earlier row (-U or -D).
func (k RowKind) IsRetract() bool { return k == UpdateBefore || k == Delete }

// Batch is a set of rows: an Arrow record plus one row kind per row.
// A nil Kinds means every row is an Insert, the common append-only case.
type Batch struct {
	Record arrow.RecordBatch
	Kinds  []RowKind
}

// NumRows returns the number of rows in b.
func (b Batch) NumRows() int {
	if b.Record == nil {
		return 0
	}
	return int(b.Record.NumRows())
}

// Kind returns the row kind of row i.
func (b Batch) Kind(i int) RowKind {
	if b.Kinds == nil {
		return Insert
	}
	return b.Kinds[i]
}

// Release drops b's reference to its record.
func (b Batch) Release() {
	if b.Record != nil {
		b.Record.Release()
	}
}

// Watermark values are event-time milliseconds since the epoch.
const (
	// MinWatermark is the watermark before any event was seen.
	MinWatermark int64 = math.MinInt64
	// MaxWatermark is the watermark at end of input: every window fires.
	MaxWatermark int64 = math.MaxInt64
)

// Barrier is a checkpoint barrier (asynchronous barrier snapshotting).
type Barrier struct {
	CheckpointID int64 `json:"checkpoint_id"`
	TimestampMs  int64 `json:"timestamp_ms"`
	// Savepoint marks a barrier taken on demand in a portable format.
	Savepoint bool `json:"savepoint,omitempty"`
}

// MessageKind tells which field of a Message is set.
type MessageKind uint8

// The kinds of message.
const (
	// Data carries a Batch.
	Data MessageKind = iota
	// Watermark says no later row on this channel has an event time <= Watermark.
	Watermark
	// Idle says the channel has no data for now: downstream leaves it out of
	// the watermark minimum until data or a watermark arrives on it again.
	Idle
	// Barrier carries a checkpoint barrier.
	BarrierMsg
	// End says the channel is finished; nothing follows it.
	End
)

// Message is one item on a channel between subtasks.
type Message struct {
	Kind      MessageKind
	Batch     Batch
	Watermark int64
	Barrier   Barrier
}

// DataMessage wraps b in a Message.
func DataMessage(b Batch) Message { return Message{Kind: Data, Batch: b} }

// WatermarkMessage returns a watermark message for wm.
func WatermarkMessage(wm int64) Message { return Message{Kind: Watermark, Watermark: wm} }
