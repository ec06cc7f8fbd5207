package nexmark

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/engine/types"
	"github.com/eddy-streaming/eddy/engine/types/sqltext"
)

// The option keys. Apart from 'table', 'base-time' and 'seed' they are
// upstream's (NexmarkSourceOptions).
const (
	OptTable             = "table"
	OptFirstEventRate    = "first-event.rate"
	OptNextEventRate     = "next-event.rate"
	OptEventsNum         = "events.num"
	OptPersonProportion  = "person.proportion"
	OptAuctionProportion = "auction.proportion"
	OptBidProportion     = "bid.proportion"
	OptPersonAvgSize     = "person.avg-size"
	OptAuctionAvgSize    = "auction.avg-size"
	OptBidAvgSize        = "bid.avg-size"
	OptHotAuctions       = "bid.hot-ratio.auctions"
	OptHotBidders        = "bid.hot-ratio.bidders"
	OptHotSellers        = "auction.hot-ratio.sellers"
	OptMaxEmitSpeed      = "max-emit-speed"
	OptBaseTime          = "base-time"
	OptSeed              = "seed"

	// DefaultBaseTime is the event time the generators start from.
	DefaultBaseTime = "2026-01-01 00:00:00.000"

	maxRate       = 1_000_000_000
	maxProportion = 1_000_000
	maxAvgSize    = 100_000
	maxHotRatio   = 1_000_000
)

var specs = []connectors.OptionSpec{
	{Key: OptTable, Type: connectors.OptEnum, Required: true, Enum: TableNames,
		Description: "Which Nexmark events the table holds: person, auction or bid (Flink's views of the same name). Tables with the same options see the same event stream."},
	{Key: OptFirstEventRate, Type: connectors.OptInt, Default: "10000",
		Description: "Events per second of event time, over all readers: each of P readers is a generator on its own timeline whose events are 1e6 * P / rate microseconds apart."},
	{Key: OptNextEventRate, Type: connectors.OptInt, Default: "10000",
		Description: "Accepted for Flink DDL compatibility and ignored, as upstream does: only 'first-event.rate' sets the rate."},
	{Key: OptEventsNum, Type: connectors.OptInt, Default: "0",
		Description: "Total events of all three kinds, split evenly among the readers (the last takes the remainder); the table ends after its share of them. 0 is unbounded."},
	{Key: OptPersonProportion, Type: connectors.OptInt, Default: "1",
		Description: "Persons in each block of person + auction + bid proportion events (the first ids of the block)."},
	{Key: OptAuctionProportion, Type: connectors.OptInt, Default: "3",
		Description: "Auctions in each block of events (after the persons)."},
	{Key: OptBidProportion, Type: connectors.OptInt, Default: "46",
		Description: "Bids in each block of events (the rest of the block)."},
	{Key: OptPersonAvgSize, Type: connectors.OptString, Default: "200b",
		Description: "Average size of a person in bytes (8 per number or time plus the text); 'extra' pads to it."},
	{Key: OptAuctionAvgSize, Type: connectors.OptString, Default: "500b",
		Description: "Average size of an auction in bytes; 'extra' pads to it."},
	{Key: OptBidAvgSize, Type: connectors.OptString, Default: "100b",
		Description: "Average size of a bid in bytes; 'extra' pads to it."},
	{Key: OptHotAuctions, Type: connectors.OptInt, Default: "2",
		Description: "A bid goes to the hot auction with probability 1 - 1/this, else to one of the last 100 auctions (or 10 ahead)."},
	{Key: OptHotBidders, Type: connectors.OptInt, Default: "4",
		Description: "A bid comes from the hot bidder with probability 1 - 1/this, else from one of the last 1000 people (or 10 ahead)."},
	{Key: OptHotSellers, Type: connectors.OptInt, Default: "4",
		Description: "An auction is the hot seller's with probability 1 - 1/this, else one of the last 1000 people's (or 10 ahead)."},
	{Key: OptMaxEmitSpeed, Type: connectors.OptBool, Default: "true",
		Description: "Generate as fast as possible; false paces each reader so that event time follows the wall clock."},
	{Key: OptBaseTime, Type: connectors.OptString, Default: DefaultBaseTime,
		Description: "Event time of event number 0, 'yyyy-MM-dd HH:mm:ss[.SSS]' (UTC) or epoch milliseconds. Upstream uses the wall clock; a fixed time keeps runs reproducible."},
	{Key: OptSeed, Type: connectors.OptInt, Default: "0",
		Description: "Seed of every random choice: the same options give the same events (upstream is unseeded)."},
}

// Factory makes nexmark sources.
type Factory struct{}

var (
	_ connectors.SourceFactory     = (*Factory)(nil)
	_ connectors.TableValidator    = (*Factory)(nil)
	_ connectors.ProjectableSource = (*Factory)(nil)
)

// New returns the nexmark connector factory.
func New() *Factory { return &Factory{} }

// Name returns "nexmark".
func (*Factory) Name() string { return "nexmark" }

// Options lists the connector's options.
func (*Factory) Options() []connectors.OptionSpec { return specs }

// ValidateTable checks that every declared column belongs to the table
// with its type, and that the options are in range.
func (*Factory) ValidateTable(info connectors.TableInfo) error {
	_, err := parseConfig(info, false)
	return err
}

// CanProject reports true: a reader builds only the columns it is asked
// for, so any subset of the table's columns can be read.
func (*Factory) CanProject(connectors.TableInfo) bool { return true }

// NewSource validates the table and prepares its generator.
func (*Factory) NewSource(info connectors.TableInfo) (connectors.Source, error) {
	cfg, err := parseConfig(info, true)
	if err != nil {
		return nil, fmt.Errorf("table '%s': %w", info.Name, err)
	}
	return newSource(cfg), nil
}

// config is a table's validated options.
type config struct {
	name   string // the table's name, for errors
	table  string // person, auction or bid
	schema types.Schema
	cols   []int // declared (or projected) column -> canonical column

	events    int64 // total events over all readers; 0 = unbounded
	rate      int64 // first-event.rate
	props     [3]int64
	total     int64 // sum of props
	avg       [3]int64
	hotAuc    int64
	hotBidder int64
	hotSeller int64
	maxSpeed  bool
	base      int64 // ms
	seed      int64
}

// parseConfig checks info. A projected schema (NewSource) may have no
// columns at all; a declared one (CREATE TABLE) may not.
func parseConfig(info connectors.TableInfo, projected bool) (*config, error) {
	if err := connectors.ValidateOptions(specs, info.Options); err != nil {
		return nil, err
	}
	opt := func(k string) string { return strings.TrimSpace(connectors.Option(specs, info.Options, k)) }
	c := &config{name: info.Name, table: strings.ToLower(opt(OptTable)), schema: info.Schema}
	cols := tableColumns[c.table]
	if len(info.Schema.Fields) == 0 && !projected {
		return nil, fmt.Errorf("the table declares no columns; nexmark table '%s' has %s", c.table, describeColumns(c.table))
	}
	seen := map[int]bool{}
	for _, f := range info.Schema.Fields {
		idx := -1
		for j, tc := range cols {
			if strings.EqualFold(tc.Name, f.Name) {
				idx = j
			}
		}
		if idx < 0 {
			return nil, fmt.Errorf("column '%s' is not a column of nexmark table '%s' (its columns: %s)", f.Name, c.table, describeColumns(c.table))
		}
		if seen[idx] {
			return nil, fmt.Errorf("column '%s' is declared twice", f.Name)
		}
		seen[idx] = true
		if !f.Type.SameValues(cols[idx].Type) {
			return nil, fmt.Errorf("column '%s' is declared %s, but nexmark table '%s' produces %s (its columns: %s)",
				f.Name, f.Type.Nullable().Plain(), c.table, cols[idx].Type, describeColumns(c.table))
		}
		c.cols = append(c.cols, idx)
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
	sizeOpt := func(k string) int64 {
		if err != nil {
			return 0
		}
		v, ok := parseBytes(opt(k))
		if !ok || v < 0 || v > maxAvgSize {
			err = fmt.Errorf("option '%s': '%s' is not a size in bytes from 0 to %d (e.g. '100b')", k, opt(k), maxAvgSize)
		}
		return v
	}
	c.events = intOpt(OptEventsNum, 0, math.MaxInt64)
	c.rate = intOpt(OptFirstEventRate, 1, maxRate)
	intOpt(OptNextEventRate, 1, maxRate)
	c.props[0] = intOpt(OptPersonProportion, 1, maxProportion)
	c.props[1] = intOpt(OptAuctionProportion, 1, maxProportion)
	c.props[2] = intOpt(OptBidProportion, 1, maxProportion)
	c.avg[0] = sizeOpt(OptPersonAvgSize)
	c.avg[1] = sizeOpt(OptAuctionAvgSize)
	c.avg[2] = sizeOpt(OptBidAvgSize)
	c.hotAuc = intOpt(OptHotAuctions, 1, maxHotRatio)
	c.hotBidder = intOpt(OptHotBidders, 1, maxHotRatio)
	c.hotSeller = intOpt(OptHotSellers, 1, maxHotRatio)
	c.seed = intOpt(OptSeed, math.MinInt64, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	c.total = c.props[0] + c.props[1] + c.props[2]
	c.maxSpeed, _ = strconv.ParseBool(opt(OptMaxEmitSpeed))
	base, ok := parseTime(opt(OptBaseTime))
	if !ok {
		return nil, fmt.Errorf("option '%s': '%s' is not a timestamp 'yyyy-MM-dd HH:mm:ss[.SSS]' or epoch milliseconds", OptBaseTime, opt(OptBaseTime))
	}
	c.base = base
	return c, nil
}

// parseBytes reads a size like Flink's MemorySize: a number of bytes with
// an optional unit (b, bytes, k/kb, m/mb).
func parseBytes(s string) (int64, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil || n > math.MaxInt32 {
		return 0, false
	}
	switch strings.TrimSpace(s[i:]) {
	case "", "b", "bytes":
		return n, true
	case "k", "kb", "kibibytes":
		return n << 10, true
	case "m", "mb", "mebibytes":
		return n << 20, true
	}
	return 0, false
}

// parseTime reads a timestamp 'yyyy-MM-dd HH:mm:ss[.SSS]' (UTC) or epoch
// milliseconds.
func parseTime(s string) (int64, bool) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return ms, true
	}
	return sqltext.ParseTimestamp([]byte(s))
}
