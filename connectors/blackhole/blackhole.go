package blackhole

import (
	"context"
	"fmt"
	"sort"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/stream"
)

// Factory makes blackhole sinks.
type Factory struct{}

var (
	_ connectors.SinkFactory    = (*Factory)(nil)
	_ connectors.TableValidator = (*Factory)(nil)
	_ connectors.UpdatingSink   = (*Factory)(nil)

	_ connectors.RecoverableSink = sink{}
	_ connectors.TwoPhaseWriter  = writer{}
)

// AcceptsUpdates accepts every updating stream: all rows are discarded.
func (*Factory) AcceptsUpdates(info connectors.TableInfo) error { return nil }

// New returns the blackhole connector factory.
func New() *Factory { return &Factory{} }

// Name returns "blackhole".
func (*Factory) Name() string { return "blackhole" }

// Options returns none: the connector takes no options.
func (*Factory) Options() []connectors.OptionSpec { return nil }

// ValidateTable accepts any schema; any option is an error.
func (*Factory) ValidateTable(info connectors.TableInfo) error {
	keys := make([]string, 0, len(info.Options))
	for k := range info.Options {
		if k != "connector" {
			keys = append(keys, k)
		}
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		return fmt.Errorf("unknown option '%s': the blackhole connector takes no options", keys[0])
	}
	return nil
}

// NewSink returns a sink that discards rows.
func (f *Factory) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	if err := f.ValidateTable(info); err != nil {
		return nil, err
	}
	return sink{}, nil
}

type sink struct{}

// Writer returns a writer that discards rows.
func (sink) Writer(ctx context.Context, rc connectors.ReaderContext) (connectors.Writer, error) {
	return writer{}, nil
}

type writer struct{}

// Write discards b.
func (writer) Write(ctx context.Context, b stream.Batch) error { return nil }

// Close does nothing.
func (writer) Close(ctx context.Context) error { return nil }

// Abort does nothing.
func (writer) Abort(ctx context.Context) error { return nil }

// Prepare returns an empty committable: there is nothing to make visible.
func (writer) Prepare(ctx context.Context, checkpointID int64) ([]byte, error) { return nil, nil }

// Commit does nothing.
func (writer) Commit(ctx context.Context, checkpointID int64, committable []byte) error { return nil }

// Recover does nothing: a blackhole has no output to restore.
func (sink) Recover(ctx context.Context, committables [][]byte) error { return nil }
