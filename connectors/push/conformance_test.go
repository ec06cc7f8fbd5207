package push_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/connectortest"
	"github.com/eddy-streaming/eddy/connectors/push"
	"github.com/eddy-streaming/eddy/engine/stream"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// TestConformance runs the connector conformance suite over the push sink
// publishing to an in-process Hub: inserts, a retract changelog and an
// upsert changelog, each read back from the start of the table's stream
// with its row kinds, and an upsert changelog read back as the hub's
// snapshot of the table's live rows (what a client subscribing without a
// token starts with). With checkpointing the sink publishes at commit and
// the hub drops replayed commits, so it is exactly once across failures.
func TestConformance(t *testing.T) {
	for i, c := range []struct {
		changelog    string
		materialized bool
	}{{"", false}, {"retract", false}, {"upsert", false}, {"upsert", true}} {
		name := "changelog=" + c.changelog
		if c.materialized {
			name += "/snapshot"
		}
		t.Run(name, func(t *testing.T) {
			hub := push.NewHub()
			n := 0
			connectortest.RunSink(t, connectortest.SinkHarness{
				Factory:      push.New(hub),
				Seed:         uint64(700 + i),
				Changelog:    c.changelog,
				Materialized: c.materialized,
				NewTable: func(t testing.TB) connectors.TableInfo {
					n++
					info := connectors.TableInfo{Name: "pushed_" + strconv.Itoa(n), Schema: connectortest.AllTypesSchema(),
						Options: map[string]string{"connector": push.Name, push.OptBufferSize: "1000000"}}
					if c.changelog != "" {
						info.PrimaryKey = []int{0}
					}
					return info
				},
				ReadBack: func(t testing.TB, info connectors.TableInfo) []connectortest.Row {
					if c.materialized {
						return readSnapshot(t, hub, info)
					}
					return readStream(t, hub, info)
				},
			})
		})
	}
}

// readStream reads every message of the table's stream, from its first to
// the head at the time of the call, and decodes them into rows. The
// tokens must number the messages 1, 2, ... in order.
func readStream(t testing.TB, hub *push.Hub, info connectors.TableInfo) []connectortest.Row {
	t.Helper()
	head, err := hub.Subscribe(info.Name, push.SubscribeOptions{NoSnapshot: true})
	if err != nil {
		t.Fatal(err)
	}
	last := head.Token()
	if last == "" {
		return nil // nothing published
	}
	sub, err := hub.Subscribe(info.Name, push.SubscribeOptions{Token: hub.Epoch() + ".0"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var rows []connectortest.Row
	for sub.Token() != last {
		msgs, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("table %s: reading the stream after %d messages (head %s): %v", info.Name, len(rows), last, err)
		}
		for _, m := range msgs {
			kind, row, token := decodeMessage(t, info.Schema, m)
			if want := hub.Epoch() + "." + strconv.Itoa(len(rows)+1); token != want {
				t.Fatalf("table %s: message %d has token %q, want %q", info.Name, len(rows)+1, token, want)
			}
			row.Kind = kind
			rows = append(rows, row)
		}
	}
	return rows
}

// readSnapshot returns the live rows of the table (the hub's state by
// primary key), as a client subscribing without a token receives them
// first: +I messages.
func readSnapshot(t testing.TB, hub *push.Hub, info connectors.TableInfo) []connectortest.Row {
	t.Helper()
	sub, err := hub.Subscribe(info.Name, push.SubscribeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The snapshot comes with the first Next, before it would wait for new
	// messages: with a canceled context an empty snapshot (every key
	// deleted) returns the context's error at once instead of blocking.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msgs, err := sub.Next(ctx)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		t.Fatalf("table %s: reading the snapshot: %v", info.Name, err)
	}
	rows := make([]connectortest.Row, 0, len(msgs))
	for _, m := range msgs {
		kind, row, _ := decodeMessage(t, info.Schema, m)
		if kind != stream.Insert {
			t.Fatalf("table %s: snapshot message of kind %s: %s", info.Name, kind, m)
		}
		row.Kind = kind
		rows = append(rows, row)
	}
	return rows
}

// message is a message of a push stream, its row left undecoded.
type message struct {
	Kind  string          `json:"kind"`
	Row   json.RawMessage `json:"row"`
	Token string          `json:"token"`
}

var kinds = map[string]stream.RowKind{"+I": stream.Insert, "-U": stream.UpdateBefore, "+U": stream.UpdateAfter, "-D": stream.Delete}

// decodeMessage decodes a message: its row kind, its row in
// connectortest's canonical cells and its token.
func decodeMessage(t testing.TB, schema types.Schema, b []byte) (stream.RowKind, connectortest.Row, string) {
	t.Helper()
	var m message
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	kind, ok := kinds[m.Kind]
	if !ok {
		t.Fatalf("message %s: kind %q", b, m.Kind)
	}
	row, err := decodeRow(schema, m.Row)
	if err != nil {
		t.Fatalf("message %s: %v", b, err)
	}
	return kind, row, m.Token
}

// decodeRow reads a row's JSON object, whose members must be the schema's
// columns in order, into canonical cells: numbers are read as json.Number
// (a BIGINT keeps its 64 bits), DOUBLE's NaN and infinities may be strings,
// timestamps are 'yyyy-MM-dd HH:mm:ss.SSS' strings.
func decodeRow(schema types.Schema, raw json.RawMessage) (connectortest.Row, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return connectortest.Row{}, fmt.Errorf("row %s is not a JSON object", raw)
	}
	row := connectortest.Row{Cells: make([]string, schema.Len())}
	for i, f := range schema.Fields {
		tok, err := dec.Token()
		if err != nil {
			return connectortest.Row{}, fmt.Errorf("row %s: column %d: %v", raw, i, err)
		}
		if tok != f.Name {
			return connectortest.Row{}, fmt.Errorf("row %s: member %d is %v, want column %q", raw, i, tok, f.Name)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return connectortest.Row{}, fmt.Errorf("row %s: column %s: %v", raw, f.Name, err)
		}
		c, err := cell(f.Type, v)
		if err != nil {
			return connectortest.Row{}, fmt.Errorf("row %s: column %s: %v", raw, f.Name, err)
		}
		row.Cells[i] = c
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return connectortest.Row{}, fmt.Errorf("row %s: more members than the %d columns", raw, schema.Len())
	}
	if dec.More() {
		return connectortest.Row{}, fmt.Errorf("row %s: trailing data", raw)
	}
	return row, nil
}

// cell renders a decoded JSON value of type t as connectortest.Cell does.
func cell(t types.Type, v any) (string, error) {
	if v == nil {
		if t.NotNull {
			return "", errors.New("null in a NOT NULL column")
		}
		return "NULL", nil
	}
	switch t.Kind {
	case types.Boolean:
		if b, ok := v.(bool); ok {
			return strconv.FormatBool(b), nil
		}
	case types.Int, types.BigInt:
		if n, ok := v.(json.Number); ok {
			bits := 64
			if t.Kind == types.Int {
				bits = 32
			}
			x, err := strconv.ParseInt(string(n), 10, bits)
			return strconv.FormatInt(x, 10), err
		}
	case types.Double:
		var text string
		switch x := v.(type) {
		case json.Number:
			text = string(x)
		case string:
			if x != "NaN" && x != "Infinity" && x != "-Infinity" {
				return "", fmt.Errorf("DOUBLE as the string %q", x)
			}
			text = x
		default:
			return "", fmt.Errorf("DOUBLE as %T %v", v, v)
		}
		x, ok := sqltext.ParseDouble([]byte(text))
		if !ok {
			return "", fmt.Errorf("bad DOUBLE %q", text)
		}
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case types.Decimal:
		if n, ok := v.(json.Number); ok {
			x, err := sqltext.ParseDecimal([]byte(n), t.Precision, t.Scale)
			return string(sqltext.AppendDecimal(nil, x, t.Scale)), err
		}
	case types.String:
		if s, ok := v.(string); ok {
			if t.Length > 0 && len([]rune(s)) > t.Length {
				return "", fmt.Errorf("%q is longer than %s", s, t)
			}
			return strconv.Quote(s), nil
		}
	case types.Timestamp:
		if s, ok := v.(string); ok {
			x, ok := sqltext.ParseTimestamp([]byte(s))
			if !ok || len(s) != len("2006-01-02 15:04:05.000") {
				return "", fmt.Errorf("bad TIMESTAMP %q (want 'yyyy-MM-dd HH:mm:ss.SSS')", s)
			}
			return string(sqltext.AppendTimestamp(nil, x, ' ')), nil
		}
	default:
		return "", fmt.Errorf("type %s", t)
	}
	return "", fmt.Errorf("%s as %T %v", t, v, v)
}
