// Package e2e holds end-to-end tests: SQL scripts compiled by the planner and
// run by the engine on real connectors, with results compared against
// independent row-at-a-time reference computations written in the tests.
package e2e
