// Command udf shows user-defined functions written in Go: a scalar
// function (count_char, as Nexmark's q14 uses), an aggregate (longest) and
// a table function (topics), registered in a udf.Registry and called from
// SQL over the live-room datagen's comments, run in-process with package
// embedded.
//
//	go run ./examples/udf -out /tmp/udf-out
//
// writes two directories of JSON part files: per room and minute, the
// number of '#' characters in the comments and the longest comment; and
// every #topic# of every comment.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/eddy-streaming/eddy/embedded"
	"github.com/eddy-streaming/eddy/udf"
)

// Functions returns the registry of the example's functions.
func Functions() (*udf.Registry, error) {
	reg := udf.NewRegistry()
	for _, f := range []udf.Function{
		// count_char(s, c): how many times c occurs in s.
		udf.ScalarFunc2("count_char", func(s, c string) int64 {
			if c == "" {
				return 0
			}
			return int64(strings.Count(s, c))
		}),
		// longest(s): the longest string of a group (the smallest of the
		// longest ones, so the result does not depend on order).
		udf.AggregateFunc1("longest", udf.Agg1[string, string, udf.Nullable[string]]{
			Add:   func(state *string, s string) { *state = longer(*state, s) },
			Merge: func(state, other *string) { *state = longer(*state, *other) },
			Result: func(state *string) udf.Nullable[string] {
				if *state == "" {
					return udf.Null[string]()
				}
				return udf.Value(*state)
			},
		}),
		// topics(s): one row per #topic# in s.
		udf.TableFunc1("topics", Topics, "topic"),
	} {
		if err := reg.Register(f); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// longer returns the longer of a and b (the smaller one on a tie).
func longer(a, b string) string {
	if len(b) > len(a) || (len(b) == len(a) && b < a) {
		return b
	}
	return a
}

// Topics returns the #topic# words of s, without the '#'.
func Topics(s string) []string {
	var out []string
	for _, w := range strings.Fields(s) {
		if len(w) > 2 && strings.HasPrefix(w, "#") && strings.HasSuffix(w, "#") {
			out = append(out, strings.Trim(w, "#"))
		}
	}
	return out
}

// Script returns the example's SQL: rows comments of the datagen in, two
// JSON directories under out.
func Script(out string, rows int) string {
	return fmt.Sprintf(`
CREATE TABLE comments (
  room_id BIGINT, user_id BIGINT, content STRING, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '3' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'comments', 'number-of-rows' = '%d', 'rooms' = '8',
        'max-out-of-orderness' = '3 s', 'event-time.rows-per-second' = '20', 'seed' = '42');

CREATE TABLE room_minutes (window_start TIMESTAMP(3), room_id BIGINT, hashes BIGINT, longest STRING)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');

CREATE TABLE comment_topics (room_id BIGINT, user_id BIGINT, topic STRING)
WITH ('connector' = 'filesystem', 'path' = '%s', 'format' = 'json');

INSERT INTO room_minutes
SELECT window_start, room_id, SUM(count_char(content, '#')), longest(content)
FROM TABLE(TUMBLE(TABLE comments, DESCRIPTOR(ts), INTERVAL '1' MINUTE))
GROUP BY window_start, window_end, room_id;

INSERT INTO comment_topics
SELECT room_id, user_id, UPPER(t.topic)
FROM comments, LATERAL TABLE(topics(content)) AS t(topic);
`, rows, filepath.Join(out, "room_minutes"), filepath.Join(out, "comment_topics"))
}

// Run runs the example's job to completion.
func Run(ctx context.Context, out string, rows, parallelism int) error {
	reg, err := Functions()
	if err != nil {
		return err
	}
	_, _, err = embedded.Run(ctx, "udf.sql", Script(out, rows), embedded.Options{Functions: reg, Parallelism: parallelism})
	return err
}

func main() {
	out := flag.String("out", "udf-out", "directory for the results")
	rows := flag.Int("rows", 5000, "comments to generate")
	parallelism := flag.Int("parallelism", 1, "parallelism of every operator")
	flag.Parse()
	if err := Run(context.Background(), *out, *rows, *parallelism); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("results in %s\n", *out)
}
