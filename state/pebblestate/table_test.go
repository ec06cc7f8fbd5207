package pebblestate

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/keygroup"
	"github.com/eddy-streaming/eddy/state/memstate"
)

// model is the reference: per table, a plain map of key to value.
type model map[string]map[string]string

func (m model) table(name string) map[string]string {
	t, ok := m[name]
	if !ok {
		t = map[string]string{}
		m[name] = t
	}
	return t
}

func (m model) clone() model {
	c := model{}
	for name, t := range m {
		ct := c.table(name)
		for k, v := range t {
			ct[k] = v
		}
	}
	return c
}

// only returns the part of m in key groups r.
func (m model) only(r keygroup.Range) model {
	c := model{}
	for name, t := range m {
		ct := c.table(name)
		for k, v := range t {
			kg, _ := state.KeyGroupOf([]byte(k))
			if r.Contains(kg) {
				ct[k] = v
			}
		}
	}
	return c
}

// refScan is a row-at-a-time scan of a model table.
func refScan(t map[string]string, lo, hi []byte) []string {
	var keys []string
	for k := range t {
		if bytes.Compare([]byte(k), lo) >= 0 && (hi == nil || bytes.Compare([]byte(k), hi) < 0) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + "=" + t[k]
	}
	return out
}

// scanAll reads a table into "key=value" strings, in scan order.
func scanAll(t *testing.T, tab state.Table, lo, hi []byte) []string {
	t.Helper()
	var got []string
	if err := tab.Scan(lo, hi, func(k, v []byte) error {
		got = append(got, string(k)+"="+string(v))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return got
}

// checkEqual checks that backend b holds exactly model m (every table m
// names, whole-table scans).
func checkEqual(t *testing.T, b state.Backend, m model, what string) {
	t.Helper()
	for name, ref := range m {
		tab, err := b.Table(name)
		if err != nil {
			t.Fatal(err)
		}
		got := scanAll(t, tab, nil, nil)
		want := refScan(ref, nil, nil)
		if strings.Join(got, ",") != strings.Join(want, ",") {
			i := 0
			for i < len(got) && i < len(want) && got[i] == want[i] {
				i++
			}
			t.Fatalf("%s: table %q holds %d entries, the model %d; first difference at %d:\n got %q\nwant %q", what, name, len(got), len(want), i, trunc(got[i:]), trunc(want[i:]))
		}
	}
}

func trunc(s []string) []string {
	if len(s) > 8 {
		return append(s[:8:8], "...")
	}
	return s
}

// randKey draws a key in key groups r: key group, a time component and a
// small suffix, so that keys collide often.
func randKey(r *rand.Rand, kgs keygroup.Range) []byte {
	k := state.KeyPrefix(nil, kgs.Start+r.IntN(kgs.Len()))
	k = state.AppendInt64(k, r.Int64N(9)-4)
	return append(k, byte(r.IntN(4)))
}

// exercise applies n random operations to tables of b and to m, checking
// every read and scan against m, and the copying semantics of the table
// contract: inputs are copied, outputs stay valid until the next
// modification. after, if set, runs every 500 operations.
func exercise(t *testing.T, b state.Backend, m model, r *rand.Rand, kgs keygroup.Range, n int, after func(op int)) {
	t.Helper()
	names := []string{"a", "b", "window-buffer"}
	buf := make([]byte, 0, 32)
	kbuf := make([]byte, 0, 32)
	for op := 0; op < n; op++ {
		if after != nil && op%500 == 499 {
			after(op)
		}
		name := names[r.IntN(len(names))]
		tab, err := b.Table(name)
		if err != nil {
			t.Fatal(err)
		}
		ref := m.table(name)
		switch r.IntN(8) {
		case 0, 1, 2:
			// Reused key and value buffers: the table must copy both.
			kbuf = append(kbuf[:0], randKey(r, kgs)...)
			buf = append(buf[:0], fmt.Sprint(r.IntN(1000), "-", strings.Repeat("v", r.IntN(3)))...)
			if r.IntN(20) == 0 {
				buf = buf[:0] // empty values exist
			}
			if err := tab.Put(kbuf, buf); err != nil {
				t.Fatal(err)
			}
			ref[string(kbuf)] = string(buf)
			for i := range buf {
				buf[i] = '!'
			}
			kbuf[len(kbuf)-1] = 0xee
		case 3:
			// Two Gets: the first value stays valid across the second.
			k1, k2 := randKey(r, kgs), randKey(r, kgs)
			v1, ok1, err1 := tab.Get(k1)
			v2, ok2, err2 := tab.Get(k2)
			for _, c := range []struct {
				k, v   []byte
				ok     bool
				err    error
				labels string
			}{{k1, v1, ok1, err1, "first"}, {k2, v2, ok2, err2, "second"}} {
				want, wok := ref[string(c.k)]
				if c.err != nil || c.ok != wok || string(c.v) != want {
					t.Fatalf("op %d: %s Get(%x) on %q = %q, %v, %v; want %q, %v", op, c.labels, c.k, name, c.v, c.ok, c.err, want, wok)
				}
			}
		case 4:
			k := randKey(r, kgs)
			if err := tab.Delete(k); err != nil {
				t.Fatal(err)
			}
			delete(ref, string(k))
		case 5, 6:
			lo, hi := randKey(r, kgs), randKey(r, kgs)
			switch r.IntN(6) {
			case 0:
				hi = nil
			case 1:
				lo = nil
			case 2:
				lo = state.KeyPrefix(nil, kgs.Start+r.IntN(kgs.Len()))
				hi = state.PrefixEnd(lo)
			}
			// Keep the handed-out slices and check them after the scan (and
			// after reads of the table): valid until a modification.
			var keys, vals [][]byte
			if err := tab.Scan(lo, hi, func(k, v []byte) error {
				keys, vals = append(keys, k), append(vals, v)
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			_, _, _ = tab.Get(randKey(r, kgs))
			got := make([]string, len(keys))
			for i := range keys {
				got[i] = string(keys[i]) + "=" + string(vals[i])
			}
			if want := refScan(ref, lo, hi); strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("op %d: Scan(%x, %x) on %q = %q, want %q", op, lo, hi, name, trunc(got), trunc(want))
			}
		case 7:
			if r.IntN(4) != 0 {
				continue
			}
			lo, hi := randKey(r, kgs), randKey(r, kgs)
			if r.IntN(5) == 0 {
				hi = nil
			}
			if err := tab.DeleteRange(lo, hi); err != nil {
				t.Fatal(err)
			}
			for k := range ref {
				if bytes.Compare([]byte(k), lo) >= 0 && (hi == nil || bytes.Compare([]byte(k), hi) < 0) {
					delete(ref, k)
				}
			}
		}
	}
	checkEqual(t, b, m, "after random operations")
}

// TestTableConformance runs the same random operations against memstate
// (the reference backend) and pebblestate, each checked against a map.
func TestTableConformance(t *testing.T) {
	ctx := context.Background()
	kgs := keygroup.Range{Start: 0, End: 128}
	scope := state.Scope{Job: "j", OperatorID: "op", KeyGroups: kgs, MaxParallelism: 128}
	t.Run("memstate", func(t *testing.T) {
		b, err := memstate.Provider{}.Open(ctx, scope)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		exercise(t, b, model{}, rand.New(rand.NewPCG(1, 2)), kgs, 10000, nil)
	})
	for _, batch := range []int{64, 1 << 20} {
		t.Run(fmt.Sprintf("pebblestate/batch=%d", batch), func(t *testing.T) {
			p := newProvider(t, batch)
			b, err := p.Open(ctx, scope)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			sb := b.(*Backend)
			// Snapshots in between flush the memtable, so reads go
			// through sstables, the memtable and the batch.
			exercise(t, b, model{}, rand.New(rand.NewPCG(1, 2)), kgs, 10000, func(op int) {
				if op%1000 != 999 {
					return
				}
				s, err := sb.Snapshot(ctx, int64(op))
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Release(); err != nil {
					t.Fatal(err)
				}
			})
		})
	}
}

func newProvider(t testing.TB, batch int) *Provider {
	p, err := New(Config{Dir: t.TempDir(), CacheSize: 8 << 20, MemTableSize: 1 << 20, BatchSize: batch})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

func TestTableSameNameAndErrors(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, 0)
	scope := state.Scope{Job: "j/x", OperatorID: "op 1", Subtask: 1, KeyGroups: keygroup.Range{Start: 32, End: 64}, MaxParallelism: 128}
	b, err := p.Open(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	t1, _ := b.Table("t")
	t2, _ := b.Table("t")
	if t1 != t2 {
		t.Fatal("Table returned a different table for the same name")
	}
	if err := t1.Put([]byte{1}, nil); err == nil || !strings.Contains(err.Error(), "shorter than its key group") {
		t.Fatalf("Put of a one-byte key: %v", err)
	}
	err = t1.Put(state.KeyPrefix(nil, 64), nil)
	if err == nil || !strings.Contains(err.Error(), "key group 64, outside the subtask's key groups [32, 64)") {
		t.Fatalf("Put outside the key groups: %v", err)
	}
	stop := fmt.Errorf("stop")
	for i := 32; i < 40; i++ {
		if err := t1.Put(state.KeyPrefix(nil, i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	if err := t1.Scan(nil, nil, func(k, v []byte) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	}); err != stop || n != 3 {
		t.Fatalf("Scan returned %v after %d entries; want the callback's error after 3", err, n)
	}
	dir := b.(*Backend).Dir()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := t1.Get(state.KeyPrefix(nil, 33)); err == nil || !strings.Contains(err.Error(), "closed") {
		t.Fatalf("Get after Close: %v", err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("Close left the working directory %s", dir)
	}
}
