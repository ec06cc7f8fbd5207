package hashtable_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/eddy-streaming/eddy/engine/internal/hashtable"
	"github.com/eddy-streaming/eddy/engine/internal/rowkey"
)

// keys makes n random keys from a small universe, so that most repeat.
func keys(r *rand.Rand, n, universe int) *rowkey.Rows {
	rows := &rowkey.Rows{Offs: make([]int32, n+1)}
	for i := 0; i < n; i++ {
		k := fmt.Sprintf("key-%d", r.IntN(universe))
		if r.IntN(5) == 0 {
			k = k[:r.IntN(len(k))] // prefixes of other keys, and the empty key
		}
		rows.Data = append(rows.Data, k...)
		rows.Offs[i+1] = int32(len(rows.Data))
	}
	return rows
}

// Hash functions of varying quality: a weak one forces tag and hash
// collisions through the equality path.
var hashFuncs = map[string]func(string) uint64{
	"good": func(s string) uint64 {
		h := uint64(14695981039346656037)
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * 1099511628211
		}
		return h
	},
	"constant":  func(string) uint64 { return 42 },
	"lowbits":   func(s string) uint64 { return uint64(len(s)) << 7 }, // same key group everywhere
	"tag-equal": func(s string) uint64 { return 7<<32 | uint64(len(s)%3) },
}

func TestAgainstMap(t *testing.T) {
	for name, hf := range hashFuncs {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 1))
			for trial := 0; trial < 5; trial++ {
				ht := hashtable.New(r.IntN(100))
				ref := map[string]uint32{}
				var order []string
				universe := []int{3, 100, 5000}[trial%3]
				if name != "good" {
					universe = min(universe, 300)
				}
				for batch := 0; batch < 20; batch++ {
					n := 1 + r.IntN(1000)
					rows := keys(r, n, universe)
					hashes := make([]uint64, n)
					for i := range hashes {
						hashes[i] = hf(string(rows.Row(i)))
					}
					var sel []int32
					if r.IntN(2) == 0 {
						for i := 0; i < n; i++ {
							if r.IntN(2) == 0 {
								sel = append(sel, int32(i))
							}
						}
					}
					out := make([]uint32, n)
					added, err := ht.FindOrInsert(hashes, rows, sel, out)
					if err != nil {
						t.Fatal(err)
					}
					before := len(order)
					m := n
					if sel != nil {
						m = len(sel)
					}
					for k := 0; k < m; k++ {
						i := k
						if sel != nil {
							i = int(sel[k])
						}
						key := string(rows.Row(i))
						id, ok := ref[key]
						if !ok {
							id = uint32(len(order))
							ref[key] = id
							order = append(order, key)
						}
						if out[k] != id {
							t.Fatalf("key %q: id %d, want %d", key, out[k], id)
						}
					}
					if added != len(order)-before || ht.Len() != len(order) {
						t.Fatalf("added %d, len %d; want %d, %d", added, ht.Len(), len(order)-before, len(order))
					}
				}
				for id, key := range order {
					if got := string(ht.Key(uint32(id))); got != key {
						t.Fatalf("Key(%d) = %q, want %q", id, got, key)
					}
					if got, ok := ht.Find(hf(key), []byte(key)); !ok || got != uint32(id) {
						t.Fatalf("Find(%q) = %d, %v", key, got, ok)
					}
					if ht.Hash(uint32(id)) != hf(key) {
						t.Fatalf("Hash(%d) differs", id)
					}
				}
				if _, ok := ht.Find(hf("missing"), []byte("missing")); ok {
					t.Fatal("found a missing key")
				}
				id, inserted, err := ht.FindOrInsertOne(hf("fresh"), []byte("fresh"))
				if err != nil || !inserted || id != uint32(len(order)) {
					t.Fatalf("FindOrInsertOne = %d, %v, %v", id, inserted, err)
				}
				ht.Reset(10)
				if ht.Len() != 0 {
					t.Fatal("Reset left groups")
				}
				if _, ok := ht.Find(hf("fresh"), []byte("fresh")); ok {
					t.Fatal("found a key after Reset")
				}
			}
		})
	}
}

func TestFixedWidth(t *testing.T) {
	ht := hashtable.NewFixed(4, 8)
	ref := map[string]uint32{}
	r := rand.New(rand.NewPCG(5, 5))
	for i := 0; i < 20000; i++ {
		k := fmt.Sprintf("%08d", r.IntN(3000))
		id, inserted, err := ht.FindOrInsertOne(hashFuncs["good"](k), []byte(k))
		if err != nil {
			t.Fatal(err)
		}
		want, ok := ref[k]
		if !ok {
			want = uint32(len(ref))
			ref[k] = want
		}
		if id != want || inserted == ok {
			t.Fatalf("key %s: id %d inserted %v, want %d %v", k, id, inserted, want, !ok)
		}
	}
	if _, _, err := ht.FindOrInsertOne(1, []byte("short")); err == nil {
		t.Fatal("a key of the wrong width was accepted")
	}
}
