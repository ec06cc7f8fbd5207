package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/connectors"
)

// Factory is the 'kafka' connector: append-only tables over Kafka topics.
type Factory struct{}

// UpsertFactory is the 'upsert-kafka' connector: a table keyed by its
// PRIMARY KEY, each message an upsert of its key or, without a value, a
// delete.
type UpsertFactory struct{}

var (
	_ connectors.SourceFactory      = (*Factory)(nil)
	_ connectors.SplitSourceFactory = (*Factory)(nil)
	_ connectors.SinkFactory        = (*Factory)(nil)
	_ connectors.TableValidator     = (*Factory)(nil)

	_ connectors.SourceFactory      = (*UpsertFactory)(nil)
	_ connectors.SplitSourceFactory = (*UpsertFactory)(nil)
	_ connectors.ChangelogSource    = (*UpsertFactory)(nil)
	_ connectors.SinkFactory        = (*UpsertFactory)(nil)
	_ connectors.UpdatingSink       = (*UpsertFactory)(nil)
	_ connectors.TableValidator     = (*UpsertFactory)(nil)

	_ connectors.SplitSource     = (*splitSource)(nil)
	_ connectors.SplitAssigner   = (*splitSource)(nil)
	_ connectors.SplitEnumerator = (*enumerator)(nil)
	_ connectors.SplitReader     = (*reader)(nil)
	_ connectors.RecoverableSink = (*sink)(nil)
	_ connectors.TwoPhaseWriter  = (*txnWriter)(nil)
	_ connectors.TwoPhaseWriter  = (*plainWriter)(nil)
)

// New returns the 'kafka' connector factory.
func New() *Factory { return &Factory{} }

// NewUpsert returns the 'upsert-kafka' connector factory.
func NewUpsert() *UpsertFactory { return &UpsertFactory{} }

// Name returns "kafka".
func (*Factory) Name() string { return "kafka" }

// Options lists the connector's options.
func (*Factory) Options() []connectors.OptionSpec { return kafkaSpecs }

// ValidateTable checks the table's options against its schema.
func (*Factory) ValidateTable(info connectors.TableInfo) error {
	_, err := parseConfig(info, false)
	return err
}

// NewSplitSource returns the table's source: a split per partition.
func (*Factory) NewSplitSource(info connectors.TableInfo) (connectors.SplitSource, error) {
	return newSplitSource(info, false)
}

// NewSource is refused: Kafka tables are read as splits
// (NewSplitSource).
func (*Factory) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	return nil, errNoLegacySource(info)
}

// NewSink returns the table's sink.
func (*Factory) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	return newSink(info, false)
}

// Name returns "upsert-kafka".
func (*UpsertFactory) Name() string { return "upsert-kafka" }

// Options lists the connector's options.
func (*UpsertFactory) Options() []connectors.OptionSpec { return upsertSpecs }

// ValidateTable checks the table's options, PRIMARY KEY and formats.
func (*UpsertFactory) ValidateTable(info connectors.TableInfo) error {
	_, err := parseConfig(info, true)
	return err
}

// SourceChangelog returns "upsert": rows are +U (a message with a value)
// or -D (a tombstone) by the PRIMARY KEY.
func (*UpsertFactory) SourceChangelog(connectors.TableInfo) string { return "upsert" }

// AcceptsUpdates accepts upsert and retract streams: -U rows are dropped,
// -D rows become tombstones.
func (*UpsertFactory) AcceptsUpdates(info connectors.TableInfo) error {
	_, err := parseConfig(info, true)
	return err
}

// NewSplitSource returns the table's source.
func (*UpsertFactory) NewSplitSource(info connectors.TableInfo) (connectors.SplitSource, error) {
	return newSplitSource(info, true)
}

// NewSource is refused: Kafka tables are read as splits.
func (*UpsertFactory) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	return nil, errNoLegacySource(info)
}

// NewSink returns the table's sink.
func (*UpsertFactory) NewSink(info connectors.TableInfo) (connectors.Sink, error) {
	return newSink(info, true)
}

func errNoLegacySource(info connectors.TableInfo) error {
	return fmt.Errorf("kafka: table '%s' is read as splits (connectors.SplitSourceFactory); this runtime does not read split sources", info.Name)
}

// splitSource is a table read as one split per partition.
type splitSource struct {
	cfg *config
}

func newSplitSource(info connectors.TableInfo, upsert bool) (*splitSource, error) {
	cfg, err := parseConfig(info, upsert)
	if err != nil {
		return nil, fmt.Errorf("kafka: table '%s': %w", info.Name, err)
	}
	return &splitSource{cfg: cfg}, nil
}

// Bounded reports 'scan.bounded.mode' = 'latest-offset'.
func (s *splitSource) Bounded() bool { return s.cfg.bounded }

// NewEnumerator makes the partition enumerator.
func (s *splitSource) NewEnumerator(_ context.Context, ec connectors.EnumeratorContext, checkpoint []byte) (connectors.SplitEnumerator, error) {
	return newEnumerator(s.cfg, ec, checkpoint)
}

// NewSplitReader opens a reader.
func (s *splitSource) NewSplitReader(_ context.Context, rc connectors.ReaderContext) (connectors.SplitReader, error) {
	return newReader(s.cfg, rc)
}

// Assign gives a partition to a reader as Flink's Kafka source does: a
// start reader from the topic name's hash, then the partitions in order.
func (s *splitSource) Assign(split connectors.Split, parallelism int) int {
	st, err := decodeSplit(split)
	if err != nil {
		// Not one of ours: any reader will report the error at AddSplits.
		return 0
	}
	return owner(st.Topic, st.Partition, parallelism)
}

var errClosed = errors.New("kafka: writer is closed")
