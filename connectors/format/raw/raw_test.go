package raw

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/engine/types"
)

var schema = types.Schema{Fields: []types.Field{{Name: "line", Type: types.StringType}}}

// Random values (NULLs, empty strings, line breaks, multi-byte runes)
// decode into the column as they are and come back out of Values
// unchanged, whatever part of a batch is encoded.
func TestRoundTrip(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	dec, err := NewDecoder(schema)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(schema)
	if err != nil {
		t.Fatal(err)
	}
	alphabet := []string{"a", "b", " ", "\n", "\r", ",", "\"", "é", "日本", "\x00"}
	for range 50 {
		n := rng.IntN(200)
		want := make([][]byte, n)
		b := format.NewBuilder(schema)
		for i := range want {
			if rng.IntN(8) == 0 {
				if err := dec.DecodeNull(b); err != nil {
					t.Fatal(err)
				}
				continue
			}
			var s strings.Builder
			for range rng.IntN(10) {
				s.WriteString(alphabet[rng.IntN(len(alphabet))])
			}
			want[i] = []byte(s.String())
			if skip, err := dec.Decode(want[i], b); err != nil || skip {
				t.Fatalf("decode %q: %v %v", want[i], skip, err)
			}
		}
		rec, err := b.Build(memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		lo := rng.IntN(n + 1)
		hi := lo + rng.IntN(n-lo+1)
		sl := rec.NewSlice(int64(lo), int64(hi))
		got, err := enc.Values(sl)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != hi-lo {
			t.Fatalf("%d values for %d rows", len(got), hi-lo)
		}
		col := sl.Column(0).(*array.String)
		for i, g := range got {
			w := want[lo+i]
			if (w == nil) != (g == nil) || !bytes.Equal(w, g) || col.IsNull(i) != (w == nil) {
				t.Fatalf("row %d: got %q (nil %v), want %q (nil %v)", lo+i, g, g == nil, w, w == nil)
			}
		}
		sl.Release()
		rec.Release()
	}
}

// Bad input is refused with the column and the reason, never a panic.
func TestErrors(t *testing.T) {
	dec, _ := NewDecoder(schema)
	b := format.NewBuilder(schema)
	if _, err := dec.Decode([]byte{'o', 'k', 0xff, 0xfe}, b); err == nil || !strings.Contains(err.Error(), "'line'") || !strings.Contains(err.Error(), "byte at 2") {
		t.Fatalf("invalid UTF-8: %v", err)
	}
	if b.Rows() != 0 {
		t.Fatal("a refused record left a row")
	}
	notNull := types.Schema{Fields: []types.Field{{Name: "v", Type: types.Type{Kind: types.String, NotNull: true}}}}
	d2, _ := NewDecoder(notNull)
	if err := d2.DecodeNull(format.NewBuilder(notNull)); err == nil {
		t.Fatal("NULL in a NOT NULL column accepted")
	}
	for _, s := range []types.Schema{
		{Fields: []types.Field{{Name: "a", Type: types.BigIntType}}},
		{Fields: []types.Field{{Name: "a", Type: types.StringType}, {Name: "b", Type: types.StringType}}},
		{},
	} {
		if _, err := NewDecoder(s); err == nil || !strings.Contains(err.Error(), "exactly one STRING column") {
			t.Fatalf("schema %s: %v", s, err)
		}
		if _, err := NewEncoder(s); err == nil {
			t.Fatalf("schema %s: encoder accepted", s)
		}
	}
	// Lines: a value with a line break or a NULL cannot be a line.
	enc, _ := NewEncoder(schema)
	for _, vals := range [][]string{{"a", "b\nc"}, {"x\r"}} {
		bb := format.NewBuilder(schema)
		for _, v := range vals {
			_, _ = dec.Decode([]byte(v), bb)
		}
		rec, _ := bb.Build(memory.DefaultAllocator)
		if _, err := enc.Encode(nil, rec); err == nil || !strings.Contains(err.Error(), "line break") {
			t.Fatalf("%q: %v", vals, err)
		}
		rec.Release()
	}
	bb := format.NewBuilder(schema)
	_, _ = dec.Decode([]byte("one"), bb)
	_ = dec.DecodeNull(bb)
	rec, _ := bb.Build(memory.DefaultAllocator)
	if _, err := enc.Encode(nil, rec); err == nil || !strings.Contains(err.Error(), "NULL") {
		t.Fatalf("NULL line: %v", err)
	}
	rec.Release()
	bb = format.NewBuilder(schema)
	_, _ = dec.Decode([]byte("one"), bb)
	_, _ = dec.Decode([]byte(""), bb)
	rec, _ = bb.Build(memory.DefaultAllocator)
	out, err := enc.Encode([]byte("x"), rec)
	if err != nil || string(out) != "xone\n\n" {
		t.Fatalf("lines: %q %v", out, err)
	}
	rec.Release()
}
