package netexchange

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	exchangev1 "github.com/eddy-streaming/eddy/api/exchange/v1"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// encoder turns the messages of one channel into frames. Record batches are
// written by one Arrow IPC stream writer per schema, so the schema travels
// once (in the frame that starts the IPC stream).
type encoder struct {
	mem    memory.Allocator
	w      *ipc.Writer
	schema *arrow.Schema
	sink   sliceSink
	// last is the size of the previous batch's IPC bytes, to size the next.
	last int
}

// sliceSink collects what the IPC writer writes.
type sliceSink struct{ b []byte }

func (s *sliceSink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// encode returns the frame for m. It does not release m's batch.
func (e *encoder) encode(m stream.Message) (*exchangev1.Frame, error) {
	switch m.Kind {
	case stream.Data:
		b, err := e.encodeBatch(m.Batch)
		if err != nil {
			return nil, err
		}
		return &exchangev1.Frame{Kind: &exchangev1.Frame_Batch{Batch: b}}, nil
	case stream.Watermark:
		return &exchangev1.Frame{Kind: &exchangev1.Frame_Watermark{Watermark: m.Watermark}}, nil
	case stream.Idle:
		return &exchangev1.Frame{Kind: &exchangev1.Frame_Idle{Idle: &exchangev1.Idle{}}}, nil
	case stream.BarrierMsg:
		return &exchangev1.Frame{Kind: &exchangev1.Frame_Barrier{Barrier: &exchangev1.Barrier{
			CheckpointId: m.Barrier.CheckpointID,
			TimestampMs:  m.Barrier.TimestampMs,
			Savepoint:    m.Barrier.Savepoint,
		}}}, nil
	case stream.End:
		return &exchangev1.Frame{Kind: &exchangev1.Frame_End{End: &exchangev1.End{}}}, nil
	}
	return nil, fmt.Errorf("unknown message kind %d", m.Kind)
}

func (e *encoder) encodeBatch(b stream.Batch) (*exchangev1.Batch, error) {
	out := &exchangev1.Batch{}
	if b.Kinds != nil {
		if len(b.Kinds) != b.NumRows() {
			return nil, fmt.Errorf("batch has %d row kinds for %d rows", len(b.Kinds), b.NumRows())
		}
		// The batch, row kinds included, belongs to the channel now, and
		// the frame is marshalled before Send returns: no copy needed.
		out.Kinds = unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(b.Kinds))), len(b.Kinds))
		if out.Kinds == nil {
			out.Kinds = []byte{}
		}
	}
	rec := b.Record
	if rec == nil {
		return out, nil
	}
	if e.w == nil || (rec.Schema() != e.schema && !rec.Schema().Equal(e.schema)) {
		if err := e.closeWriter(); err != nil {
			return nil, err
		}
		e.schema = rec.Schema()
		e.w = ipc.NewWriter(&e.sink, ipc.WithSchema(e.schema), ipc.WithAllocator(e.mem))
		out.NewStream = true
	}
	// A fresh buffer per frame: gRPC may hold the message after Send
	// (stats handlers), so it is never reused.
	e.sink.b = make([]byte, 0, e.last+e.last/8+256)
	if err := e.w.Write(rec); err != nil {
		return nil, fmt.Errorf("arrow ipc: %w", err)
	}
	out.Ipc = e.sink.b
	e.last = len(e.sink.b)
	e.sink.b = nil
	return out, nil
}

func (e *encoder) closeWriter() error {
	if e.w == nil {
		return nil
	}
	err := e.w.Close() // writes the end-of-stream marker into the sink: dropped
	e.w, e.schema, e.sink.b = nil, nil, nil
	if err != nil {
		return fmt.Errorf("arrow ipc: %w", err)
	}
	return nil
}

// release frees the encoder's resources.
func (e *encoder) release() { _ = e.closeWriter() }

// decoder turns the frames of one channel back into messages, reading
// record batches with one Arrow IPC stream reader per IPC stream.
type decoder struct {
	mem  memory.Allocator
	rd   *ipc.Reader
	feed sliceFeed
}

// sliceFeed hands the IPC reader the bytes of one frame.
type sliceFeed struct{ b []byte }

func (f *sliceFeed) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, errFrameShort
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

var errFrameShort = errors.New("frame ends inside an Arrow IPC message")

// decode returns the message of frame f (which must not be an Open). The
// caller owns the message's batch.
func (d *decoder) decode(f *exchangev1.Frame) (stream.Message, error) {
	switch k := f.GetKind().(type) {
	case *exchangev1.Frame_Batch:
		b, err := d.decodeBatch(k.Batch)
		if err != nil {
			return stream.Message{}, err
		}
		return stream.DataMessage(b), nil
	case *exchangev1.Frame_Watermark:
		return stream.WatermarkMessage(k.Watermark), nil
	case *exchangev1.Frame_Idle:
		return stream.Message{Kind: stream.Idle}, nil
	case *exchangev1.Frame_Barrier:
		return stream.Message{Kind: stream.BarrierMsg, Barrier: stream.Barrier{
			CheckpointID: k.Barrier.GetCheckpointId(),
			TimestampMs:  k.Barrier.GetTimestampMs(),
			Savepoint:    k.Barrier.GetSavepoint(),
		}}, nil
	case *exchangev1.Frame_End:
		return stream.Message{Kind: stream.End}, nil
	case *exchangev1.Frame_Open:
		return stream.Message{}, errors.New("second open frame")
	case nil:
		return stream.Message{}, errors.New("empty frame")
	}
	return stream.Message{}, fmt.Errorf("unknown frame %T", f.GetKind())
}

func (d *decoder) decodeBatch(pb *exchangev1.Batch) (stream.Batch, error) {
	var b stream.Batch
	if len(pb.GetIpc()) > 0 {
		d.feed.b = pb.GetIpc()
		if pb.GetNewStream() {
			d.releaseReader()
			rd, err := ipc.NewReader(&d.feed, ipc.WithAllocator(d.mem))
			if err != nil {
				return b, fmt.Errorf("arrow ipc schema: %w", err)
			}
			d.rd = rd
		} else if d.rd == nil {
			return b, errors.New("record batch before its schema")
		}
		if !d.rd.Next() {
			err := d.rd.Err()
			if err == nil {
				err = errors.New("no record batch")
			}
			d.releaseReader() // the reader is done after an error
			return b, fmt.Errorf("arrow ipc: %w", err)
		}
		b.Record = d.rd.RecordBatch()
		b.Record.Retain()
		if n := len(d.feed.b); n != 0 {
			b.Release()
			return stream.Batch{}, fmt.Errorf("arrow ipc: %d bytes after the record batch", n)
		}
	} else if pb.GetNewStream() {
		return b, errors.New("new IPC stream without bytes")
	}
	if pb.Kinds != nil {
		if len(pb.Kinds) != b.NumRows() {
			n := b.NumRows()
			b.Release()
			return stream.Batch{}, fmt.Errorf("%d row kinds for %d rows", len(pb.Kinds), n)
		}
		for i, k := range pb.Kinds {
			if k > byte(stream.Delete) {
				b.Release()
				return stream.Batch{}, fmt.Errorf("row %d: invalid row kind %d", i, k)
			}
		}
		// The frame's bytes are the decoder's (protobuf copies on
		// unmarshal): reuse them as the row kinds.
		b.Kinds = unsafe.Slice((*stream.RowKind)(unsafe.Pointer(unsafe.SliceData(pb.Kinds))), len(pb.Kinds))
		if b.Kinds == nil {
			b.Kinds = []stream.RowKind{}
		}
	}
	return b, nil
}

func (d *decoder) releaseReader() {
	if d.rd != nil {
		d.rd.Release()
		d.rd = nil
	}
}

// release frees the decoder's resources.
func (d *decoder) release() {
	d.releaseReader()
	d.feed.b = nil
}
