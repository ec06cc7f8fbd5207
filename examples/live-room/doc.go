// Package liveroom holds the live-room example jobs (the *.sql files of
// this directory, one per job of the live-room workload) and their tests,
// which run every job on bounded datagen input and compare its output with
// a reference computed row by row from the generator's own rows.
package liveroom
