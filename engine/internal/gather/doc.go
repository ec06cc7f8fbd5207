// Package gather builds output columns from rows held in retained record
// batches ("chunks"), a column at a time: what the lookup and temporal
// joins use to emit the stored rows their matches point at.
package gather
