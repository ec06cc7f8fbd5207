// Package planerr is the planner's positioned error: a message about a SQL
// construct at the logical node it concerns. The stages leave File empty;
// plan.Build names the script file, and planner.Compile turns the error
// into a *parse.Error, so every planning error reads FILE:LINE:COL: message
// like the parser's and analyzer's do.
package planerr
