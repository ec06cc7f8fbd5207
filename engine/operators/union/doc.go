// Package union implements the union operator ("union"): UNION ALL, the
// rows of all its inputs, passed through unchanged.
//
// The union is the first operator of its vertex; its inputs are the edges
// into the vertex, Input 0 to Inputs-1, all with the union's columns. A
// batch is forwarded as it is, zero-copy: when an input's Arrow schema
// differs from the union's in names or nullability only (the union's names
// are the first input's), the same column arrays are wrapped in a record of
// the union's schema, so downstream operators and sinks see one schema. The
// runtime combines the inputs' watermarks (their minimum) before calling
// ProcessWatermark, which has nothing to do: the union holds no rows.
package union
