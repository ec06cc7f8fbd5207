package kafka

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/eddy-streaming/eddy/connectors"
)

// noStop is the stop offset of a split of an unbounded source.
const noStop = -1

// splitState is a partition and how far it has been read: the State of a
// connectors.Split, JSON-encoded.
type splitState struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Offset is the next offset to read.
	Offset int64 `json:"offset"`
	// Stop is the offset a bounded read ends at (exclusive), or noStop.
	Stop int64 `json:"stop"`
}

// splitID names a partition's split as Flink prints a TopicPartition:
// "topic-partition".
func splitID(topic string, partition int32) string {
	return topic + "-" + strconv.FormatInt(int64(partition), 10)
}

func (s splitState) id() string { return splitID(s.Topic, s.Partition) }

// finished reports whether a bounded split has been read to its stop.
func (s splitState) finished() bool { return s.Stop != noStop && s.Offset >= s.Stop }

func (s splitState) split() (connectors.Split, error) {
	b, err := json.Marshal(s)
	if err != nil {
		return connectors.Split{}, fmt.Errorf("kafka: encode split %s: %w", s.id(), err)
	}
	return connectors.Split{ID: s.id(), State: b}, nil
}

// decodeSplit reads a split's state, checking it.
func decodeSplit(sp connectors.Split) (splitState, error) {
	var s splitState
	if err := json.Unmarshal(sp.State, &s); err != nil {
		return s, fmt.Errorf("kafka: split %q: cannot read its state: %w", sp.ID, err)
	}
	switch {
	case s.Topic == "":
		return s, fmt.Errorf("kafka: split %q: its state names no topic", sp.ID)
	case s.Partition < 0:
		return s, fmt.Errorf("kafka: split %q: negative partition %d", sp.ID, s.Partition)
	case s.Offset < 0:
		return s, fmt.Errorf("kafka: split %q: negative offset %d", sp.ID, s.Offset)
	case s.Stop < noStop:
		return s, fmt.Errorf("kafka: split %q: invalid stop offset %d", sp.ID, s.Stop)
	case s.id() != sp.ID:
		return s, fmt.Errorf("kafka: split %q: its state is of partition %s", sp.ID, s.id())
	}
	return s, nil
}

// javaStringHash is Java's String.hashCode, which Flink's Kafka source
// uses to spread topics over readers.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 { // a surrogate pair in UTF-16
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// owner returns the reader a partition is assigned to, as Flink's
// KafkaSourceEnumerator.getSplitOwner: a start index from the topic's
// hash, then the partitions in order, round robin.
func owner(topic string, partition int32, parallelism int) int {
	if parallelism <= 0 {
		return 0
	}
	start := int((javaStringHash(topic)*31)&0x7FFFFFFF) % parallelism
	return (start + int(partition)) % parallelism
}
