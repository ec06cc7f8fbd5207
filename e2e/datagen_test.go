package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/datagen"
	"github.com/eddy-streaming/eddy/engine/types"
)

// datagenGiftsDDL declares the live-room gifts stream with a watermark delay
// equal to the generator's out-of-orderness, so no row is late.
func datagenGiftsDDL(rows, rooms int, skew string, seed int) string {
	return fmt.Sprintf(`
CREATE TABLE gifts (
  room_id BIGINT, user_id BIGINT, gift_id INT, quantity INT, amount BIGINT, ts TIMESTAMP(3),
  WATERMARK FOR ts AS ts - INTERVAL '3' SECOND
) WITH ('connector' = 'datagen', 'stream' = 'gifts', 'number-of-rows' = '%d', 'rooms' = '%d',
        'skew' = '%s', 'users' = '500', 'max-out-of-orderness' = '3 s',
        'event-time.rows-per-second' = '200', 'seed' = '%d');
`, rows, rooms, skew, seed)
}

// readDatagenGifts reads the same table through the connector's public API,
// one reader, to feed the reference computation.
func readDatagenGifts(t *testing.T, ddlOptions map[string]string) []gift {
	t.Helper()
	schema := types.Schema{Fields: []types.Field{
		{Name: "room_id", Type: types.BigIntType}, {Name: "user_id", Type: types.BigIntType},
		{Name: "gift_id", Type: types.IntType}, {Name: "quantity", Type: types.IntType},
		{Name: "amount", Type: types.BigIntType}, {Name: "ts", Type: types.TimestampType},
	}}
	src, err := datagen.New().NewSource(connectors.TableInfo{Name: "gifts", Schema: schema, Options: ddlOptions})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rd, err := src.Reader(ctx, connectors.ReaderContext{Subtask: 0, Parallelism: 1, BatchSize: 1000, Alloc: memory.DefaultAllocator})
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var out []gift
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
		out = append(out, giftsFromRecord(rec)...)
		rec.Release()
	}
}

func giftsFromRecord(rec arrow.RecordBatch) []gift {
	rooms := rec.Column(0).(*array.Int64)
	users := rec.Column(1).(*array.Int64)
	gifts := rec.Column(2).(*array.Int32)
	qty := rec.Column(3).(*array.Int32)
	amount := rec.Column(4).(*array.Int64)
	ts := rec.Column(5).(*array.Timestamp)
	out := make([]gift, rec.NumRows())
	for i := range out {
		out[i] = gift{Room: rooms.Value(i), User: users.Value(i), Gift: gifts.Value(i), Qty: qty.Value(i),
			QtyNull: qty.IsNull(i), Amount: amount.Value(i), Ts: int64(ts.Value(i))}
	}
	return out
}

// TestFlagshipOnLiveRoomDatagen runs the flagship query on the live-room
// datagen (a hot room taking a large share of the gifts) at parallelism 1
// to 4 and checks it against the reference computed from the generator's
// own rows.
func TestFlagshipOnLiveRoomDatagen(t *testing.T) {
	const rows, rooms = 60_000, 30
	opts := map[string]string{
		"connector": "datagen", "stream": "gifts", "number-of-rows": fmt.Sprint(rows), "rooms": fmt.Sprint(rooms),
		"skew": "1.3", "users": "500", "max-out-of-orderness": "3 s", "event-time.rows-per-second": "200", "seed": "9",
	}
	gs := readDatagenGifts(t, opts)
	if len(gs) != rows {
		t.Fatalf("generator gave %d rows, want %d", len(gs), rows)
	}
	want := refTopGifts(gs, 60_000, 3)
	script := strings.Replace(topGiftsSQL, giftsDDL, datagenGiftsDDL(rows, rooms, "1.3", 9), 1)
	for p := 1; p <= 4; p++ {
		t.Run(fmt.Sprintf("p%d", p), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			got, res := runSQL(t, script, p, nil, uint64(p*7919), mem)
			if res.LateRecordsDropped != 0 {
				t.Errorf("late records dropped = %d, want 0", res.LateRecordsDropped)
			}
			assertSameRows(t, got["top_gifts"], want)
		})
	}
}
