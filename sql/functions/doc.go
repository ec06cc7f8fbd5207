// Package functions is the registry of Eddy's built-in scalar functions:
// their SQL names (Flink's), argument rules, result types (Flink's type
// inference, nullability included) and how each call lowers to an
// engine/expr call. The analyzer binds a call's arguments, looks the name
// up here (user-defined functions first, through BindUDF) and calls Bind;
// errors name the function and point at the offending argument.
//
// CASE is syntax and stays in the analyzer; COALESCE, IFNULL, NULLIF and
// IF are registry functions that lower to a searched CASE. LIKE and REGEXP
// as infix operators are bound through Like and Regexp.
package functions
