package watermark

import (
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func tsRecord(mem memory.Allocator, ts []int64, valid []bool) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "ts", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i, v := range ts {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		if valid != nil && !valid[i] {
			b.Field(1).(*array.TimestampBuilder).AppendNull()
		} else {
			b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(v))
		}
	}
	return b.NewRecordBatch()
}

func TestGeneratorRandom(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for seed := uint64(0); seed < 50; seed++ {
		r := rand.New(rand.NewPCG(seed, 1))
		delay := r.Int64N(5000)
		g, err := NewGenerator(1, delay)
		if err != nil {
			t.Fatal(err)
		}
		refMax, refSeen, refEmitted := int64(0), false, int64(minW)
		for batch := 0; batch < 30; batch++ {
			n := r.IntN(50)
			ts := make([]int64, n)
			valid := make([]bool, n)
			for i := range ts {
				ts[i] = 1_000_000 + r.Int64N(100_000)
				valid[i] = r.IntN(5) != 0
				if valid[i] && (!refSeen || ts[i] > refMax) {
					refMax, refSeen = ts[i], true
				}
			}
			rec := tsRecord(mem, ts, valid)
			// Slicing exercises the array offset in the null bitmap.
			off := int64(0)
			if n > 0 && r.IntN(3) == 0 {
				// Feed the rows in two slices: the maximum over both is the same.
				off = int64(r.IntN(n))
			}
			var got int64
			var adv bool
			for _, part := range [][2]int64{{0, off}, {off, int64(n)}} {
				s := rec.NewSlice(part[0], part[1])
				w, ok, err := g.Observe(s)
				s.Release()
				if err != nil {
					t.Fatal(err)
				}
				if ok {
					got, adv = w, true
				}
			}
			rec.Release()
			want := refEmitted
			if refSeen && refMax-delay-1 > refEmitted {
				want = refMax - delay - 1
			}
			if adv != (want > refEmitted) || (adv && got != want) || g.Current() != want {
				t.Fatalf("seed %d batch %d: got (%d, %v) current %d, want %d (was %d)", seed, batch, got, adv, g.Current(), want, refEmitted)
			}
			refEmitted = want
		}
	}
}

func TestGeneratorErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	if _, err := NewGenerator(0, -1); err == nil {
		t.Fatal("negative delay accepted")
	}
	rec := tsRecord(mem, []int64{1, 2}, nil)
	defer rec.Release()
	g, _ := NewGenerator(0, 0)
	if _, _, err := g.Observe(rec); err == nil {
		t.Fatal("non-timestamp rowtime column accepted")
	}
	g, _ = NewGenerator(5, 0)
	if _, _, err := g.Observe(rec); err == nil {
		t.Fatal("out-of-range rowtime column accepted")
	}
	// All-NULL batch: nothing seen, no watermark.
	allNull := tsRecord(mem, []int64{5, 6}, []bool{false, false})
	defer allNull.Release()
	g, _ = NewGenerator(1, 0)
	if _, ok, err := g.Observe(allNull); ok || err != nil {
		t.Fatalf("all-NULL batch: ok=%v err=%v", ok, err)
	}
	if w, ok, _ := g.Observe(rec); !ok || w != 1 {
		t.Fatalf("got %d %v, want 1 (max 2 - 0 - 1)", w, ok)
	}
}
