// Package keygroup assigns keys to key groups and key groups to subtasks.
//
// A job fixes its max parallelism M (default 128) when it first starts. Every
// key hashes to one of M key groups; a keyed operator at parallelism P gives
// subtask i the contiguous key groups [i*M/P, (i+1)*M/P) (rounded up). Keyed
// state is stored under its key group, so when P changes whole key groups
// move between subtasks and nothing needs rehashing.
//
// The hash is part of the on-disk format: hash exchanges route rows with it
// and operators key their state with it, so both must agree, in every
// process, forever. Changing it breaks restores.
package keygroup
