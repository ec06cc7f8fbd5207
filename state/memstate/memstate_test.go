package memstate

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"

	"github.com/eddy-streaming/eddy/state"
)

// TestTableMatchesReference applies random operations to a table and to a
// plain Go map, and checks every read and every scan against the map.
func TestTableMatchesReference(t *testing.T) {
	b, err := Provider{}.Open(context.Background(), state.Scope{Job: "j", OperatorID: "op"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tab, err := b.Table("t")
	if err != nil {
		t.Fatal(err)
	}
	again, _ := b.Table("t")
	if again != tab {
		t.Fatal("Table returned a different table for the same name")
	}
	ref := map[string]string{}
	r := rand.New(rand.NewPCG(3, 4))
	randKey := func() []byte {
		k := state.KeyPrefix(nil, r.IntN(4))
		k = state.AppendInt64(k, r.Int64N(7)-3)
		return append(k, byte(r.IntN(3)))
	}
	buf := make([]byte, 0, 16)
	for op := 0; op < 20000; op++ {
		switch r.IntN(6) {
		case 0, 1:
			k := randKey()
			// Reuse one buffer for values: the table must copy.
			buf = append(buf[:0], fmt.Sprint(r.IntN(1000), "-", r.IntN(3))...)
			if err := tab.Put(k, buf); err != nil {
				t.Fatal(err)
			}
			ref[string(k)] = string(buf)
			buf[0] = '!'
		case 2:
			k := randKey()
			v, ok, err := tab.Get(k)
			want, wok := ref[string(k)]
			if err != nil || ok != wok || string(v) != want {
				t.Fatalf("op %d: Get(%x) = %q, %v, %v; want %q, %v", op, k, v, ok, err, want, wok)
			}
		case 3:
			k := randKey()
			if err := tab.Delete(k); err != nil {
				t.Fatal(err)
			}
			delete(ref, string(k))
		case 4:
			lo, hi := randKey(), randKey()
			if r.IntN(4) == 0 {
				hi = nil
			}
			var got []string
			err := tab.Scan(lo, hi, func(k, v []byte) error {
				got = append(got, string(k)+"="+string(v))
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if want := refScan(ref, lo, hi); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("op %d: Scan(%x, %x) = %q, want %q", op, lo, hi, got, want)
			}
		case 5:
			if r.IntN(10) != 0 {
				continue
			}
			lo, hi := randKey(), randKey()
			if err := tab.DeleteRange(lo, hi); err != nil {
				t.Fatal(err)
			}
			for k := range ref {
				if bytes.Compare([]byte(k), lo) >= 0 && bytes.Compare([]byte(k), hi) < 0 {
					delete(ref, k)
				}
			}
		}
	}
	if got := tab.(*Table).Len(); got != len(ref) {
		t.Fatalf("table holds %d entries, reference %d", got, len(ref))
	}
}

func refScan(ref map[string]string, lo, hi []byte) []string {
	var out []string
	for k, v := range ref {
		if bytes.Compare([]byte(k), lo) >= 0 && (hi == nil || bytes.Compare([]byte(k), hi) < 0) {
			out = append(out, k+"="+v)
		}
	}
	sort.Strings(out)
	return out
}

func TestScanStopsOnError(t *testing.T) {
	tab, _ := New().Table("t")
	for i := 0; i < 10; i++ {
		_ = tab.Put(state.KeyPrefix(nil, i), []byte{byte(i)})
	}
	stop := fmt.Errorf("stop")
	n := 0
	err := tab.Scan(state.KeyPrefix(nil, 0), nil, func(k, v []byte) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("Scan returned %v after %d entries; want the callback's error after 3", err, n)
	}
}

func TestKeyEncodings(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 1000; i++ {
		a, b := r.Int64()>>r.IntN(63), -(r.Int64() >> r.IntN(63))
		ka, kb := state.AppendInt64(nil, a), state.AppendInt64(nil, b)
		if (a < b) != (bytes.Compare(ka, kb) < 0) || state.DecodeInt64(ka) != a || state.DecodeInt64(kb) != b {
			t.Fatalf("AppendInt64 order or round trip broken for %d, %d", a, b)
		}
		kg := r.IntN(1 << 15)
		if got, err := state.KeyGroupOf(state.KeyPrefix(nil, kg)); err != nil || got != kg {
			t.Fatalf("KeyGroupOf(KeyPrefix(%d)) = %d, %v", kg, got, err)
		}
	}
	if _, err := state.KeyGroupOf([]byte{1}); err == nil {
		t.Fatal("KeyGroupOf accepted a one-byte key")
	}
	for _, c := range []struct{ in, want []byte }{
		{[]byte{1, 2}, []byte{1, 3}},
		{[]byte{1, 0xff}, []byte{2}},
		{[]byte{0xff, 0xff}, nil},
	} {
		if got := state.PrefixEnd(c.in); !bytes.Equal(got, c.want) {
			t.Errorf("PrefixEnd(%x) = %x, want %x", c.in, got, c.want)
		}
	}
}
