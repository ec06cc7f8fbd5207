// Command jobmanager compiles Eddy SQL scripts and runs them.
//
//	jobmanager run [--parallelism N] JOB.sql
//	jobmanager explain [--parallelism N] JOB.sql
//
// run executes every INSERT (and bare query) of the script as one job in an
// embedded mini-cluster. A job whose sources are all bounded runs until they
// are exhausted (end of input is the final watermark, so every open window
// fires) and exits 0. The script's EXPLAIN statements print their plans to
// stdout first, in order, and do not run; a script of EXPLAIN statements
// only runs nothing and exits 0. Any error exits non-zero with a message;
// SQL errors read FILE:LINE:COL: message.
//
// explain prints the EXPLAIN statements' plans, then the job's logical plan
// and physical DAG: operators, exchanges and parallelism.
package main
