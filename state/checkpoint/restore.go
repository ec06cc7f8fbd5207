package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// FindRestore resolves what a job resumes from (jobmanager's
// --from-checkpoint) into the metadata to restore, fully verified (every
// referenced file's size and SHA-256). ref is:
//
//   - a directory holding checkpoints (the checkpoint directory itself, or
//     another one): its newest intact checkpoint or savepoint, damaged ones
//     skipped and listed in skipped; nil metadata when it holds none (the job
//     starts from the beginning; the caller logs it);
//   - a chk-<id> or savepoint-<id> directory, or its _metadata file: that
//     one, an error when it is damaged or incomplete;
//   - an ID of a checkpoint of st.
//
// The returned metadata's files are read from st: when ref lies in another
// directory than st's, the files are first copied into st (skipping those
// it holds), so the restored job and its own checkpoints use st alone.
// Copied files are protected from st's garbage collection only for its
// PendingGrace until a checkpoint references them, so a job that fails
// before its first checkpoint completes should be restarted from the same
// metadata, not from st's Latest.
func FindRestore(ctx context.Context, st Storage, ref string) (m *Metadata, skipped []error, err error) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, nil, fmt.Errorf("restore: empty checkpoint path")
	}
	if st == nil {
		return nil, nil, fmt.Errorf("restore from %s: no checkpoint storage to restore into", ref)
	}
	ds, _ := st.(*DirStorage)
	fi, statErr := os.Stat(ref)
	if errors.Is(statErr, fs.ErrNotExist) {
		if _, err := strconv.ParseInt(ref, 10, 64); err == nil {
			if ds != nil {
				m, err = ds.loadRef(ctx, ref, true)
			} else if m, err = st.Load(ctx, ref); err == nil {
				err = VerifyFiles(ctx, st, m)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("restore from checkpoint %s: %w", ref, err)
			}
			return m, nil, nil
		}
		return nil, nil, fmt.Errorf("restore from %s: no such checkpoint directory or file", ref)
	}
	if statErr != nil {
		return nil, nil, fmt.Errorf("restore from %s: %w", ref, statErr)
	}

	// What ref names: a storage root (latest) or one checkpoint in root.
	root, one := ref, ""
	switch {
	case fi.Mode().IsRegular():
		if filepath.Base(ref) != MetadataName {
			return nil, nil, fmt.Errorf("restore from %s: a file to restore from must be a checkpoint's %s", ref, MetadataName)
		}
		one = filepath.Dir(ref)
		root = filepath.Dir(one)
	case fi.IsDir():
		if _, _, ok := parseEntryName(filepath.Base(filepath.Clean(ref))); ok {
			one = filepath.Clean(ref)
			root = filepath.Dir(one)
		}
	default:
		return nil, nil, fmt.Errorf("restore from %s: not a directory or a metadata file", ref)
	}
	if one != "" {
		if _, _, ok := parseEntryName(filepath.Base(one)); !ok {
			return nil, nil, fmt.Errorf("restore from %s: %s is not a chk-<id> or savepoint-<id> directory", ref, one)
		}
	}

	src := ds
	if ds == nil || !sameDir(root, ds.dir) {
		if src, err = newDirStorage(root, DirOptions{}, true); err != nil {
			return nil, nil, fmt.Errorf("restore from %s: %w", ref, err)
		}
	}
	if one != "" {
		m, err = src.loadRef(ctx, one, true)
		if err != nil {
			return nil, nil, fmt.Errorf("restore from %s: %w", ref, err)
		}
	} else {
		m, skipped, err = src.latest(ctx, true)
		if err != nil {
			return nil, skipped, fmt.Errorf("restore from %s: %w", ref, err)
		}
		if m == nil {
			return nil, skipped, nil
		}
	}
	if src != ds {
		if err := importFiles(ctx, src, st, m); err != nil {
			return nil, skipped, fmt.Errorf("restore from %s: copying checkpoint %d into %s: %w", ref, m.ID, storageName(st), err)
		}
	}
	return m, skipped, nil
}

// importFiles copies the files of m from src into dst, skipping those dst
// holds.
func importFiles(ctx context.Context, src *DirStorage, dst Storage, m *Metadata) error {
	for _, f := range m.Files() {
		ok, err := dst.HasShared(ctx, f.Name, f.Size)
		if err != nil {
			return err
		}
		if ok {
			continue
		}
		rc, err := src.OpenShared(ctx, f.Name)
		if err != nil {
			return err
		}
		err = dst.PutShared(ctx, f.Name, f.Size, rc)
		if cerr := rc.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func storageName(st Storage) string {
	if ds, ok := st.(*DirStorage); ok {
		return ds.dir
	}
	return "checkpoint storage"
}

// NextID returns the ID for a job's next checkpoint: one more than the
// newest of restored (the checkpoint it resumed from; may be nil) and the
// complete checkpoints and savepoints in st. Numbering on from the restored
// checkpoint alone would collide with newer ones already in st (after a
// restore from an older checkpoint), which Commit refuses.
func NextID(ctx context.Context, st Storage, restored *Metadata) (int64, error) {
	var newest int64
	if restored != nil {
		newest = restored.ID
	}
	ids, err := st.List(ctx)
	if err != nil {
		return 0, fmt.Errorf("next checkpoint ID: %w", err)
	}
	if ds, ok := st.(*DirStorage); ok {
		sps, err := ds.Savepoints(ctx)
		if err != nil {
			return 0, fmt.Errorf("next checkpoint ID: %w", err)
		}
		ids = append(ids, sps...)
	}
	for _, id := range ids {
		newest = max(newest, id)
	}
	return newest + 1, nil
}
