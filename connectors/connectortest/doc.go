// Package connectortest is the conformance suite every connector passes, in
// the spirit of Flink's connector testing framework. A connector's test
// describes its connector with a harness and calls the suite:
//
//	func TestConformance(t *testing.T) {
//		connectortest.RunSource(t, connectortest.SourceHarness{
//			Factory:  mything.New(),
//			NewTable: func(t testing.TB, r *rand.Rand) connectortest.SourceTable { ... },
//		})
//	}
//
// The suite checks:
//
//   - options (CheckOptions): the factory's OptionSpecs are well formed (keys
//     lower-case and unique, types known, defaults valid for their type,
//     enums non-empty, descriptions present), and an unknown option, a
//     missing required one and a badly typed value are rejected by
//     connectors.ValidateOptions and the factory's TableValidator with an
//     error naming the option;
//   - schema: every batch a source returns has exactly the declared Arrow
//     types (or the projected ones, for a connectors.ProjectableSource);
//     a sink accepts the engine's Arrow types for its declared schema;
//   - exactly-once across restore: a job source -> sink runs through
//     engine/runtime with checkpoints (Pebble state, checkpoint.DirStorage),
//     fails after a checkpoint at a random point and is restored from its
//     latest checkpoint, in process and, when the connector supports it, at
//     another parallelism; the committed output must equal, as a multiset,
//     the rows an uninterrupted run gives. A source is read into the suite's
//     collecting two-phase sink; a sink is fed by the suite's deterministic,
//     restorable in-memory source, with inserts or (SinkHarness.Changelog)
//     a retract or upsert changelog.
//   - split sources (connectors.SplitSource): the suite drives enumerator,
//     assignment, readers, snapshots and a restore onto another number of
//     readers itself, and checks that every row is read once.
//
// Failures are reported through the testing.TB the suite is given, so a
// test can also check that a broken connector fails it.
package connectortest
