package netexchange

import (
	"context"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/engine/exchange"
	"github.com/eddy-streaming/eddy/engine/stream"
)

const benchRows = 4096

// benchRecord is a realistic batch: 4096 rows of an int64 key, a string,
// a float64 and a bool.
func benchRecord(mem memory.Allocator) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, testSchema)
	defer b.Release()
	for i := 0; i < benchRows; i++ {
		b.Field(0).(*array.Int64Builder).Append(int64(i) * 7919)
		b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("auction-%06d", i))
		b.Field(2).(*array.Float64Builder).Append(float64(i) / 3)
		b.Field(3).(*array.BooleanBuilder).Append(i%3 == 0)
	}
	return b.NewRecordBatch()
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkExchange sends b.N batches of 4096 rows down each of 1 or 4
// parallel channels, each to its own consuming goroutine, in memory
// (exchange.Local) or over the network exchange on loopback (producer and
// consumer transports in this process: the CPU of both sides counts).
// It reports rows per CPU-second (process user+system time).
func BenchmarkExchange(b *testing.B) {
	for _, remote := range []bool{false, true} {
		for _, channels := range []int{1, 4} {
			name := fmt.Sprintf("local/channels=%d", channels)
			if remote {
				name = fmt.Sprintf("remote/channels=%d", channels)
			}
			b.Run(name, func(b *testing.B) { benchExchange(b, channels, remote) })
		}
	}
}

func benchExchange(b *testing.B, channels int, remote bool) {
	mem := memory.NewGoAllocator()
	ctx := context.Background()
	var producerT, consumerT exchange.Transport
	if remote {
		pa, pb := startProc(b, time.Second), startProc(b, time.Second)
		defer pa.stop()
		defer pb.stop()
		placement := func(exchange.ChannelID) string { return pb.addr }
		ta := pa.transport(b, "bench", 1, DefaultCapacity, mem, placement)
		defer ta.Close()
		tb := pb.transport(b, "bench", 1, DefaultCapacity, mem, placement)
		defer tb.Close()
		producerT, consumerT = ta, tb
	} else {
		l, err := exchange.NewLocal(DefaultCapacity)
		if err != nil {
			b.Fatal(err)
		}
		producerT, consumerT = l, l
	}
	rec := benchRecord(mem)
	defer rec.Release()
	gates := make([]exchange.Gate, channels)
	senders := make([]exchange.Sender, channels)
	for i := range gates {
		id := exchange.ChannelID{Edge: 0, From: i, To: i}
		g, err := consumerT.Gate([]exchange.ChannelID{id})
		if err != nil {
			b.Fatal(err)
		}
		defer g.Close()
		gates[i] = g
		if senders[i], err = producerT.Sender(id); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	cpu0, wall0 := cpuTime(), time.Now()
	var wg sync.WaitGroup
	for i := 0; i < channels; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for n := 0; n < b.N; n++ {
				rec.Retain()
				if err := senders[i].Send(ctx, stream.DataMessage(stream.Batch{Record: rec})); err != nil {
					b.Error(err)
					return
				}
			}
			if err := senders[i].Send(ctx, stream.Message{Kind: stream.End}); err != nil {
				b.Error(err)
			}
		}()
		go func() {
			defer wg.Done()
			rows := 0
			for {
				_, m, err := gates[i].Next(ctx)
				if err != nil {
					b.Error(err)
					return
				}
				rows += m.Batch.NumRows()
				m.Batch.Release()
				if m.Kind == stream.End {
					break
				}
			}
			if rows != b.N*benchRows {
				b.Errorf("received %d rows, want %d", rows, b.N*benchRows)
			}
		}()
	}
	wg.Wait()
	cpu, wall := cpuTime()-cpu0, time.Since(wall0)
	b.StopTimer()
	rows := float64(b.N * benchRows * channels)
	b.ReportMetric(rows/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(rows/wall.Seconds(), "rows/s")
	b.ReportMetric(0, "ns/op")
}
