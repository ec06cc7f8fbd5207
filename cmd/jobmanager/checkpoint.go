package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/state/checkpoint"
	"github.com/eddy-streaming/eddy/state/pebblestate"
)

// ckptFlags are run's checkpoint flags.
type ckptFlags struct {
	dir              string
	interval         time.Duration
	from             string
	allowNonRestored bool
	savepointOnStop  bool
}

// check validates the flags' combination.
func (f *ckptFlags) check() error {
	switch {
	case f.interval < 0:
		return fmt.Errorf("--checkpoint-interval must not be negative, got %s", f.interval)
	case f.interval > 0 && f.dir == "":
		return fmt.Errorf("--checkpoint-interval needs --checkpoint-dir (where the checkpoints go)")
	case f.from != "" && f.dir == "":
		return fmt.Errorf("--from-checkpoint needs --checkpoint-dir (where the resumed job keeps its checkpoints; it may be the same directory)")
	case f.allowNonRestored && f.from == "":
		return fmt.Errorf("--allow-non-restored-state needs --from-checkpoint")
	}
	return nil
}

// setup configures opts for checkpoints: the directory storage, keyed
// state in Pebble (working files in a temporary directory, removed by the
// returned cleanup) and the checkpoint to resume from. Without
// --checkpoint-dir it changes nothing.
func (f *ckptFlags) setup(ctx context.Context, opts *embedded.Options, logger *slog.Logger) (cleanup func() error, err error) {
	none := func() error { return nil }
	if f.dir == "" {
		return none, nil
	}
	st, err := checkpoint.NewDirStorage(f.dir, 0)
	if err != nil {
		return none, fmt.Errorf("--checkpoint-dir: %w", err)
	}
	work, err := os.MkdirTemp("", "eddy-state-")
	if err != nil {
		return none, fmt.Errorf("keyed state: %w", err)
	}
	prov, err := pebblestate.New(pebblestate.Config{Dir: work, Logger: logger})
	if err != nil {
		return none, errors.Join(fmt.Errorf("keyed state: %w", err), os.RemoveAll(work))
	}
	cleanup = func() error { return errors.Join(prov.Close(), os.RemoveAll(work)) }
	opts.State = prov
	opts.CheckpointStorage = st
	opts.CheckpointInterval = f.interval
	opts.AllowNonRestoredState = f.allowNonRestored
	if f.from == "" {
		return cleanup, nil
	}
	m, skipped, err := checkpoint.FindRestore(ctx, st, f.from)
	for _, e := range skipped {
		logger.Warn("skipping a damaged checkpoint", "err", e)
	}
	if err != nil {
		return none, errors.Join(fmt.Errorf("--from-checkpoint: %w", err), cleanup())
	}
	if m == nil {
		logger.Info(fmt.Sprintf("no complete checkpoint under %s; starting from the beginning", f.from))
		return cleanup, nil
	}
	logger.Info("resuming from checkpoint", "checkpoint", m.ID, "from", f.from)
	opts.Restore = m
	return cleanup, nil
}
