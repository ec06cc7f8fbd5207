package checkpoint

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/eddy-streaming/eddy/state/keygroup"
)

// blob is a shared file of the tests: a name and random content.
type blob struct {
	name string
	data []byte
}

func (b blob) ref() FileRef {
	sum := sha256.Sum256(b.data)
	return FileRef{Name: b.name, Size: int64(len(b.data)), SHA256: hex.EncodeToString(sum[:])}
}

func randBlobs(rng *rand.Rand, n int, prefix string) []blob {
	out := make([]blob, n)
	for i := range out {
		data := make([]byte, rng.Intn(3000))
		rng.Read(data)
		out[i] = blob{name: fmt.Sprintf("%s-%06d.sst", prefix, i), data: data}
	}
	return out
}

func put(t *testing.T, st Storage, bs ...blob) {
	t.Helper()
	for _, b := range bs {
		if err := st.PutShared(context.Background(), b.name, int64(len(b.data)), bytes.NewReader(b.data)); err != nil {
			t.Fatalf("PutShared %s: %v", b.name, err)
		}
	}
}

// meta builds checkpoint id of operator "agg" at parallelism p (max
// parallelism maxP), subtask i's backend made of files[i].
func meta(id int64, maxP int, files [][]blob) *Metadata {
	p := len(files)
	op := &OperatorState{Parallelism: p}
	for i := range p {
		st := &SubtaskState{Subtask: i, KeyGroups: keygroup.RangeOf(i, maxP, p), Watermark: id*1000 + int64(i)}
		h := &BackendHandle{Kind: "test", Meta: map[string]string{"subtask": fmt.Sprint(i)}}
		for _, b := range files[i] {
			h.Files = append(h.Files, b.ref())
		}
		st.Backend = h
		op.Subtasks = append(op.Subtasks, st)
	}
	return &Metadata{Format: FormatVersion, Job: "job", ID: id, TimestampMs: 1700000000000 + id, MaxParallelism: maxP,
		Operators: map[string]*OperatorState{"agg": op}}
}

// sharedNames lists the shared directory (temporaries included).
func sharedNames(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(dir, sharedDirName))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	sort.Strings(out)
	return out
}

func flipByte(t *testing.T, path string, rng *rand.Rand) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := rng.Intn(len(data))
	data[i] ^= byte(1 + rng.Intn(255))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func truncateFile(t *testing.T, path string, rng *rand.Rand) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, rng.Int63n(fi.Size())); err != nil {
		t.Fatal(err)
	}
}

func openDir(t *testing.T, dir string, opts DirOptions) *DirStorage {
	t.Helper()
	s, err := OpenDirStorage(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
