package pebblestate

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"

	"github.com/eddy-streaming/eddy/state/checkpoint"
)

// dirStorage is a small directory-backed checkpoint.Storage for the tests:
// shared files are files in a directory, metadata is kept in memory. It
// counts the uploads.
type dirStorage struct {
	dir string

	mu       sync.Mutex
	puts     int
	putBytes int64
	metas    map[int64]*checkpoint.Metadata
}

func newDirStorage(dir string) *dirStorage {
	return &dirStorage{dir: dir, metas: map[int64]*checkpoint.Metadata{}}
}

func (s *dirStorage) path(name string) string { return filepath.Join(s.dir, name) }

func (s *dirStorage) HasShared(ctx context.Context, name string, size int64) (bool, error) {
	fi, err := os.Stat(s.path(name))
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return fi.Size() == size, nil
}

func (s *dirStorage) PutShared(ctx context.Context, name string, size int64, r io.Reader) error {
	if ok, err := s.HasShared(ctx, name, size); err != nil || ok {
		return err
	}
	tmp, err := os.CreateTemp(s.dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if n != size {
		return fmt.Errorf("dirStorage: %s: got %d bytes, want %d", name, n, size)
	}
	if err := os.Rename(tmp.Name(), s.path(name)); err != nil {
		return err
	}
	s.mu.Lock()
	s.puts++
	s.putBytes += size
	s.mu.Unlock()
	return nil
}

func (s *dirStorage) OpenShared(ctx context.Context, name string) (io.ReadCloser, error) {
	return os.Open(s.path(name))
}

func (s *dirStorage) Commit(ctx context.Context, m *checkpoint.Metadata) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.metas[m.ID] = m
	return nil
}

func (s *dirStorage) Latest(ctx context.Context) (*checkpoint.Metadata, []error, error) {
	ids, _ := s.List(ctx)
	if len(ids) == 0 {
		return nil, nil, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metas[ids[len(ids)-1]], nil, nil
}

func (s *dirStorage) Load(ctx context.Context, ref string) (*checkpoint.Metadata, error) {
	id, err := strconv.ParseInt(ref, 10, 64)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.metas[id]
	if !ok {
		return nil, fmt.Errorf("dirStorage: no checkpoint %d", id)
	}
	return m, nil
}

func (s *dirStorage) List(ctx context.Context) ([]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for id := range s.metas {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids, nil
}

func (s *dirStorage) counts() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts, s.putBytes
}

var _ checkpoint.Storage = (*dirStorage)(nil)
