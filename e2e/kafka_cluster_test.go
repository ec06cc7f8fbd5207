package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestKafkaClusterTaskManagerKilled is issue 7's Kafka acceptance test
// with real processes: a job manager and three task manager processes on
// loopback run the flagship Top-N (2-second windows, so results are
// written all along) submitted over REST at parallelism 3, from a
// six-partition Kafka topic (kfake, in this test's process) into an
// exactly-once Kafka sink, with 300 ms checkpoints, while the test keeps
// producing datagen's gifts into the topic. After a checkpoint, with a
// third of the gifts produced, one task manager is SIGKILLed: the job
// restarts from its latest checkpoint on the remaining slots, its Kafka
// splits assigned again with their offsets and the failed run's
// transactions aborted. Once every gift is produced, a last gift per
// partition far in the future closes every window; a read_committed
// consumer must then see each result row of the reference exactly once.
// (With 'at-least-once' the same run shows a few hundred doubled rows.)
func TestKafkaClusterTaskManagerKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs processes")
	}
	const partitions = 6
	kc, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(partitions, "gifts"), kfake.SeedTopics(3, "top_gifts"))
	if err != nil {
		t.Fatal(err)
	}
	defer kc.Close()
	addrs := strings.Join(kc.ListenAddrs(), ",")

	opts := giftsOpts(36_000, 0, 25, 71)
	delete(opts, "rows-per-second")
	gifts := readGifts(t, opts)
	want := refTopGifts(gifts, 2_000, 3)

	dir := t.TempDir()
	c := startCluster(t, dir, 2, 2, 2)
	job := fmt.Sprintf(`
CREATE TABLE gifts (%s, WATERMARK FOR ts AS ts - INTERVAL '3' SECOND) WITH (
  'connector' = 'kafka', 'topic' = 'gifts', 'properties.bootstrap.servers' = '%[2]s', 'format' = 'json',
  'scan.startup.mode' = 'earliest-offset');
CREATE TABLE top_gifts (
  window_start TIMESTAMP(3), window_end TIMESTAMP(3), room_id BIGINT, gift_id INT, total_amount BIGINT, rn BIGINT
) WITH ('connector' = 'kafka', 'topic' = 'top_gifts', 'properties.bootstrap.servers' = '%[2]s', 'format' = 'json',
  'sink.delivery-guarantee' = 'exactly-once', 'sink.transactional-id-prefix' = 'cluster-top-gifts');
INSERT INTO top_gifts
SELECT window_start, window_end, room_id, gift_id, total_amount, rn FROM (
  SELECT *, ROW_NUMBER() OVER (PARTITION BY window_start, window_end, room_id
                               ORDER BY total_amount DESC, gift_id ASC) AS rn
  FROM (
    SELECT window_start, window_end, room_id, gift_id, SUM(amount) AS total_amount
    FROM TABLE(TUMBLE(TABLE gifts, DESCRIPTOR(ts), INTERVAL '2' SECOND))
    GROUP BY window_start, window_end, room_id, gift_id))
WHERE rn <= 3;
`, kafkaGiftsColumns, addrs)
	id := c.submit(map[string]any{"sql": job, "name": "kafka-flagship", "parallelism": 3, "checkpoint_interval": "300ms"})

	// Produce the gifts round robin over the partitions (each partition
	// keeps datagen's bounded disorder), about 15,000 a second.
	prod, err := kgo.NewClient(kgo.SeedBrokers(kc.ListenAddrs()...), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var produced atomic.Int64
	done := make(chan error, 1)
	go func() {
		maxTs := int64(0)
		for i, g := range gifts {
			maxTs = max(maxTs, g.Ts)
			if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "gifts", Partition: int32(i % partitions), Value: giftJSON(g)}).FirstErr(); err != nil {
				done <- err
				return
			}
			produced.Add(1)
			if i%150 == 149 {
				time.Sleep(10 * time.Millisecond)
			}
		}
		// One gift per partition ten minutes after the last closes
		// every window of the reference (its own window never fires).
		for p := 0; p < partitions; p++ {
			g := gift{Room: 1 << 40, User: 1, Gift: 1, Qty: 1, Amount: 1, Ts: maxTs + 10*60_000}
			if err := prod.ProduceSync(ctx, &kgo.Record{Topic: "gifts", Partition: int32(p), Value: giftJSON(g)}).FirstErr(); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()

	// Kill once a third of the gifts is in and a checkpoint completed:
	// windows have fired and results were committed, and more are
	// written after the checkpoint the restart resumes from.
	c.waitCheckpoint(id)
	for produced.Load() < int64(len(gifts)/3) {
		time.Sleep(10 * time.Millisecond)
	}
	if produced.Load() >= int64(len(gifts)) {
		t.Fatalf("every gift was produced before the first checkpoint: the kill would not be mid-job")
	}
	if err := c.tms[1].Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed, at := time.Now(), produced.Load()
	if err := <-done; err != nil {
		t.Fatalf("producing gifts: %v", err)
	}
	t.Logf("task manager killed after %d of %d gifts", at, len(gifts))

	// Read the output as a read_committed consumer until it holds as
	// many rows as the reference (rows of the far window excluded), then
	// a little longer to catch any doubled row.
	got := readCommittedUntil(t, ctx, addrs, len(want), c)
	j := c.job(id)
	if j.Restarts < 1 || len(j.Failures) == 0 {
		t.Fatalf("the kill caused no restart: %+v\n%s", j, c.logs())
	}
	t.Logf("results complete %s after the kill, %d restart(s); first failure: %s", time.Since(killed).Round(time.Millisecond), j.Restarts, j.Failures[0].Message)
	assertSameRows(t, got, want)
}

// giftJSON is g as the gifts table's json format reads it.
func giftJSON(g gift) []byte {
	v := map[string]any{"room_id": g.Room, "user_id": g.User, "gift_id": g.Gift, "amount": g.Amount,
		"ts": time.UnixMilli(g.Ts).UTC().Format("2006-01-02 15:04:05.000"), "quantity": nil}
	if !g.QtyNull {
		v["quantity"] = g.Qty
	}
	b, _ := json.Marshal(v)
	return b
}

// readCommittedUntil consumes top_gifts with read_committed from the start
// until it has read n rows (the far window's rows left out), then two more
// seconds, and returns them rendered as refTopGifts renders its rows.
func readCommittedUntil(t *testing.T, ctx context.Context, addrs string, n int, c *cluster) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(addrs, ",")...), kgo.ConsumeTopics("top_gifts"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	var out []string
	var full time.Time
	for {
		if !full.IsZero() && time.Since(full) > 2*time.Second {
			sort.Strings(out)
			return out
		}
		pctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		fs := cl.PollFetches(pctx)
		cancel()
		if ctx.Err() != nil {
			t.Fatalf("reading top_gifts: %d of %d rows after the deadline\n%s", len(out), n, c.logs())
		}
		fs.EachRecord(func(r *kgo.Record) {
			row := topGiftsRow(t, r.Value)
			if strings.Contains(row, fmt.Sprintf("|%d|", int64(1)<<40)) {
				return // the far window's
			}
			out = append(out, row)
		})
		if full.IsZero() && len(out) >= n {
			full = time.Now()
		}
	}
}
