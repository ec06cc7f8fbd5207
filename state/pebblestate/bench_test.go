package pebblestate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// cpuTime returns the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchBackend(b *testing.B) (*Provider, *Backend) {
	p, err := New(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Close() })
	be, err := p.Open(context.Background(), state.Scope{Job: "bench", OperatorID: "agg", KeyGroups: keygroup.Range{Start: 0, End: 128}, MaxParallelism: 128})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = be.Close() })
	return p, be.(*Backend)
}

// benchKey writes key i (key group, 8-byte id) into dst.
func benchKey(dst []byte, i uint64) []byte {
	return state.AppendInt64(state.KeyPrefix(dst[:0], int(i%128)), int64(i))
}

// BenchmarkPutGet measures a read-modify-write per key (Get, then Put of a
// 32-byte value) over a key space of 1M keys, through the write batch:
// ops per CPU-second.
func BenchmarkPutGet(b *testing.B) {
	for _, keys := range []uint64{1 << 10, 1 << 20} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			_, be := benchBackend(b)
			tab, _ := be.Table("t")
			r := rand.New(rand.NewPCG(1, 2))
			key := make([]byte, 0, 16)
			val := make([]byte, 32)
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				key = benchKey(key, r.Uint64N(keys))
				v, ok, err := tab.Get(key)
				if err != nil {
					b.Fatal(err)
				}
				if ok {
					copy(val, v)
				}
				val[0]++
				if err := tab.Put(key, val); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "get+put/CPU-s")
		})
	}
}

// BenchmarkPut measures blind writes of 32-byte values: puts per CPU-second.
func BenchmarkPut(b *testing.B) {
	_, be := benchBackend(b)
	tab, _ := be.Table("t")
	key := make([]byte, 0, 16)
	val := make([]byte, 32)
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		key = benchKey(key, uint64(i)*0x9e3779b97f4a7c15)
		if err := tab.Put(key, val); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "puts/CPU-s")
}

// BenchmarkSnapshotPersist loads n keys (16-byte keys, 32-byte random
// values), then times a full snapshot+persist into a directory storage, an
// incremental one after changing 1% of the keys, and a restore. It reports
// the megabytes uploaded and the seconds each step took.
func BenchmarkSnapshotPersist(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			if testing.Short() && n > 1_000_000 {
				b.Skip("10M keys: not in -short")
			}
			ctx := context.Background()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				p, be := benchBackend(b)
				tab, _ := be.Table("t")
				r := rand.New(rand.NewPCG(3, 4))
				key := make([]byte, 0, 16)
				val := make([]byte, 32)
				for k := 0; k < n; k++ {
					for j := 0; j < len(val); j += 8 {
						v := r.Uint64()
						for x := 0; x < 8; x++ {
							val[j+x] = byte(v >> (8 * x))
						}
					}
					if err := tab.Put(benchKey(key, uint64(k)), val); err != nil {
						b.Fatal(err)
					}
				}
				st := newDirStorage(b.TempDir())
				b.StartTimer()

				t0 := time.Now()
				s, err := be.Snapshot(ctx, 1)
				if err != nil {
					b.Fatal(err)
				}
				snapT := time.Since(t0)
				h, err := s.Persist(ctx, st)
				if err != nil {
					b.Fatal(err)
				}
				fullT := time.Since(t0)
				full := s.(*Snapshot).Stats()
				_ = s.Release()

				for k := 0; k < n/100; k++ {
					if err := tab.Put(benchKey(key, r.Uint64N(uint64(n))), val[:8]); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				s, err = be.Snapshot(ctx, 2)
				if err != nil {
					b.Fatal(err)
				}
				h, err = s.Persist(ctx, st)
				if err != nil {
					b.Fatal(err)
				}
				incT := time.Since(t1)
				inc := s.(*Snapshot).Stats()
				_ = s.Release()

				t2 := time.Now()
				rb, err := p.Restore(ctx, be.scope, st, []*checkpoint.BackendHandle{h})
				if err != nil {
					b.Fatal(err)
				}
				restoreT := time.Since(t2)
				t3 := time.Now()
				half := be.scope
				half.KeyGroups = keygroup.Range{Start: 0, End: 64}
				hb, err := p.Restore(ctx, half, st, []*checkpoint.BackendHandle{h})
				if err != nil {
					b.Fatal(err)
				}
				clipT := time.Since(t3)
				b.StopTimer()
				_ = rb.Close()
				_ = hb.Close()
				_ = be.Close()

				b.ReportMetric(float64(full.UploadedBytes)/1e6, "full-MB")
				b.ReportMetric(snapT.Seconds(), "snapshot-s")
				b.ReportMetric(fullT.Seconds(), "full-persist-s")
				b.ReportMetric(float64(inc.UploadedBytes)/1e6, "incr-MB")
				b.ReportMetric(incT.Seconds(), "incr-persist-s")
				b.ReportMetric(restoreT.Seconds(), "restore-s")
				b.ReportMetric(clipT.Seconds(), "restore-half-s")
				b.StartTimer()
			}
		})
	}
}
