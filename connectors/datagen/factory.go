package datagen

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// The option keys.
const (
	OptStream           = "stream"
	OptNumberOfRows     = "number-of-rows"
	OptRowsPerSecond    = "rows-per-second"
	OptRooms            = "rooms"
	OptUsers            = "users"
	OptSkew             = "skew"
	OptMaxOutOfOrder    = "max-out-of-orderness"
	OptEventRate        = "event-time.rows-per-second"
	OptStartTime        = "start-time"
	OptSeed             = "seed"
	defaultStartTime    = "2026-01-01 00:00:00.000"
	maxRooms            = 10_000_000
	maxSkew             = 10.0
	roomEventsMeanRound = 30  // mean session length, in heartbeat rounds
	roomEventsMaxRound  = 240 // sessions restart at least this often
)

var specs = []connectors.OptionSpec{
	{Key: OptStream, Type: connectors.OptEnum, Required: true, Enum: StreamNames,
		Description: "Which live-room stream to generate: gifts, comments, likes, room_events, or the gift_catalog dimension table."},
	{Key: OptNumberOfRows, Type: connectors.OptInt,
		Description: "Total rows across all readers; the source is bounded and ends after them. Absent: unbounded."},
	{Key: OptRowsPerSecond, Type: connectors.OptFloat, Default: "0",
		Description: "Wall-clock rate limit, rows per second across all readers; 0 generates as fast as possible."},
	{Key: OptRooms, Type: connectors.OptInt, Default: "100",
		Description: "Number of rooms; room_id runs from 1 to this (at most 10,000,000)."},
	{Key: OptUsers, Type: connectors.OptInt, Default: "10000",
		Description: "Number of users; user_id runs from 1 to this."},
	{Key: OptSkew, Type: connectors.OptFloat, Default: "1.0",
		Description: "Zipf exponent of room popularity: room_id 1 is the hottest; 0 spreads rows evenly (at most 10)."},
	{Key: OptMaxOutOfOrder, Type: connectors.OptDuration, Default: "0 s",
		Description: "Each row's ts is its nominal event time minus a uniform random delay of up to this."},
	{Key: OptEventRate, Type: connectors.OptInt, Default: "1000",
		Description: "How fast event time advances: row i's nominal time is start-time + i * 1000 / this milliseconds."},
	{Key: OptStartTime, Type: connectors.OptString, Default: defaultStartTime,
		Description: "Event time of row 0, 'yyyy-MM-dd HH:mm:ss[.SSS]' (UTC)."},
	{Key: OptSeed, Type: connectors.OptInt, Default: "0",
		Description: "Seed of the generator: the same seed gives the same rows at any parallelism."},
}

// Factory makes datagen sources.
type Factory struct{}

var (
	_ connectors.SourceFactory  = (*Factory)(nil)
	_ connectors.TableValidator = (*Factory)(nil)
)

// New returns the datagen connector factory.
func New() *Factory { return &Factory{} }

// Name returns "datagen".
func (*Factory) Name() string { return "datagen" }

// Options lists the connector's options.
func (*Factory) Options() []connectors.OptionSpec { return specs }

// ValidateTable checks that every declared column belongs to the stream
// with its type, and that the options are in range.
func (*Factory) ValidateTable(info connectors.TableInfo) error {
	_, err := parseConfig(info)
	return err
}

// config is a table's validated options.
type config struct {
	table    string
	stream   string
	schema   types.Schema
	cols     []int // declared column -> stream column
	rows     int64 // total rows when bounded
	bounded  bool
	rps      float64
	rooms    int64
	users    int64
	skew     float64
	maxDelay int64 // ms
	eps      int64
	start    int64 // ms
	seed     int64
}

func parseConfig(info connectors.TableInfo) (*config, error) {
	if err := connectors.ValidateOptions(specs, info.Options); err != nil {
		return nil, err
	}
	opt := func(k string) string { return connectors.Option(specs, info.Options, k) }
	c := &config{table: info.Name, stream: strings.ToLower(opt(OptStream)), schema: info.Schema}
	cols := streamColumns[c.stream]
	if len(info.Schema.Fields) == 0 {
		return nil, fmt.Errorf("the table declares no columns; datagen stream '%s' has %s", c.stream, describeColumns(c.stream))
	}
	for _, f := range info.Schema.Fields {
		idx := -1
		for j, sc := range cols {
			if strings.EqualFold(sc.Name, f.Name) {
				idx = j
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("column '%s' is not a column of datagen stream '%s' (its columns: %s)", f.Name, c.stream, describeColumns(c.stream))
		}
		if !f.Type.SameValues(cols[idx].Type) {
			return nil, fmt.Errorf("column '%s' is declared %s, but datagen stream '%s' produces %s (its columns: %s)",
				f.Name, f.Type.Nullable().Plain(), c.stream, cols[idx].Type, describeColumns(c.stream))
		}
		c.cols = append(c.cols, idx)
	}
	if c.stream == GiftCatalog {
		for _, k := range []string{OptNumberOfRows, OptRooms, OptUsers, OptSkew, OptMaxOutOfOrder, OptEventRate, OptStartTime} {
			if _, ok := info.Options[k]; ok {
				return nil, fmt.Errorf("option '%s' does not apply to stream 'gift_catalog' (the fixed catalogue of %d gifts)", k, len(catalog))
			}
		}
	}
	var err error
	intOpt := func(k string, lo, hi int64) int64 {
		if err != nil {
			return 0
		}
		v, perr := strconv.ParseInt(opt(k), 10, 64)
		if perr != nil || v < lo || v > hi {
			err = fmt.Errorf("option '%s': '%s' is out of range (%d to %d)", k, opt(k), lo, hi)
		}
		return v
	}
	if _, ok := info.Options[OptNumberOfRows]; ok {
		c.bounded = true
		c.rows = intOpt(OptNumberOfRows, 0, math.MaxInt64)
	}
	c.rooms = intOpt(OptRooms, 1, maxRooms)
	c.users = intOpt(OptUsers, 1, math.MaxInt64)
	c.eps = intOpt(OptEventRate, 1, 1_000_000_000)
	c.seed = intOpt(OptSeed, math.MinInt64, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	c.rps, _ = strconv.ParseFloat(opt(OptRowsPerSecond), 64)
	if c.rps < 0 || math.IsNaN(c.rps) || math.IsInf(c.rps, 0) {
		return nil, fmt.Errorf("option '%s': '%s' must be 0 (unlimited) or a positive rate", OptRowsPerSecond, opt(OptRowsPerSecond))
	}
	c.skew, _ = strconv.ParseFloat(opt(OptSkew), 64)
	if !(c.skew >= 0 && c.skew <= maxSkew) {
		return nil, fmt.Errorf("option '%s': '%s' is out of range (0 to %g)", OptSkew, opt(OptSkew), maxSkew)
	}
	d, _ := connectors.ParseDuration(opt(OptMaxOutOfOrder))
	if d < 0 {
		return nil, fmt.Errorf("option '%s': '%s' must not be negative", OptMaxOutOfOrder, opt(OptMaxOutOfOrder))
	}
	c.maxDelay = d.Milliseconds()
	start, ok := sqltext.ParseTimestamp([]byte(strings.TrimSpace(opt(OptStartTime))))
	if !ok {
		return nil, fmt.Errorf("option '%s': '%s' is not a timestamp 'yyyy-MM-dd HH:mm:ss[.SSS]'", OptStartTime, opt(OptStartTime))
	}
	c.start = start
	if c.stream == GiftCatalog {
		c.bounded, c.rows = true, int64(len(catalog))
	}
	return c, nil
}
