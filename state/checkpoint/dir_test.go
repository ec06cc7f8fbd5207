package checkpoint

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRetentionAndSharedGC commits random checkpoints and savepoints whose
// backends share files, and checks after every commit, against a model,
// what is listed, what Latest and Load return and which shared files remain:
// exactly those referenced by the kept checkpoints and all savepoints.
func TestRetentionAndSharedGC(t *testing.T) {
	ctx := context.Background()
	for seed := int64(1); seed <= 4; seed++ {
		rng := rand.New(rand.NewSource(seed))
		retain := 1 + rng.Intn(3)
		dir := t.TempDir()
		st := openDir(t, dir, DirOptions{Retain: retain, PendingGrace: -1})
		pool := randBlobs(rng, 25, fmt.Sprintf("s%d", seed))
		var chks, sps []*Metadata
		id := int64(0)
		for step := 0; step < 30; step++ {
			id += 1 + int64(rng.Intn(2))
			p := 1 + rng.Intn(4)
			files := make([][]blob, p)
			for i := range files {
				for range rng.Intn(5) {
					files[i] = append(files[i], pool[rng.Intn(len(pool))])
				}
				files[i] = slices.CompactFunc(files[i], func(a, b blob) bool { return a.name == b.name })
			}
			put(t, st, slices.Concat(files...)...)
			m := meta(id, 64, files)
			m.Savepoint = rng.Intn(7) == 0
			if err := st.Commit(ctx, m); err != nil {
				t.Fatalf("seed %d step %d: commit: %v", seed, step, err)
			}
			if m.Savepoint {
				sps = append(sps, m)
			} else {
				chks = append(chks, m)
			}
			kept := chks[max(0, len(chks)-retain):]

			ids, err := st.List(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := idsOf(kept); !slices.Equal(ids, want) {
				t.Fatalf("seed %d step %d: List = %v, want %v", seed, step, ids, want)
			}
			spIDs, err := st.Savepoints(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if want := idsOf(sps); !slices.Equal(spIDs, want) {
				t.Fatalf("seed %d step %d: Savepoints = %v, want %v", seed, step, spIDs, want)
			}
			refs := map[string]bool{}
			for _, k := range slices.Concat(kept, sps) {
				for _, f := range k.Files() {
					refs[f.Name] = true
				}
			}
			var want []string
			for n := range refs {
				want = append(want, n)
			}
			sort.Strings(want)
			if got := sharedNames(t, dir); !slices.Equal(got, want) {
				t.Fatalf("seed %d step %d: shared files\n got %v\nwant %v", seed, step, got, want)
			}
			latest, skipped, err := st.Latest(ctx)
			if err != nil || len(skipped) > 0 {
				t.Fatalf("Latest: %v %v", skipped, err)
			}
			if !reflect.DeepEqual(latest, m) {
				t.Fatalf("seed %d step %d: Latest = %+v, want %+v", seed, step, latest, m)
			}
			for _, k := range slices.Concat(kept, sps) {
				got, err := st.Load(ctx, st.PathOf(k))
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, k) {
					t.Fatalf("Load %d = %+v, want %+v", k.ID, got, k)
				}
			}
		}
	}
}

func idsOf(ms []*Metadata) []int64 {
	var out []int64
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// damage is one way of damaging the newest checkpoint.
type damage struct {
	name string
	// cheap: Latest's size check sees it (otherwise only a full check).
	cheap bool
	apply func(t *testing.T, dir string, m *Metadata, rng *rand.Rand)
}

var damages = []damage{
	{"flipped metadata byte", true, func(t *testing.T, dir string, m *Metadata, rng *rand.Rand) {
		flipByte(t, filepath.Join(dir, entryName(m.ID, false), MetadataName), rng)
	}},
	{"truncated metadata", true, func(t *testing.T, dir string, m *Metadata, rng *rand.Rand) {
		truncateFile(t, filepath.Join(dir, entryName(m.ID, false), MetadataName), rng)
	}},
	{"missing shared file", true, func(t *testing.T, dir string, m *Metadata, rng *rand.Rand) {
		if err := os.Remove(filepath.Join(dir, sharedDirName, ownFile(m))); err != nil {
			t.Fatal(err)
		}
	}},
	{"short shared file", true, func(t *testing.T, dir string, m *Metadata, rng *rand.Rand) {
		truncateFile(t, filepath.Join(dir, sharedDirName, ownFile(m)), rng)
	}},
	{"flipped shared byte", false, func(t *testing.T, dir string, m *Metadata, rng *rand.Rand) {
		flipByte(t, filepath.Join(dir, sharedDirName, ownFile(m)), rng)
	}},
}

// ownFile is a file of m's first subtask that no other checkpoint shares
// (the tests give each checkpoint one such file first).
func ownFile(m *Metadata) string { return m.Operators["agg"].Subtasks[0].Backend.Files[0].Name }

// TestDamagedCheckpointSkipped damages the newest of three checkpoints in
// each way: Latest (or, for damage only a checksum sees, FindRestore) skips
// it, says why, and returns the previous one; Load of it fails.
func TestDamagedCheckpointSkipped(t *testing.T) {
	ctx := context.Background()
	for di, d := range damages {
		t.Run(d.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(int64(di)))
			dir := t.TempDir()
			st := openDir(t, dir, DirOptions{})
			common := randBlobs(rng, 3, "common")
			put(t, st, common...)
			var ms []*Metadata
			for id := int64(1); id <= 3; id++ {
				own := randBlobs(rng, 2, fmt.Sprintf("own%d", id))
				for len(own[0].data) == 0 {
					own = randBlobs(rng, 2, fmt.Sprintf("own%d", id))
				}
				put(t, st, own...)
				m := meta(id, 128, [][]blob{{own[0], common[0]}, {common[1], own[1], common[2]}})
				if err := st.Commit(ctx, m); err != nil {
					t.Fatal(err)
				}
				ms = append(ms, m)
			}
			d.apply(t, dir, ms[2], rng)

			check := func(what string, got *Metadata, skipped []error, err error) {
				t.Helper()
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if !reflect.DeepEqual(got, ms[1]) {
					t.Fatalf("%s returned %+v, want checkpoint 2", what, got)
				}
				if len(skipped) != 1 || !errors.Is(skipped[0], ErrCorrupt) || !strings.Contains(skipped[0].Error(), "chk-3") {
					t.Fatalf("%s: skipped = %v, want one ErrCorrupt naming chk-3", what, skipped)
				}
				t.Logf("%s skipped: %v", what, skipped[0])
			}
			m, skipped, err := st.Latest(ctx)
			if d.cheap {
				check("Latest", m, skipped, err)
			} else if err != nil || m.ID != 3 {
				t.Fatalf("Latest without checksums: %v %v", m, err)
			}
			m, skipped, err = FindRestore(ctx, st, dir)
			check("FindRestore", m, skipped, err)
			full := openDir(t, dir, DirOptions{VerifyChecksums: true})
			m, skipped, err = full.Latest(ctx)
			check("Latest with checksums", m, skipped, err)

			if _, err := full.Load(ctx, "3"); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Load of the damaged checkpoint: %v", err)
			}
			if _, _, err := FindRestore(ctx, st, filepath.Join(dir, "chk-3")); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("FindRestore of the damaged checkpoint: %v", err)
			}
			if err := VerifyFiles(ctx, st, ms[1]); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestPartialAndOrdering: a checkpoint directory without metadata does not
// exist; IDs must increase; a later commit removes partial directories.
func TestPartialAndOrdering(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(3))
	dir := t.TempDir()
	st := openDir(t, dir, DirOptions{Retain: 5})
	bs := randBlobs(rng, 4, "f")
	put(t, st, bs...)
	for _, id := range []int64{2, 5} {
		if err := st.Commit(ctx, meta(id, 16, [][]blob{bs[:2]})); err != nil {
			t.Fatal(err)
		}
	}
	// A crashed commit: a directory, a temporary, no metadata.
	partial := filepath.Join(dir, "chk-6")
	if err := os.Mkdir(partial, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(partial, "._metadata.tmp-1"), []byte("EDDY-CHECK"), 0o644); err != nil {
		t.Fatal(err)
	}
	ids, _ := st.List(ctx)
	if !slices.Equal(ids, []int64{2, 5}) {
		t.Fatalf("List = %v", ids)
	}
	if m, skipped, err := st.Latest(ctx); err != nil || m.ID != 5 || len(skipped) != 0 {
		t.Fatalf("Latest = %v %v %v", m, skipped, err)
	}
	if _, err := st.Load(ctx, "6"); err == nil {
		t.Fatal("Load of a partial checkpoint succeeded")
	}
	if _, _, err := FindRestore(ctx, st, partial); err == nil || !strings.Contains(err.Error(), "not a complete checkpoint") {
		t.Fatalf("FindRestore of a partial checkpoint: %v", err)
	}
	for _, id := range []int64{5, 4, 1} {
		if err := st.Commit(ctx, meta(id, 16, [][]blob{bs[:1]})); err == nil {
			t.Fatalf("commit of checkpoint %d after 5 succeeded", id)
		} else {
			t.Log(err)
		}
	}
	// A checkpoint referencing a file that is not stored is refused.
	missing := randBlobs(rng, 1, "missing")
	if err := st.Commit(ctx, meta(7, 16, [][]blob{missing})); err == nil || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("commit referencing a missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "chk-7", MetadataName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("refused checkpoint has metadata: %v", err)
	}
	if err := st.Commit(ctx, meta(6, 16, [][]blob{bs[2:]})); err != nil {
		t.Fatal(err) // the partial directory of 6 is reused
	}
	if err := os.Mkdir(filepath.Join(dir, "chk-3"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, meta(8, 16, [][]blob{bs[2:]})); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "chk-3")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("partial chk-3 was not removed: %v", err)
	}
	ids, _ = st.List(ctx)
	if !slices.Equal(ids, []int64{2, 5, 6, 8}) {
		t.Fatalf("List = %v", ids)
	}
	// A savepoint may have any new ID but not be written twice.
	if err := st.Commit(ctx, &Metadata{ID: 3, Savepoint: true, MaxParallelism: 16}); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(ctx, &Metadata{ID: 3, Savepoint: true, MaxParallelism: 16}); err == nil {
		t.Fatal("savepoint 3 written twice")
	}
	if m, err := st.Load(ctx, "savepoint-3"); err != nil || !m.Savepoint {
		t.Fatalf("Load savepoint-3: %v %v", m, err)
	}
	if m, err := st.Load(ctx, "3"); err != nil || !m.Savepoint {
		t.Fatalf("Load 3: %v %v", m, err)
	}
}

// TestPendingFilesSurviveCollection: files stored (or found) for a
// checkpoint not committed yet survive other checkpoints' collection until
// PendingGrace passes; orphaned temporaries of a crash are removed.
func TestPendingFilesSurviveCollection(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(4))
	dir := t.TempDir()
	st := openDir(t, dir, DirOptions{Retain: 1, PendingGrace: time.Minute})
	clock := time.Unix(1e9, 0)
	st.now = func() time.Time { return clock }
	a, b, c := randBlobs(rng, 1, "a")[0], randBlobs(rng, 1, "b")[0], randBlobs(rng, 1, "c")[0]
	put(t, st, a)
	if err := st.Commit(ctx, meta(1, 8, [][]blob{{a}})); err != nil {
		t.Fatal(err)
	}
	// Checkpoint 3 is in flight: it uploaded b and found a.
	put(t, st, b)
	if ok, err := st.HasShared(ctx, a.name, int64(len(a.data))); err != nil || !ok {
		t.Fatalf("HasShared(a) = %v %v", ok, err)
	}
	if ok, _ := st.HasShared(ctx, a.name, int64(len(a.data))+1); ok {
		t.Fatal("HasShared with the wrong size = true")
	}
	// A crash's leftover temporary, old enough to be an orphan.
	orphan := filepath.Join(dir, sharedDirName, ".x.sst"+tempMarker+"123")
	if err := os.WriteFile(orphan, []byte("partial"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := clock.Add(-time.Hour)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}
	// Checkpoint 2 completes meanwhile, referencing only c: 1 retires.
	put(t, st, c)
	if err := st.Commit(ctx, meta(2, 8, [][]blob{{c}})); err != nil {
		t.Fatal(err)
	}
	if got, want := sharedNames(t, dir), []string{a.name, b.name, c.name}; !slices.Equal(got, want) {
		t.Fatalf("after commit 2: %v, want %v", got, want)
	}
	if err := st.Commit(ctx, meta(3, 8, [][]blob{{a, b}})); err != nil {
		t.Fatal(err)
	}
	if got, want := sharedNames(t, dir), []string{a.name, b.name}; !slices.Equal(got, want) {
		t.Fatalf("after commit 3: %v, want %v", got, want)
	}
	// A failed checkpoint's upload goes once PendingGrace has passed.
	d := randBlobs(rng, 1, "d")[0]
	put(t, st, d, c)
	if err := st.Commit(ctx, meta(4, 8, [][]blob{{b}})); err != nil {
		t.Fatal(err)
	}
	if got, want := sharedNames(t, dir), []string{b.name, c.name, d.name}; !slices.Equal(got, want) {
		t.Fatalf("after commit 4: %v, want %v", got, want)
	}
	clock = clock.Add(2 * time.Minute)
	if err := st.Commit(ctx, meta(5, 8, [][]blob{{b}})); err != nil {
		t.Fatal(err)
	}
	if got, want := sharedNames(t, dir), []string{b.name}; !slices.Equal(got, want) {
		t.Fatalf("after commit 5: %v, want %v", got, want)
	}
	// A new process (no pending files) collects an unreferenced file at once.
	st2 := openDir(t, dir, DirOptions{Retain: 1})
	put(t, st2, d)
	st3 := openDir(t, dir, DirOptions{Retain: 1})
	if err := st3.Commit(ctx, meta(6, 8, [][]blob{{b}})); err != nil {
		t.Fatal(err)
	}
	if got, want := sharedNames(t, dir), []string{b.name}; !slices.Equal(got, want) {
		t.Fatalf("after commit 6: %v, want %v", got, want)
	}
}

// TestConcurrentPutShared: goroutines store the same names at once while
// others read them: every reader sees no file or the whole file, and the
// storage ends with exactly the files and no temporaries.
func TestConcurrentPutShared(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(5))
	dir := t.TempDir()
	st := openDir(t, dir, DirOptions{})
	bs := randBlobs(rng, 4, "f")
	for i := range bs {
		bs[i].data = append(bs[i].data, make([]byte, 200_000)...)
		rng.Read(bs[i].data)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 8 {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := range bs {
				b := bs[(i+g)%len(bs)]
				if err := st.PutShared(ctx, b.name, int64(len(b.data)), slowReader{bytes.NewReader(b.data)}); err != nil {
					errs <- err
				}
			}
		}()
		go func() {
			defer wg.Done()
			for range 50 {
				b := bs[g%len(bs)]
				rc, err := st.OpenShared(ctx, b.name)
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					errs <- err
				} else if !bytes.Equal(got, b.data) {
					errs <- fmt.Errorf("reader saw %d bytes of %s, want all %d", len(got), b.name, len(b.data))
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []string
	for _, b := range bs {
		want = append(want, b.name)
	}
	if got := sharedNames(t, dir); !slices.Equal(got, want) {
		t.Fatalf("shared = %v, want %v", got, want)
	}
	m := meta(1, 8, [][]blob{bs})
	if err := st.Commit(ctx, m); err != nil {
		t.Fatal(err)
	}
	if err := VerifyFiles(ctx, st, m); err != nil {
		t.Fatal(err)
	}
}

// slowReader hands out small pieces, so concurrent writers interleave.
type slowReader struct{ r io.Reader }

func (s slowReader) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), 4096)]) }

func TestPutSharedErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openDir(t, dir, DirOptions{})
	cases := []struct {
		name string
		size int64
		data string
		want string
	}{
		{"a.sst", 10, "short", "ended after 5 of 10 bytes"},
		{"a.sst", 2, "long", "more than the 2 bytes"},
		{"../a", 1, "x", "starts with a dot"},
		{"x/y", 1, "x", "character '/'"},
		{"", 1, "x", "empty"},
	}
	for _, c := range cases {
		err := st.PutShared(ctx, c.name, c.size, strings.NewReader(c.data))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("PutShared(%q, %d, %q) = %v, want %q", c.name, c.size, c.data, err, c.want)
		}
	}
	if got := sharedNames(t, dir); len(got) != 0 {
		t.Fatalf("failed puts left %v", got)
	}
	if _, err := st.OpenShared(ctx, "nothing.sst"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenShared of a missing file: %v", err)
	}
	// A damaged stored file (wrong size) is replaced by a new put.
	put(t, st, blob{"b.sst", []byte("hello")})
	if err := os.WriteFile(filepath.Join(dir, sharedDirName, "b.sst"), []byte("hel"), 0o644); err != nil {
		t.Fatal(err)
	}
	put(t, st, blob{"b.sst", []byte("hello")})
	if got, _ := os.ReadFile(filepath.Join(dir, sharedDirName, "b.sst")); string(got) != "hello" {
		t.Fatalf("b.sst = %q", got)
	}
	if _, err := NewDirStorage(dir, -1); err == nil {
		t.Fatal("negative retain accepted")
	}
}

// TestConcurrentCheckpoints runs two overlapping checkpoint flows (the
// persist of checkpoint k+1 runs while k commits and collects), with a
// reader calling Latest and List meanwhile: every commit succeeds, every
// Latest is intact, and the last checkpoint verifies.
func TestConcurrentCheckpoints(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := openDir(t, dir, DirOptions{Retain: 1})
	const n = 40
	file := func(i int64) blob {
		r := rand.New(rand.NewSource(i))
		data := make([]byte, 1+r.Intn(2000))
		r.Read(data)
		return blob{name: fmt.Sprintf("f-%04d.sst", i), data: data}
	}
	turn := make([]chan struct{}, n+2)
	for i := range turn {
		turn[i] = make(chan struct{})
	}
	errs := make(chan error, 2*n+10)
	flow := func(first int64) {
		for k := first; k <= n; k += 2 {
			var files []blob
			for _, i := range []int64{k - 5, k - 2, k - 1, k} {
				if i >= 1 {
					files = append(files, file(i))
				}
			}
			for _, b := range files {
				ok, err := st.HasShared(ctx, b.name, int64(len(b.data)))
				if err == nil && !ok {
					err = st.PutShared(ctx, b.name, int64(len(b.data)), bytes.NewReader(b.data))
				}
				if err != nil {
					errs <- err
				}
			}
			<-turn[k] // commits happen in ID order
			if err := st.Commit(ctx, meta(k, 16, [][]blob{files})); err != nil {
				errs <- fmt.Errorf("commit %d: %w", k, err)
			}
			close(turn[k+1])
		}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); flow(1) }()
	go func() { defer wg.Done(); flow(2) }()
	go func() {
		defer wg.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			m, skipped, err := st.Latest(ctx)
			if err != nil || len(skipped) > 0 {
				errs <- fmt.Errorf("Latest during commits: %v %v", skipped, err)
				return
			}
			if m != nil {
				if _, err := st.List(ctx); err != nil {
					errs <- err
				}
			}
		}
	}()
	close(turn[1])
	<-turn[n+1]
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	m, _, err := FindRestore(ctx, st, dir)
	if err != nil || m.ID != n {
		t.Fatalf("FindRestore = %v %v", m, err)
	}
	if ids, _ := st.List(ctx); !slices.Equal(ids, []int64{n}) {
		t.Fatalf("List = %v", ids)
	}
}
