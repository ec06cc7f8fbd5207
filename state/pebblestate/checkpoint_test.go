package pebblestate

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/eddy-streaming/eddy/state"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/keygroup"
)

// snapshotPersist snapshots b and persists it into st.
func snapshotPersist(t *testing.T, b state.Backend, st checkpoint.Storage, id int64) (*checkpoint.BackendHandle, PersistStats) {
	t.Helper()
	ctx := context.Background()
	s, err := b.(checkpoint.SnapshotBackend).Snapshot(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.Persist(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	stats := s.(*Snapshot).Stats()
	if err := s.Release(); err != nil {
		t.Fatal(err)
	}
	return h, stats
}

// TestRoundTrip snapshots a backend at several points while it keeps
// changing (persisting on another goroutine, as the runtime does), restores
// every snapshot and compares it with the model at that point; then goes on
// from a restored backend and restores again.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, 4096)
	st := newDirStorage(t.TempDir())
	kgs := keygroup.Range{Start: 0, End: 128}
	scope := state.Scope{Job: "j", OperatorID: "agg", KeyGroups: kgs, MaxParallelism: 128}
	b, err := p.Open(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(7, 8))
	m := model{}
	type taken struct {
		h *checkpoint.BackendHandle
		m model
	}
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		snap []taken
		errs []error
	)
	id := int64(0)
	exercise(t, b, m, r, kgs, 6000, func(op int) {
		if op%1500 != 1499 {
			return
		}
		id++
		s, err := b.(*Backend).Snapshot(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		at := m.clone()
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := s.Persist(ctx, st)
			if rerr := s.Release(); err == nil {
				err = rerr
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			snap = append(snap, taken{h, at})
		}()
	})
	wg.Wait()
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(snap) != 4 {
		t.Fatalf("%d snapshots persisted, want 4", len(snap))
	}
	dir := b.(*Backend).Dir()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("working directory %s still there after Close and Release: %v", dir, err)
	}
	for i, s := range snap {
		rb, err := p.Restore(ctx, scope, st, []*checkpoint.BackendHandle{s.h})
		if err != nil {
			t.Fatal(err)
		}
		checkEqual(t, rb, s.m, fmt.Sprintf("restored snapshot %d", i))
		if i == len(snap)-1 {
			// Go on from the restored backend: new writes, a snapshot
			// that reuses the restored files, and a restore of that.
			m2 := s.m.clone()
			exercise(t, rb, m2, r, kgs, 3000, nil)
			h2, stats := snapshotPersist(t, rb, st, 100)
			if stats.UploadedFiles >= stats.Files {
				t.Errorf("a snapshot after a restore uploaded all %d files: restored files not reused", stats.Files)
			}
			rb2, err := p.Restore(ctx, scope, st, []*checkpoint.BackendHandle{h2})
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, rb2, m2, "restored snapshot of a restored backend")
			if err := rb2.Close(); err != nil {
				t.Fatal(err)
			}
		}
		if err := rb.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestIncremental checks that a second snapshot after a few changes
// uploads few files and few bytes.
func TestIncremental(t *testing.T) {
	ctx := context.Background()
	p, err := New(Config{Dir: t.TempDir(), MemTableSize: 8 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	st := newDirStorage(t.TempDir())
	scope := state.Scope{Job: "j", OperatorID: "agg", KeyGroups: keygroup.Range{Start: 0, End: 128}, MaxParallelism: 128}
	b, err := p.Open(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tab, _ := b.Table("t")
	r := rand.New(rand.NewPCG(9, 10))
	val := make([]byte, 100)
	key := func(i int) []byte { return state.AppendInt64(state.KeyPrefix(nil, i%128), int64(i)) }
	const n = 30000
	for i := 0; i < n; i++ {
		for j := range val {
			val[j] = byte(r.IntN(256)) // incompressible
		}
		if err := tab.Put(key(i), val); err != nil {
			t.Fatal(err)
		}
	}
	_, first := snapshotPersist(t, b, st, 1)
	puts1, bytes1 := st.counts()
	if first.UploadedFiles != first.Files || int64(puts1) != int64(first.Files) || bytes1 != first.Bytes || bytes1 < n*100 {
		t.Fatalf("first persist: stats %+v, storage got %d files, %d bytes", first, puts1, bytes1)
	}
	for i := 0; i < 100; i++ {
		if err := tab.Put(key(r.IntN(n)), []byte("changed")); err != nil {
			t.Fatal(err)
		}
	}
	_, second := snapshotPersist(t, b, st, 2)
	puts2, bytes2 := st.counts()
	if int64(puts2-puts1) != int64(second.UploadedFiles) || bytes2-bytes1 != second.UploadedBytes {
		t.Fatalf("second persist: stats %+v disagree with storage (%d files, %d bytes)", second, puts2-puts1, bytes2-bytes1)
	}
	// One new sstable (the flushed changes) plus the small files that
	// change every time (MANIFEST, OPTIONS, markers, log).
	t.Logf("first persist: %+v; second: %+v", first, second)
	if second.UploadedBytes*20 > first.UploadedBytes || second.UploadedFiles > 3 {
		t.Fatalf("second persist uploaded %d files, %d bytes (first: %d files, %d bytes): not incremental",
			second.UploadedFiles, second.UploadedBytes, first.UploadedFiles, first.UploadedBytes)
	}
	// A third snapshot without changes uploads only a changed manifest
	// and no sstable.
	_, third := snapshotPersist(t, b, st, 3)
	if third.UploadedBytes*20 > first.UploadedBytes {
		t.Fatalf("third persist without changes uploaded %+v", third)
	}
	// The old snapshot's sstables are reused: no sstable is uploaded twice.
	entries, _ := os.ReadDir(st.dir)
	ssts := 0
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".sst") {
			ssts++
		}
	}
	if ssts > first.Files+2 {
		t.Fatalf("storage holds %d sstables after three snapshots", ssts)
	}
}

// TestRescale snapshots 4 backends owning a quarter of 128 key groups each
// (with their tables created in different orders, so table ids differ) and
// restores them at parallelism 1, 2, 4 and 8: every new backend holds
// exactly its key groups' keys.
func TestRescale(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, 4096)
	st := newDirStorage(t.TempDir())
	const maxP, oldP = 128, 4
	r := rand.New(rand.NewPCG(11, 12))
	all := model{}
	handles := make([]*checkpoint.BackendHandle, oldP)
	names := []string{"a", "b", "window-buffer", "only-in-2"}
	for i := 0; i < oldP; i++ {
		kgs := keygroup.RangeOf(i, maxP, oldP)
		b, err := p.Open(ctx, state.Scope{Job: "j", OperatorID: "agg", Subtask: i, KeyGroups: kgs, MaxParallelism: maxP})
		if err != nil {
			t.Fatal(err)
		}
		for j := range names {
			name := names[(i+j)%len(names)]
			if name == "only-in-2" && i != 2 {
				continue
			}
			tab, _ := b.Table(name)
			ref := all.table(name)
			for n := 0; n < 600; n++ {
				k := randKey(r, kgs)
				k = append(k, fmt.Sprint(n)...)
				v := fmt.Sprint(i, "/", n)
				if err := tab.Put(k, []byte(v)); err != nil {
					t.Fatal(err)
				}
				ref[string(k)] = v
			}
			// Some deletions, including a whole key group.
			kg := state.KeyPrefix(nil, kgs.Start+r.IntN(kgs.Len()))
			if err := tab.DeleteRange(kg, state.PrefixEnd(kg)); err != nil {
				t.Fatal(err)
			}
			for k := range ref {
				if strings.HasPrefix(k, string(kg)) {
					delete(ref, k)
				}
			}
		}
		handles[i], _ = snapshotPersist(t, b, st, 1)
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
	for _, newP := range []int{1, 2, 4, 8} {
		for j := 0; j < newP; j++ {
			kgs := keygroup.RangeOf(j, maxP, newP)
			var hs []*checkpoint.BackendHandle
			for i := 0; i < oldP; i++ {
				if overlap(keygroup.RangeOf(i, maxP, oldP), kgs).Len() > 0 {
					hs = append(hs, handles[i])
				}
			}
			scope := state.Scope{Job: "j", OperatorID: "agg", Subtask: j, KeyGroups: kgs, MaxParallelism: maxP}
			b, err := p.Restore(ctx, scope, st, hs)
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, b, all.only(kgs), fmt.Sprintf("p=%d subtask %d %s", newP, j, kgs))
			// It goes on working and snapshots what it holds.
			tab, _ := b.Table("a")
			if err := tab.Put(state.KeyPrefix(nil, kgs.Start), []byte("new")); err != nil {
				t.Fatal(err)
			}
			want := all.only(kgs).clone()
			want.table("a")[string(state.KeyPrefix(nil, kgs.Start))] = "new"
			h, _ := snapshotPersist(t, b, st, 2)
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
			b2, err := p.Restore(ctx, scope, st, []*checkpoint.BackendHandle{h})
			if err != nil {
				t.Fatal(err)
			}
			checkEqual(t, b2, want, fmt.Sprintf("p=%d subtask %d restored again", newP, j))
			_ = b2.Close()
		}
	}
	// Another max parallelism is refused.
	_, err := p.Restore(ctx, state.Scope{Job: "j", OperatorID: "agg", KeyGroups: keygroup.Range{Start: 0, End: 64}, MaxParallelism: 64}, st, handles[:1])
	if err == nil || !strings.Contains(err.Error(), "max parallelism 128, the job runs at 64") {
		t.Fatalf("restore at another max parallelism: %v", err)
	}
}

// TestCorruption damages shared files (a flipped byte, a truncation, a
// missing file) and checks that Restore fails naming the file.
func TestCorruption(t *testing.T) {
	ctx := context.Background()
	p := newProvider(t, 0)
	scope := state.Scope{Job: "j", OperatorID: "agg", KeyGroups: keygroup.Range{Start: 0, End: 128}, MaxParallelism: 128}
	for _, c := range []struct {
		name   string
		pick   string // suffix of the file to damage
		damage func(path string) error
		want   string
	}{
		{"flip sst", ".sst", func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x40
			return os.WriteFile(path, b, 0o644)
		}, "SHA-256"},
		{"truncate sst", ".sst", func(path string) error {
			fi, err := os.Stat(path)
			if err != nil {
				return err
			}
			return os.Truncate(path, fi.Size()-10)
		}, "truncated"},
		{"flip manifest", "-MANIFEST-", func(path string) error {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b[len(b)-1] ^= 1
			return os.WriteFile(path, b, 0o644)
		}, "SHA-256"},
		{"missing sst", ".sst", os.Remove, "opening"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := newDirStorage(t.TempDir())
			b, err := p.Open(ctx, scope)
			if err != nil {
				t.Fatal(err)
			}
			tab, _ := b.Table("t")
			for i := 0; i < 1000; i++ {
				_ = tab.Put(state.AppendInt64(state.KeyPrefix(nil, i%128), int64(i)), []byte("value"))
			}
			h, _ := snapshotPersist(t, b, st, 1)
			_ = b.Close()
			var victim string
			for _, f := range h.Files {
				if strings.Contains(f.Name, c.pick) {
					victim = f.Name
				}
			}
			if victim == "" {
				t.Fatalf("no %s file in %+v", c.pick, h.Files)
			}
			if err := c.damage(filepath.Join(st.dir, victim)); err != nil {
				t.Fatal(err)
			}
			for _, s := range []state.Scope{scope, {Job: "j", OperatorID: "agg", KeyGroups: keygroup.Range{Start: 0, End: 64}, MaxParallelism: 128}} {
				_, err = p.Restore(ctx, s, st, []*checkpoint.BackendHandle{h})
				if err == nil || !strings.Contains(err.Error(), victim) || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("Restore of a damaged %s: %v; want an error naming %s and saying %q", c.pick, err, victim, c.want)
				}
			}
			// A handle naming a path outside the directory is refused.
			bad := *h
			bad.Files = append([]checkpoint.FileRef{{Name: "pebble-x-../escape", Size: 1}}, h.Files...)
			if _, err := p.Restore(ctx, scope, st, []*checkpoint.BackendHandle{&bad}); err == nil || !strings.Contains(err.Error(), "not a plain file name") {
				t.Fatalf("Restore of a handle naming ../escape: %v", err)
			}
		})
	}
	entries, _ := os.ReadDir(p.cfg.Dir)
	if len(entries) != 0 {
		t.Fatalf("failed restores left %d working directories", len(entries))
	}
}
