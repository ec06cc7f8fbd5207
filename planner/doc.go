// Package planner compiles a SQL script into the engine's job graph.
//
// Compile runs the whole pipeline: sql/parse, sql/analyze (to a logical
// plan), then the planner's own stages, which Build runs on a logical plan:
//
//  1. lcheck: the logical plan is well formed;
//  2. optimize: named rewrite rules push filters down and merge or remove
//     projections (the "optimized logical plan");
//  3. physical: logical nodes become stream operators (source, Calc,
//     window aggregate, window Top-N, window_assign, window join, union,
//     correlate, watermark assigner, sink) with exchanges, parallelism,
//     distributions and projection pushdown;
//  4. chain: operators are chained into vertices, giving the
//     jobgraph.Graph the engine runs.
//
// Plan.Explain renders every stage (see package explain); the script's
// EXPLAIN statements are planned the same way, each as a job of its own,
// and their renderings are Plan.Explains. Errors about the
// SQL are *parse.Error values positioned in the user's text, like the
// parser's and analyzer's, whose errors pass through unchanged.
package planner
