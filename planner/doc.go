// Package planner compiles a SQL script into the engine's job graph.
//
// Compile runs the whole pipeline: sql/parse, sql/analyze (to a logical
// plan), then the planner's own stages, which Build runs on a logical plan:
//
//  1. lcheck: the logical plan is well formed;
//  2. optimize: named rewrite rules push filters down and merge or remove
//     projections (the "optimized logical plan");
//  3. physical: logical nodes become stream operators (Calc, window
//     aggregate, window Top-N, source, sink) with exchanges, parallelism
//     and distributions;
//  4. chain: operators are chained into vertices, giving the
//     jobgraph.Graph the engine runs.
//
// Plan.Explain renders every stage (see package explain). Errors about the
// SQL are *parse.Error values positioned in the user's text, like the
// parser's and analyzer's, whose errors pass through unchanged.
package planner
