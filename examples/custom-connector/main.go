// Command custom-connector runs SQL over a connector that is not built into
// Eddy: the 'sequence' source of package sequence, registered next to the
// built-in connectors in a registry the program builds, and read through
// package embedded. No engine code knows about it.
//
//	go run ./examples/custom-connector -out /tmp/sequence-out
//
// writes a directory of JSON part files: per 10-second window of the
// sequence's event time and per parity, how many numbers fell in it and
// their sum.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/builtin"
	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/engine/runtime"
	"github.com/eddy-streaming/eddy/examples/custom-connector/sequence"
)

// Registry returns the built-in connectors plus 'sequence'.
func Registry() (*connectors.Registry, error) {
	reg := builtin.Registry()
	if err := reg.Register(sequence.New()); err != nil {
		return nil, err
	}
	return reg, nil
}

// Script returns the example's SQL: the numbers 1 to end-1, one every
// 100 ms of event time, dealt to 6 splits and read at rps rows per second
// (0: as fast as possible); per 10-second window and parity, their count
// and sum, into JSON files under out.
func Script(out string, end int64, rps int) string {
	return fmt.Sprintf(`
CREATE TABLE numbers (
  seq BIGINT, ts TIMESTAMP(3), parity STRING,
  WATERMARK FOR ts AS ts - INTERVAL '1' SECOND
) WITH ('connector' = 'sequence', 'start' = '1', 'end' = '%d', 'splits' = '6',
        'event-time.start' = '2026-01-01 00:00:00', 'event-time.step' = '100 ms',
        'rows-per-second' = '%d');

CREATE TABLE totals (window_start TIMESTAMP(3), parity STRING, n BIGINT, total BIGINT)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');

INSERT INTO totals
SELECT window_start, parity, COUNT(*), SUM(seq)
FROM TABLE(TUMBLE(TABLE numbers, DESCRIPTOR(ts), INTERVAL '10' SECOND))
GROUP BY window_start, window_end, parity;
`, end, rps, out)
}

// Run runs the example's job to completion with opts (its Connectors are
// set to Registry's).
func Run(ctx context.Context, out string, end int64, rps int, opts embedded.Options) (*runtime.Result, error) {
	reg, err := Registry()
	if err != nil {
		return nil, err
	}
	opts.Connectors = reg
	_, res, err := embedded.Run(ctx, "sequence.sql", Script(out, end, rps), opts)
	if err != nil {
		return res, err
	}
	if res.LateRecordsDropped > 0 {
		return res, fmt.Errorf("%d rows were late: per-split watermarks should have kept every split's rows on time", res.LateRecordsDropped)
	}
	return res, nil
}

func main() {
	out := flag.String("out", "sequence-out", "directory for the results")
	end := flag.Int64("end", 100_000, "the sequence runs from 1 to this, exclusive")
	rps := flag.Int("rows-per-second", 0, "how fast to read the numbers (0: as fast as possible)")
	parallelism := flag.Int("parallelism", 2, "parallelism of every operator")
	flag.Parse()
	if _, err := Run(context.Background(), *out, *end, *rps, embedded.Options{Parallelism: *parallelism}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("results in %s\n", *out)
}
