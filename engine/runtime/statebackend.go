package runtime

import (
	"errors"
	"fmt"
	"os"

	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// StateBackendKey is the job option that chooses where keyed state lives
// when the caller gives no Options.State: "hashmap" (or "memory", the
// default) keeps it in memory; "pebble" (or Flink's "rocksdb") keeps it in
// Pebble databases in a temporary directory removed when the job ends, so
// updating operators can hold more state than memory (see
// engine/internal/statecache). Jobs that checkpoint get Pebble from the
// caller anyway.
const StateBackendKey = "state.backend.type"

// localState opens the keyed-state provider the job option
// StateBackendKey asks for when the caller set no Options.State; the
// returned function closes it and removes its files.
func localState(opts *Options, explicit bool, cfg map[string]string) (func() error, error) {
	none := func() error { return nil }
	v, ok := cfg[StateBackendKey]
	if !ok || explicit {
		return none, nil
	}
	switch v {
	case "hashmap", "memory":
		return none, nil
	case "pebble", "rocksdb":
	default:
		return none, fmt.Errorf("option '%s' = '%s': want 'hashmap' (in memory) or 'pebble' (on disk; 'rocksdb' is taken to mean it)", StateBackendKey, v)
	}
	dir, err := os.MkdirTemp("", "eddy-state-")
	if err != nil {
		return none, fmt.Errorf("keyed state: %w", err)
	}
	p, err := pebblestate.New(pebblestate.Config{Dir: dir, Logger: opts.Logger})
	if err != nil {
		return none, errors.Join(fmt.Errorf("keyed state: %w", err), os.RemoveAll(dir))
	}
	opts.State = p
	return func() error { return errors.Join(p.Close(), os.RemoveAll(dir)) }, nil
}
