// Package operators lists the engine's built-in operators: Factories maps
// each jobgraph operator kind to the constructor the runtime calls. The
// operators themselves live in the subpackages (calc, windowagg,
// windowtopn); sources and sinks are driven by the runtime itself.
package operators
