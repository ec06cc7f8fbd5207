// Package nexmark holds the Nexmark queries in Eddy's SQL (the *.sql files
// of this directory, embedded) and what running them needs: the source DDL
// rendered for a run's parameters, and the count_char function Q14 calls.
//
// Each qN.sql is a complete script: a copy of ddl.sql (the person, auction
// and bid tables of the 'nexmark' connector) between the marker lines
// "-- BEGIN ddl.sql" and "-- END ddl.sql", then the query's sink table and
// INSERT, as close to Flink's nexmark SQL as Eddy's dialect allows. Script
// replaces the copied block with the tables for given Params, so the
// benchmark command (cmd/nexmark) and the end-to-end tests run the files
// as written. See README.md for the list of queries and what they need.
package nexmark
