package statecache

import (
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/eddy-streaming/eddy/engine/operator"
	"github.com/eddy-streaming/eddy/state/memstate"
)

func TestVictimsAgainstSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for it := 0; it < 200; it++ {
		m := rng.IntN(300)
		stamps := make([]uint64, m)
		dead := make([]bool, m)
		for i := range stamps {
			stamps[i] = uint64(rng.IntN(20))
			dead[i] = rng.IntN(4) == 0
		}
		n := rng.IntN(m + 5)
		got := Victims([]uint32{7777}, stamps, func(id uint32) bool { return !dead[id] }, n)
		if got[0] != 7777 {
			t.Fatalf("dst prefix lost: %v", got)
		}
		got = got[1:]
		// Reference: all live ids ordered by (stamp, id), take n.
		var ids []uint32
		for i := range stamps {
			if !dead[i] {
				ids = append(ids, uint32(i))
			}
		}
		sort.SliceStable(ids, func(a, b int) bool { return stamps[ids[a]] < stamps[ids[b]] })
		want := ids[:min(n, len(ids))]
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Fatalf("m=%d n=%d: got %v want %v", m, n, got, want)
		}
	}
}

func TestLimit(t *testing.T) {
	oc := &operator.Context{}
	if n, err := Limit(oc); n != 0 || err != nil {
		t.Fatalf("no backend: %d %v", n, err)
	}
	oc.State = memstate.New()
	if n, err := Limit(oc); n != 0 || err != nil {
		t.Fatalf("memstate: %d %v", n, err)
	}
	oc.Config = map[string]string{Option: "100"}
	if n, err := Limit(oc); n != 100 || err != nil {
		t.Fatalf("set: %d %v", n, err)
	}
	for _, bad := range []string{"x", "-1", "3"} {
		oc.Config[Option] = bad
		if _, err := Limit(oc); err == nil {
			t.Fatalf("%q accepted", bad)
		}
	}
	if Target(100) != 75 {
		t.Fatal(Target(100))
	}
}

// diskBackend is a backend that is not memory-resident.
type diskBackend struct{ *memstate.Backend }

func (diskBackend) InMemory() bool { return false }

func TestDefaultsOnDisk(t *testing.T) {
	oc := &operator.Context{State: diskBackend{memstate.New()}}
	if n, err := Limit(oc); n != DefaultLimit || err != nil {
		t.Fatalf("limit: %d %v", n, err)
	}
	if n, err := WriteBehind(oc); n != 0 || err != nil {
		t.Fatalf("write-behind: %d %v", n, err)
	}
	oc.Config = map[string]string{WriteBehindOption: "7"}
	if n, err := WriteBehind(oc); n != 7 || err != nil {
		t.Fatalf("write-behind: %d %v", n, err)
	}
	oc.Config[WriteBehindOption] = "0"
	if _, err := WriteBehind(oc); err == nil {
		t.Fatal("0 accepted")
	}
	oc.State = memstate.New()
	if n, err := WriteBehind(oc); n != 0 || err != nil {
		t.Fatalf("memstate: %d %v", n, err)
	}
}

func TestKeyBatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var b KeyBatch
	for round := 0; round < 50; round++ {
		b.Reset()
		type kv struct {
			key string
			id  uint32
		}
		var want []kv
		for i := 0; i < rng.IntN(40); i++ {
			k := make([]byte, rng.IntN(4))
			for j := range k {
				k[j] = byte(rng.IntN(3))
			}
			id := uint32(rng.IntN(1000))
			b.Add(id, append(b.Buf(), k...))
			want = append(want, kv{string(k), id})
		}
		b.Sort()
		sort.SliceStable(want, func(i, j int) bool { return want[i].key < want[j].key })
		if b.Len() != len(want) {
			t.Fatalf("len %d want %d", b.Len(), len(want))
		}
		for i, w := range want {
			if string(b.Keys[i]) != w.key {
				t.Fatalf("round %d key %d: %x want %x", round, i, b.Keys[i], w.key)
			}
			// Equal keys may come in any order; their ids must pair up.
			found := false
			for _, x := range want {
				if x.key == w.key && x.id == b.IDs[i] {
					found = true
				}
			}
			if !found {
				t.Fatalf("round %d: id %d is not one of key %x's", round, b.IDs[i], w.key)
			}
		}
	}
}
