package opsnap_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/eddy-streaming/eddy/engine/internal/opsnap"
	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/memstate"
)

func TestSchemas(t *testing.T) {
	be := memstate.New()
	tab, err := be.Table("schema")
	if err != nil {
		t.Fatal(err)
	}
	s := arrow.NewSchema([]arrow.Field{
		{Name: "k", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "ts", Type: &arrow.TimestampType{Unit: arrow.Millisecond}},
		{Name: "d", Type: &arrow.Decimal128Type{Precision: 10, Scale: 2}, Nullable: true},
	}, nil)
	// Written by an old subtask owning [64, 128) only, for input 1.
	if err := opsnap.PutSchema(tab, keygroup.Range{Start: 64, End: 128}, 1, s); err != nil {
		t.Fatal(err)
	}
	all := keygroup.Range{Start: 0, End: 128}
	got, err := opsnap.GetSchema(tab, all, 1)
	if err != nil || got == nil || !got.Equal(s) {
		t.Fatalf("GetSchema = %v, %v; want %s", got, err, s)
	}
	if got, err := opsnap.GetSchema(tab, all, 0); err != nil || got != nil {
		t.Fatalf("input 0: GetSchema = %v, %v; want none", got, err)
	}
	if got, err := opsnap.GetSchema(tab, keygroup.Range{Start: 0, End: 64}, 1); err != nil || got != nil {
		t.Fatalf("other key groups: GetSchema = %v, %v; want none", got, err)
	}
	if _, err := opsnap.DecodeSchema([]byte("not a schema")); !errors.Is(err, opsnap.ErrCorrupt) {
		t.Fatalf("DecodeSchema of garbage: %v, want ErrCorrupt", err)
	}
}

func TestMeta(t *testing.T) {
	tab, _ := memstate.New().Table("meta")
	for i, r := range []keygroup.Range{keygroup.RangeOf(0, 128, 3), keygroup.RangeOf(1, 128, 3), keygroup.RangeOf(2, 128, 3)} {
		if err := opsnap.PutMeta(tab, r, []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	var got []byte
	err := opsnap.ScanMeta(tab, keygroup.RangeOf(1, 128, 2), func(v []byte) error { got = append(got, v...); return nil })
	if err != nil {
		t.Fatal(err)
	}
	// Subtask 1 of 2 owns [64, 128): it sees the entries of the old
	// subtasks whose first key group lies in it.
	var want []byte
	for i := 0; i < 3; i++ {
		if keygroup.RangeOf(1, 128, 2).Contains(keygroup.RangeOf(i, 128, 3).Start) {
			want = append(want, byte(i))
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("ScanMeta = %v, want %v", got, want)
	}
}

func TestDirty(t *testing.T) {
	var d opsnap.Dirty
	for _, id := range []uint32{5, 1, 5, 300, 1} {
		d.Add(id)
	}
	if !slices.Equal(d.IDs(), []uint32{5, 1, 300}) || !d.Has(300) || d.Has(2) {
		t.Fatalf("IDs = %v", d.IDs())
	}
	d.Remap(func(id uint32) (uint32, bool) { return id / 2, id != 1 })
	if !slices.Equal(d.IDs(), []uint32{2, 150}) || d.Has(5) || d.Has(1) {
		t.Fatalf("after Remap: IDs = %v", d.IDs())
	}
	d.Reset()
	if d.Len() != 0 || d.Has(2) {
		t.Fatalf("after Reset: %v", d.IDs())
	}
}

func TestDeletes(t *testing.T) {
	tab, _ := memstate.New().Table("t")
	var keys [][]byte
	for i := 0; i < 5; i++ {
		k := opsnap.Key(nil, i, []byte{byte(i), 'x'})
		keys = append(keys, k)
		if err := tab.Put(k, []byte{1}); err != nil {
			t.Fatal(err)
		}
	}
	var d opsnap.Deletes
	d.Add(keys[1])
	d.Add(keys[3])
	if err := d.Apply(tab); err != nil {
		t.Fatal(err)
	}
	var left []int
	_ = tab.Scan(nil, nil, func(k, v []byte) error {
		kg, _ := state.KeyGroupOf(k)
		left = append(left, kg)
		return nil
	})
	if !slices.Equal(left, []int{0, 2, 4}) || d.Len() != 0 {
		t.Fatalf("left %v, %d pending", left, d.Len())
	}
}

func TestReader(t *testing.T) {
	b := opsnap.AppendBytes(nil, []byte("abc"))
	r := opsnap.NewReader(b)
	if got := r.Bytes(); string(got) != "abc" || r.Err() != nil {
		t.Fatalf("Bytes = %q, %v", got, r.Err())
	}
	r = opsnap.NewReader(b[:2])
	r.Bytes()
	if !errors.Is(r.Err(), opsnap.ErrCorrupt) {
		t.Fatalf("truncated: %v, want ErrCorrupt", r.Err())
	}
	r = opsnap.NewReader([]byte{1, 2})
	if r.U64(); !errors.Is(r.Err(), opsnap.ErrCorrupt) {
		t.Fatalf("short u64: %v", r.Err())
	}
}
