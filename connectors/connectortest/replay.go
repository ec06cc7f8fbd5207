package connectortest

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
)

// replay is the suite's deterministic, restorable in-memory source
// ("connectortest-replay"), which feeds a sink under test. Its rows are cut
// into chunks; reader s of P serves the chunks j with j mod P = s, in
// batches of consecutive rows (at most the reader context's BatchSize). A
// position is the set of rows served (a bitmap), and a reader restored at
// any parallelism skips the rows any old reader had served, so it resumes
// exactly once after a rescale too.
type replay struct {
	inj    *injector
	schema types.Schema
	rec    arrow.RecordBatch
	kinds  []stream.RowKind // nil: every row is +I
	chunk  int
	// forget, in the suite's own tests, makes restored readers serve
	// again the last rows of every position: a broken source.
	forget int
}

// newReplay serves rec (retained) in chunks of 1 to maxChunk rows.
func newReplay(inj *injector, schema types.Schema, rec arrow.RecordBatch, r *rand.Rand, maxChunk int) *replay {
	rec.Retain()
	return &replay{inj: inj, schema: schema, rec: rec, chunk: 1 + r.IntN(maxChunk)}
}

func (p *replay) release() {
	if p.rec != nil {
		p.rec.Release()
		p.rec = nil
	}
}

func (p *replay) Name() string                     { return replayName }
func (p *replay) Options() []connectors.OptionSpec { return nil }

func (p *replay) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	if info.Schema.String() != p.schema.String() {
		return nil, fmt.Errorf("connectortest: the replayed table is %s, the job reads %s", p.schema, info.Schema)
	}
	return p, nil
}

func (p *replay) Bounded() bool { return true }

func (p *replay) Reader(ctx context.Context, rc connectors.ReaderContext) (connectors.Reader, error) {
	return p.RestoreReader(ctx, rc, nil)
}

func (p *replay) RestoreReader(ctx context.Context, rc connectors.ReaderContext, positions [][]byte) (connectors.Reader, error) {
	if rc.Parallelism < 1 || rc.Subtask < 0 || rc.Subtask >= rc.Parallelism {
		return nil, fmt.Errorf("connectortest: replay reader %d of %d", rc.Subtask, rc.Parallelism)
	}
	n := int(p.rec.NumRows())
	rd := &replayReader{p: p, rc: rc, done: make([]byte, (n+7)/8), n: n,
		r: rand.New(rand.NewPCG(uint64(rc.Subtask), uint64(len(positions))))}
	for _, pos := range positions {
		m, k := binary.Uvarint(pos)
		if k <= 0 || int(m) != n || len(pos)-k != len(rd.done) {
			return nil, fmt.Errorf("connectortest: a replay position of %d bytes does not describe %d rows", len(pos), n)
		}
		bits := append([]byte(nil), pos[k:]...)
		for f, i := p.forget, n-1; f > 0 && i >= 0; i-- {
			if bits[i/8]&(1<<(i%8)) != 0 {
				bits[i/8] &^= 1 << (i % 8)
				f--
			}
		}
		for i, b := range bits {
			rd.done[i] |= b
		}
	}
	return rd, nil
}

type replayReader struct {
	p    *replay
	rc   connectors.ReaderContext
	done []byte
	n    int
	next int // the next row to look at
	r    *rand.Rand
}

func (rd *replayReader) isDone(i int) bool { return rd.done[i/8]&(1<<(i%8)) != 0 }

// mine reports whether row i is in this reader's share.
func (rd *replayReader) mine(i int) bool { return (i/rd.p.chunk)%rd.rc.Parallelism == rd.rc.Subtask }

func (rd *replayReader) Next(ctx context.Context) (arrow.RecordBatch, error) {
	b, err := rd.NextBatch(ctx)
	return b.Record, err
}

// NextBatch implements connectors.ChangelogReader: the rows with their
// kinds.
func (rd *replayReader) NextBatch(ctx context.Context) (stream.Batch, error) {
	for rd.next < rd.n && (!rd.mine(rd.next) || rd.isDone(rd.next)) {
		if !rd.mine(rd.next) {
			// Skip to the start of the next chunk.
			rd.next = (rd.next/rd.p.chunk + 1) * rd.p.chunk
			continue
		}
		rd.next++
	}
	if rd.next >= rd.n {
		if rd.p.inj.pending() {
			// A fault is still to come: hold the job open (every
			// reader, so checkpoints go on) until it is injected.
			return stream.Batch{}, rd.p.inj.tick()
		}
		return stream.Batch{}, io.EOF
	}
	if rd.r.IntN(5) == 0 {
		return stream.Batch{}, nil // nothing right now, sometimes
	}
	if err := rd.p.inj.tick(); err != nil {
		return stream.Batch{}, err
	}
	lo := rd.next
	hi := lo
	end := min(rd.n, (lo/rd.p.chunk+1)*rd.p.chunk)
	for hi < end && hi-lo < max(1, rd.rc.BatchSize) && !rd.isDone(hi) {
		rd.done[hi/8] |= 1 << (hi % 8)
		hi++
	}
	rd.next = hi
	b := stream.Batch{Record: rd.p.rec.NewSlice(int64(lo), int64(hi))}
	if rd.p.kinds != nil {
		b.Kinds = rd.p.kinds[lo:hi]
	}
	return b, nil
}

func (rd *replayReader) Position() ([]byte, error) {
	out := binary.AppendUvarint(nil, uint64(rd.n))
	return append(out, rd.done...), nil
}

func (rd *replayReader) Close() error { return nil }

var (
	_ connectors.SourceFactory    = (*replay)(nil)
	_ connectors.RestorableSource = (*replay)(nil)
	_ connectors.PositionedReader = (*replayReader)(nil)
	_ connectors.ChangelogReader  = (*replayReader)(nil)
)
