package jobmanager

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// jobRecord is a job's durable record, DIR/jobs/<id>.json.
type jobRecord struct {
	ID                 string          `json:"id"`
	Name               string          `json:"name"`
	SQL                string          `json:"sql"`
	Parallelism        int             `json:"parallelism"`
	CheckpointInterval string          `json:"checkpoint_interval,omitempty"`
	FromSavepoint      string          `json:"from_savepoint,omitempty"`
	State              string          `json:"state"`
	Message            string          `json:"message,omitempty"`
	SavepointPath      string          `json:"savepoint_path,omitempty"`
	CreatedAt          time.Time       `json:"created_at"`
	StartedAt          time.Time       `json:"started_at,omitzero"`
	EndedAt            time.Time       `json:"ended_at,omitzero"`
	Restarts           int             `json:"restarts,omitempty"`
	Failures           []failureRecord `json:"failures,omitempty"`
}

type failureRecord struct {
	Time    time.Time `json:"time"`
	Message string    `json:"message"`
}

// store keeps job records as files in a directory.
type store struct {
	dir string
}

func openStore(dir string) (*store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("job store: %w", err)
	}
	return &store{dir: dir}, nil
}

// put writes r atomically: a temporary file, synced, renamed over the old
// record, then the directory synced.
func (s *store) put(r *jobRecord) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("job store: encode job %s: %w", r.ID, err)
	}
	f, err := os.CreateTemp(s.dir, ".tmp-"+r.ID+"-*")
	if err != nil {
		return fmt.Errorf("job store: %w", err)
	}
	tmp := f.Name()
	_, err = f.Write(append(data, '\n'))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(s.dir, r.ID+".json"))
	}
	if err != nil {
		return errors.Join(fmt.Errorf("job store: write job %s: %w", r.ID, err), os.Remove(tmp))
	}
	if d, err := os.Open(s.dir); err == nil {
		_ = d.Sync() // best effort: the rename is already visible
		_ = d.Close()
	}
	return nil
}

// load reads every record; unreadable ones are returned as errors.
func (s *store) load() ([]*jobRecord, []error, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, nil, fmt.Errorf("job store: %w", err)
	}
	var out []*jobRecord
	var bad []error
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(s.dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			bad = append(bad, fmt.Errorf("job store: %w", err))
			continue
		}
		var r jobRecord
		if err := json.Unmarshal(data, &r); err != nil {
			bad = append(bad, fmt.Errorf("job store: %s: %w", path, err))
			continue
		}
		if r.ID+".json" != name || !validID(r.ID) {
			bad = append(bad, fmt.Errorf("job store: %s: the record's id %q does not match its file name", path, r.ID))
			continue
		}
		out = append(out, &r)
	}
	return out, bad, nil
}

// validID reports whether id is a job ID this job manager makes: 16
// lowercase hex digits (so it is safe in paths).
func validID(id string) bool {
	if len(id) != 16 {
		return false
	}
	for _, c := range id {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}
