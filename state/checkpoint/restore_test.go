package checkpoint

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

func TestFindRestore(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewSource(6))
	dir := t.TempDir()
	st := openDir(t, dir, DirOptions{})

	// Nothing yet: start from the beginning.
	for _, ref := range []string{dir, t.TempDir()} {
		if m, skipped, err := FindRestore(ctx, st, ref); m != nil || skipped != nil || err != nil {
			t.Fatalf("FindRestore(%s) on an empty directory = %v %v %v", ref, m, skipped, err)
		}
	}

	bs := randBlobs(rng, 6, "f")
	put(t, st, bs...)
	m1, m2 := meta(1, 32, [][]blob{bs[:2], bs[2:3]}), meta(2, 32, [][]blob{bs[1:4], bs[4:]})
	for _, m := range []*Metadata{m1, m2} {
		if err := st.Commit(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		ref  string
		want *Metadata
	}{
		{dir, m2},
		{dir + "/", m2},
		{filepath.Join(dir, "chk-1"), m1},
		{filepath.Join(dir, "chk-1", MetadataName), m1},
		{filepath.Join(dir, "chk-2", MetadataName), m2},
		{"1", m1},
	}
	for _, c := range cases {
		m, skipped, err := FindRestore(ctx, st, c.ref)
		if err != nil || len(skipped) != 0 {
			t.Fatalf("FindRestore(%s): %v %v", c.ref, skipped, err)
		}
		if !reflect.DeepEqual(m, c.want) {
			t.Fatalf("FindRestore(%s) = checkpoint %d, want %d", c.ref, m.ID, c.want.ID)
		}
	}
	bad := []struct{ ref, want string }{
		{filepath.Join(dir, "nothing"), "no such checkpoint directory or file"},
		{"9", "no complete checkpoint or savepoint 9"},
		{"", "empty"},
		{filepath.Join(dir, sharedDirName, bs[0].name), "must be a checkpoint's _metadata"},
	}
	for _, c := range bad {
		if _, _, err := FindRestore(ctx, st, c.ref); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FindRestore(%q) = %v, want an error containing %q", c.ref, err, c.want)
		}
	}
	if _, err := st.Load(ctx, "bogus"); err == nil || !strings.Contains(err.Error(), "names no checkpoint") {
		t.Errorf("Load(bogus) = %v", err)
	}

	// A savepoint newer than the checkpoints is what a directory resumes from.
	sp := meta(3, 32, [][]blob{bs[5:]})
	sp.Savepoint = true
	if err := st.Commit(ctx, sp); err != nil {
		t.Fatal(err)
	}
	if m, _, err := FindRestore(ctx, st, dir); err != nil || !reflect.DeepEqual(m, sp) {
		t.Fatalf("FindRestore(dir) with a savepoint = %v %v", m, err)
	}

	// Another directory: its checkpoint's files are copied into st, the
	// other directory is left as it was.
	other := t.TempDir()
	ost := openDir(t, other, DirOptions{})
	obs := randBlobs(rng, 4, "other")
	put(t, ost, obs...)
	put(t, ost, bs[0]) // one that st holds already
	om := meta(40, 32, [][]blob{obs[:2], {obs[2], bs[0]}})
	if err := ost.Commit(ctx, om); err != nil {
		t.Fatal(err)
	}
	om2 := meta(41, 32, [][]blob{obs[3:]})
	if err := ost.Commit(ctx, om2); err != nil {
		t.Fatal(err)
	}
	before := sharedNames(t, other)
	m, _, err := FindRestore(ctx, st, filepath.Join(other, "chk-40"))
	if err != nil || !reflect.DeepEqual(m, om) {
		t.Fatalf("FindRestore(other chk-40) = %v %v", m, err)
	}
	if err := VerifyFiles(ctx, st, m); err != nil {
		t.Fatalf("the restored checkpoint's files in st: %v", err)
	}
	m, _, err = FindRestore(ctx, st, other)
	if err != nil || !reflect.DeepEqual(m, om2) {
		t.Fatalf("FindRestore(other) = %v %v", m, err)
	}
	if err := VerifyFiles(ctx, st, m); err != nil {
		t.Fatal(err)
	}
	if after := sharedNames(t, other); !slices.Equal(before, after) {
		t.Fatalf("the other directory changed: %v -> %v", before, after)
	}
	if ids, _ := ost.List(ctx); !slices.Equal(ids, []int64{40, 41}) {
		t.Fatalf("the other directory's checkpoints: %v", ids)
	}
	// The job goes on checkpointing into st with the imported files.
	if err := st.Commit(ctx, meta(42, 32, [][]blob{{obs[0], obs[3]}})); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, filepath.Join(other, "chk-40")); err == nil || !strings.Contains(err.Error(), "not in this storage") {
		t.Fatalf("Load of another directory's checkpoint: %v", err)
	}
	if _, err := os.Stat(filepath.Join(other, "chk-42")); !os.IsNotExist(err) {
		t.Fatalf("st wrote into the other directory: %v", err)
	}
}

func TestNextID(t *testing.T) {
	ctx := context.Background()
	st, err := NewDirStorage(t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := NextID(ctx, st, nil); err != nil || id != 1 {
		t.Fatalf("NextID of an empty storage = %d %v", id, err)
	}
	if id, _ := NextID(ctx, st, &Metadata{ID: 9}); id != 10 {
		t.Fatalf("NextID after restoring 9 = %d", id)
	}
	for _, m := range []*Metadata{{ID: 4, MaxParallelism: 8}, {ID: 12, MaxParallelism: 8, Savepoint: true}} {
		if err := st.Commit(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if id, _ := NextID(ctx, st, &Metadata{ID: 4}); id != 13 {
		t.Fatalf("NextID with savepoint 12 = %d", id)
	}
	if err := st.Commit(ctx, &Metadata{ID: 13, MaxParallelism: 8}); err != nil {
		t.Fatal(err)
	}
}
