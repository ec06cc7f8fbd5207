// Package types is Eddy's SQL type system: the logical column types a table
// declares (BOOLEAN, INT, BIGINT, DOUBLE, DECIMAL(p,s), STRING, VARCHAR(n),
// TIMESTAMP(3)) and their fixed mapping onto Apache Arrow types.
//
// It is a leaf package: the planner, the engine and the connectors all speak
// it, and job graphs carry it as plain JSON.
package types
