// Package watermark holds the event-time bookkeeping of a running job, as
// small pure structs with no goroutines or I/O:
//
//   - Tracker merges the watermarks of a subtask's input channels: the
//     combined watermark is the minimum over the channels that are neither
//     idle nor ended, it never goes backwards, and when every live channel is
//     idle the subtask's output is idle too and its watermark moves up to
//     the highest of theirs (after Arroyo's WatermarkHolder and Flink's
//     StatusWatermarkValve).
//   - Generator is a source's bounded-out-of-orderness watermark generator:
//     it tracks the largest event time seen in the rowtime column and emits
//     W = max - delay - 1 ms whenever W advances (Flink's
//     BoundedOutOfOrdernessWatermarks).
//
// Watermark values are event-time milliseconds; stream.MinWatermark means
// "nothing yet" and stream.MaxWatermark means "end of input".
package watermark
