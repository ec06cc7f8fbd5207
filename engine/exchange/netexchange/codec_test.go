package netexchange

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/protobuf/proto"

	exchangev1 "github.com/eddy-streaming/eddy/api/exchange/v1"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// TestCodecRoundTrip encodes random messages of every kind (schema changes,
// nil and empty row kinds, batches without record, zero rows) through the
// wire format and checks each decodes to exactly what was sent.
func TestCodecRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(1, 2))
	enc := encoder{mem: mem}
	dec := decoder{mem: mem}
	defer enc.release()
	defer dec.release()
	msgs := []stream.Message{
		{Kind: stream.Idle}, stream.WatermarkMessage(stream.MinWatermark), stream.WatermarkMessage(stream.MaxWatermark),
		{Kind: stream.BarrierMsg, Barrier: stream.Barrier{CheckpointID: 7, TimestampMs: -3, Savepoint: true}},
		stream.DataMessage(stream.Batch{}), stream.DataMessage(stream.Batch{Kinds: []stream.RowKind{}}),
		stream.DataMessage(stream.Batch{Record: randomRecord(r, mem, 0, false)}),
		stream.DataMessage(stream.Batch{Record: randomRecord(r, mem, 0, false), Kinds: []stream.RowKind{}}),
	}
	for i := 0; i < 300; i++ {
		msgs = append(msgs, randomMessage(r, mem))
	}
	msgs = append(msgs, stream.Message{Kind: stream.End})
	seen := map[stream.MessageKind]bool{}
	for i, m := range msgs {
		want := describe(m)
		f, err := enc.encode(m)
		m.Batch.Release()
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		wire, err := proto.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		var back exchangev1.Frame
		if err := proto.Unmarshal(wire, &back); err != nil {
			t.Fatal(err)
		}
		got, err := dec.decode(&back)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		equalLines(t, "message", describe(got), want)
		if got.Kind != m.Kind {
			t.Errorf("message %d: kind %d, want %d", i, got.Kind, m.Kind)
		}
		seen[got.Kind] = true
		got.Batch.Release()
	}
	for _, k := range []stream.MessageKind{stream.Data, stream.Watermark, stream.Idle, stream.BarrierMsg, stream.End} {
		if !seen[k] {
			t.Errorf("kind %d never round-tripped", k)
		}
	}
}

// TestDecodeBadFrames checks that malformed frames give errors, not panics.
func TestDecodeBadFrames(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 4))
	enc := encoder{mem: mem}
	defer enc.release()
	rec := randomRecord(r, mem, 10, false)
	f, err := enc.encode(stream.DataMessage(stream.Batch{Record: rec}))
	rec.Release()
	if err != nil {
		t.Fatal(err)
	}
	good := f.GetBatch()
	cases := map[string]*exchangev1.Frame{
		"empty frame":           {},
		"second open":           {Kind: &exchangev1.Frame_Open{Open: &exchangev1.Open{}}},
		"record before schema":  {Kind: &exchangev1.Frame_Batch{Batch: &exchangev1.Batch{Ipc: good.Ipc[len(good.Ipc)/2:]}}},
		"truncated":             {Kind: &exchangev1.Frame_Batch{Batch: &exchangev1.Batch{Ipc: good.Ipc[:len(good.Ipc)-9], NewStream: true}}},
		"garbage":               {Kind: &exchangev1.Frame_Batch{Batch: &exchangev1.Batch{Ipc: []byte("\xff\xff\xff\xff\x10\x00\x00\x00garbage garbage!"), NewStream: true}}},
		"kinds count":           {Kind: &exchangev1.Frame_Batch{Batch: &exchangev1.Batch{Ipc: good.Ipc, NewStream: true, Kinds: []byte{0, 1}}}},
		"bad kind":              {Kind: &exchangev1.Frame_Batch{Batch: &exchangev1.Batch{Ipc: good.Ipc, NewStream: true, Kinds: []byte{0, 1, 2, 3, 9, 0, 0, 0, 0, 0}}}},
		"trailing bytes":        {Kind: &exchangev1.Frame_Batch{Batch: &exchangev1.Batch{Ipc: append(append([]byte{}, good.Ipc...), 1, 2, 3), NewStream: true}}},
		"new stream, no record": {Kind: &exchangev1.Frame_Batch{Batch: &exchangev1.Batch{NewStream: true}}},
	}
	for name, f := range cases {
		dec := decoder{mem: mem}
		m, err := dec.decode(f)
		if err == nil {
			m.Batch.Release()
			t.Errorf("%s: no error", name)
		} else if strings.Contains(err.Error(), "panic") {
			t.Errorf("%s: %v", name, err)
		}
		dec.release()
	}
}
