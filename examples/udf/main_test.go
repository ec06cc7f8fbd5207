package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/datagen"
	"github.com/eddy-streaming/eddy/engine/types"
)

type comment struct {
	room, user int64
	content    string
	ts         int64
}

// readComments reads the example's comments through the datagen
// connector's public API, for the reference.
func readComments(t *testing.T, rows int) []comment {
	schema := types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.BigIntType}, {Name: "user_id", Type: types.BigIntType},
		{Name: "content", Type: types.StringType}, {Name: "ts", Type: types.TimestampType},
	}}
	opts := map[string]string{"connector": "datagen", "stream": "comments", "number-of-rows": fmt.Sprint(rows), "rooms": "8",
		"max-out-of-orderness": "3 s", "event-time.rows-per-second": "20", "seed": "42"}
	src, err := datagen.New().NewSource(connectors.TableInfo{Name: "comments", Schema: schema, Options: opts})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rd, err := src.Reader(ctx, connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 1000, Alloc: memory.DefaultAllocator})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []comment
	for {
		rec, err := rd.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec == nil {
			continue
		}
		for i := 0; i < int(rec.NumRows()); i++ {
			out = append(out, comment{rec.Column(0).(*array.Int64).Value(i), rec.Column(1).(*array.Int64).Value(i),
				rec.Column(2).(*array.String).Value(i), int64(rec.Column(3).(*array.Timestamp).Value(i))})
		}
		rec.Release()
	}
}

// readJSON reads every row of a directory of JSON part files as text.
func readJSON(t *testing.T, dir string) []string {
	files, err := filepath.Glob(filepath.Join(dir, "part-*"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []string
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatal(err)
			}
			keys := make([]string, 0, len(m))
			for k := range m {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			parts := make([]string, len(keys))
			for i, k := range keys {
				parts[i] = fmt.Sprintf("%s=%v", k, m[k])
			}
			rows = append(rows, strings.Join(parts, " "))
		}
		fh.Close()
	}
	sort.Strings(rows)
	return rows
}

// TestExampleAgainstReference runs the example at parallelism 1 and 3 and
// checks both outputs against a row-at-a-time computation over the
// generator's own rows (no row is late: the watermark delay covers the
// generator's out-of-orderness).
func TestExampleAgainstReference(t *testing.T) {
	const rows = 3000
	comments := readComments(t, rows)
	if len(comments) != rows {
		t.Fatalf("read %d comments, want %d", len(comments), rows)
	}
	type key struct{ start, room int64 }
	hashes := map[key]int64{}
	longest := map[key]string{}
	var topics []string
	for _, c := range comments {
		k := key{c.ts - ((c.ts%60000)+60000)%60000, c.room}
		hashes[k] += int64(strings.Count(c.content, "#"))
		longest[k] = longer(longest[k], c.content)
		for _, w := range strings.Fields(c.content) {
			if len(w) > 2 && w[0] == '#' && w[len(w)-1] == '#' {
				topics = append(topics, fmt.Sprintf("room_id=%d topic=%s user_id=%d", c.room, strings.ToUpper(strings.Trim(w, "#")), c.user))
			}
		}
	}
	var windows []string
	for k, h := range hashes {
		l := any(longest[k])
		if longest[k] == "" {
			l = nil
		}
		windows = append(windows, fmt.Sprintf("hashes=%d longest=%v room_id=%d window_start=%s", h, l,
			k.room, time.UnixMilli(k.start).UTC().Format("2006-01-02 15:04:05.000")))
	}
	sort.Strings(windows)
	sort.Strings(topics)
	if len(topics) == 0 {
		t.Fatal("the generator made no #topics#: the test would prove nothing")
	}
	t.Logf("%d comments: %d room-minutes, %d topics", len(comments), len(windows), len(topics))
	for _, p := range []int{1, 3} {
		out := t.TempDir()
		if err := Run(t.Context(), out, rows, p); err != nil {
			t.Fatalf("parallelism %d: %v", p, err)
		}
		if got := readJSON(t, filepath.Join(out, "room_minutes")); strings.Join(got, "\n") != strings.Join(windows, "\n") {
			t.Errorf("parallelism %d: room_minutes: got %d rows, want %d:\n%s\nwant:\n%s", p, len(got), len(windows), strings.Join(got, "\n"), strings.Join(windows, "\n"))
		}
		if got := readJSON(t, filepath.Join(out, "comment_topics")); strings.Join(got, "\n") != strings.Join(topics, "\n") {
			t.Errorf("parallelism %d: comment_topics: got %d rows, want %d", p, len(got), len(topics))
		}
	}
}
