//go:build race

package crdt_test

// raceEnabled reports a -race build: the long sequential trace replays
// (minutes under the race detector) are skipped there.
const raceEnabled = true
