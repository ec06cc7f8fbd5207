// Package plan runs the planner's own stages on an analyzed script (a
// logical plan) and holds the result: Build checks the logical plan
// (lcheck), rewrites it (optimize), plans stream operators (physical) and
// chains them into the engine's job graph (chain). Plan.Explain renders every
// stage. The planner package's Compile puts the SQL parser and analyzer in
// front of Build; this package does not depend on them, so hand-built
// logical plans can be planned and tested on their own.
package plan
