package netexchange

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// proc is one simulated task manager: a gRPC server on loopback with an
// exchange Server.
type proc struct {
	addr string
	gs   *grpc.Server
	srv  *Server
}

func startProc(t testing.TB, gateWait time.Duration) *proc {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{addr: lis.Addr().String(), gs: grpc.NewServer(ServerOptions()...), srv: NewServer(ServerConfig{GateWait: gateWait})}
	p.srv.Register(p.gs)
	go func() { _ = p.gs.Serve(lis) }()
	return p
}

func (p *proc) stop() { p.gs.Stop() }

func (p *proc) transport(t testing.TB, job string, attempt int64, capacity int, mem memory.Allocator, placement func(exchange.ChannelID) string) *Transport {
	t.Helper()
	tr, err := New(p.srv, Config{
		Job: job, Attempt: attempt, Self: p.addr, Placement: placement, Capacity: capacity, Allocator: mem,
		DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "price", Type: arrow.PrimitiveTypes.Float64},
	{Name: "ok", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
}, nil)

var otherSchema = arrow.NewSchema([]arrow.Field{
	{Name: "k", Type: arrow.BinaryTypes.String},
	{Name: "v", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
}, nil)

// randomRecord builds a record of n rows of schema testSchema or (rarely)
// otherSchema, with nulls.
func randomRecord(r *rand.Rand, mem memory.Allocator, n int, other bool) arrow.RecordBatch {
	if other {
		b := array.NewRecordBuilder(mem, otherSchema)
		defer b.Release()
		for i := 0; i < n; i++ {
			b.Field(0).(*array.StringBuilder).Append(fmt.Sprintf("k%d", r.IntN(1000)))
			if r.IntN(4) == 0 {
				b.Field(1).AppendNull()
			} else {
				b.Field(1).(*array.Int32Builder).Append(r.Int32())
			}
		}
		return b.NewRecordBatch()
	}
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	for i := 0; i < n; i++ {
		if r.IntN(5) == 0 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int64Builder).Append(r.Int64() - r.Int64())
		}
		if r.IntN(6) == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(strings.Repeat("x", r.IntN(12)) + fmt.Sprint(r.IntN(100)))
		}
		b.Field(2).(*array.Float64Builder).Append(r.NormFloat64())
		if r.IntN(7) == 0 {
			b.Field(3).AppendNull()
		} else {
			b.Field(3).(*array.BooleanBuilder).Append(r.IntN(2) == 0)
		}
	}
	return b.NewRecordBatch()
}

// randomMessage makes a random message (never End).
func randomMessage(r *rand.Rand, mem memory.Allocator) stream.Message {
	switch k := r.IntN(10); {
	case k < 6:
		var b stream.Batch
		if r.IntN(20) != 0 { // rarely a batch without a record
			b.Record = randomRecord(r, mem, r.IntN(65), r.IntN(8) == 0)
		}
		if r.IntN(2) == 0 {
			b.Kinds = make([]stream.RowKind, b.NumRows())
			for i := range b.Kinds {
				b.Kinds[i] = stream.RowKind(r.IntN(4))
			}
		}
		return stream.DataMessage(b)
	case k < 8:
		wm := r.Int64N(1 << 40)
		switch r.IntN(10) {
		case 0:
			wm = stream.MinWatermark
		case 1:
			wm = stream.MaxWatermark
		}
		return stream.WatermarkMessage(wm)
	case k < 9:
		return stream.Message{Kind: stream.BarrierMsg, Barrier: stream.Barrier{CheckpointID: r.Int64N(1000), TimestampMs: r.Int64(), Savepoint: r.IntN(3) == 0}}
	default:
		return stream.Message{Kind: stream.Idle}
	}
}

// describe renders m row at a time, independently of the codec: the test's
// reference representation of a message.
func describe(m stream.Message) []string {
	switch m.Kind {
	case stream.Data:
		b := m.Batch
		kinds := "nil"
		if b.Kinds != nil {
			kinds = fmt.Sprintf("set(%d)", len(b.Kinds))
		}
		if b.Record == nil {
			return []string{"data record=nil kinds=" + kinds}
		}
		out := []string{fmt.Sprintf("data schema=%s rows=%d kinds=%s", b.Record.Schema(), b.Record.NumRows(), kinds)}
		for i := 0; i < int(b.Record.NumRows()); i++ {
			var sb strings.Builder
			sb.WriteString(b.Kind(i).String())
			for c := 0; c < int(b.Record.NumCols()); c++ {
				sb.WriteByte('|')
				col := b.Record.Column(c)
				if col.IsNull(i) {
					sb.WriteString("NULL")
					continue
				}
				switch a := col.(type) {
				case *array.Int64:
					fmt.Fprint(&sb, a.Value(i))
				case *array.Int32:
					fmt.Fprint(&sb, a.Value(i))
				case *array.String:
					fmt.Fprintf(&sb, "%q", a.Value(i))
				case *array.Float64:
					fmt.Fprintf(&sb, "%x", a.Value(i))
				case *array.Boolean:
					fmt.Fprint(&sb, a.Value(i))
				default:
					fmt.Fprintf(&sb, "?%T", a)
				}
			}
			out = append(out, sb.String())
		}
		return out
	case stream.Watermark:
		return []string{fmt.Sprintf("watermark %d", m.Watermark)}
	case stream.Idle:
		return []string{"idle"}
	case stream.BarrierMsg:
		return []string{fmt.Sprintf("barrier %+v", m.Barrier)}
	case stream.End:
		return []string{"end"}
	}
	return []string{fmt.Sprintf("kind %d", m.Kind)}
}

func equalLines(t testing.TB, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: got %d lines, want %d", what, len(got), len(want))
	}
	for i := 0; i < len(got) && i < len(want); i++ {
		if got[i] != want[i] {
			t.Errorf("%s: line %d:\n got  %s\n want %s", what, i, got[i], want[i])
			return
		}
	}
}

// waitFor polls cond until it holds or d passes.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if cond() {
			return true
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cond()
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
