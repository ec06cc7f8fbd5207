// Package nexmark holds the Nexmark queries in Eddy's SQL (the *.sql files
// of this directory, embedded) and what running them needs: the source DDL
// rendered for a run's parameters, the count_char function Q14 calls, and
// the side-input file Q13 joins (WriteSideInput).
//
// Each qN.sql is a complete script: a copy of ddl.sql (the person, auction
// and bid tables of the 'nexmark' connector) between the marker lines
// "-- BEGIN ddl.sql" and "-- END ddl.sql", then the query's sink table and
// INSERT, as close to Flink's nexmark SQL as Eddy's dialect allows. Script
// replaces the copied block with the tables for given Params, so the
// benchmark command (cmd/nexmark) and the end-to-end tests run the files
// as written; q10's output and q13's side input are under Params.Dir,
// which Script puts in place of DefaultDir. See README.md for the list of
// queries, what they need, and where they differ from Flink's (q6 stops
// short of its OVER aggregate; q10's sink has no partitions yet).
package nexmark
