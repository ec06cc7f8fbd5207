// Package pushleaderboard is the push connector's demo: live-room job 9, a
// room's live top gifters leaderboard (an updating Top-N over a
// non-windowed aggregate of datagen gifts) written into a 'push' table,
// and a static page (embedded, served by the job manager at
// /demo/leaderboard/) that subscribes to one room's changes over
// Server-Sent Events and draws the board as it moves. Its tests run the
// job in an in-process job manager and check, against a reference
// computed from the generator's rows, what a subscribed client receives
// and what headless Chromium renders.
package pushleaderboard
