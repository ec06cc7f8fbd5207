package filesystem

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/parquet/compress"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/connectors/format/csv"
	"github.com/eddy-streaming/eddy/connectors/format/json"
	"github.com/eddy-streaming/eddy/connectors/format/parquet"
	"github.com/eddy-streaming/eddy/engine/types"
)

// The option keys.
const (
	OptPath               = "path"
	OptFormat             = "format"
	OptCSVDelimiter       = "csv.field-delimiter"
	OptCSVNullLiteral     = "csv.null-literal"
	OptCSVIgnoreErrors    = "csv.ignore-parse-errors"
	OptJSONIgnoreErrors   = "json.ignore-parse-errors"
	OptJSONFailOnMissing  = "json.fail-on-missing-field"
	OptJSONTimestampStyle = "json.timestamp-format.standard"
	OptRollingFileSize    = "sink.rolling-policy.file-size"
	OptRolloverInterval   = "sink.rolling-policy.rollover-interval"
	OptRollCheckInterval  = "sink.rolling-policy.check-interval"
	OptRollInactivity     = "sink.rolling-policy.inactivity-interval"
	OptParquetCompression = "parquet.compression"
	OptMonitorInterval    = "source.monitor-interval"
	OptPartitionDefault   = "partition.default-name"
)

// FormatParquet is the 'format' of Parquet files (connectors/format/parquet).
const FormatParquet = "parquet"

// FormatChangelogJSON is the 'format' of updating tables: JSON lines with
// the row kind under "op" (see connectors/format/json).
const FormatChangelogJSON = "changelog-json"

var specs = []connectors.OptionSpec{
	{Key: OptPath, Type: connectors.OptString, Required: true,
		Description: "A file or directory to read (every visible file in it, recursively), or the directory a sink writes part files into (created if missing)."},
	{Key: OptFormat, Type: connectors.OptEnum, Required: true, Enum: []string{"csv", "json", FormatChangelogJSON, FormatParquet},
		Description: "The format of the files: 'csv' (no header, RFC 4180 quoting), 'json' (JSON lines, one object per row keyed by column name), 'changelog-json' (json plus an \"op\" key per object holding the row kind +I, -U, +U or -D: the format of updating sinks, read back as a retract stream, or an upsert stream by the PRIMARY KEY) or 'parquet' (columns matched by name; a column the file lacks reads as NULL)."},
	{Key: OptParquetCompression, Type: connectors.OptEnum, Default: "snappy", Enum: parquet.Compressions,
		Description: "parquet: the codec a sink compresses the columns with."},
	{Key: OptCSVDelimiter, Type: connectors.OptString, Default: ",",
		Description: "csv: the single character between fields ('\\t' for a tab)."},
	{Key: OptCSVNullLiteral, Type: connectors.OptString,
		Description: "csv: the text of a NULL. Unset, an empty field is NULL for every type but STRING, where it is the empty string."},
	{Key: OptCSVIgnoreErrors, Type: connectors.OptBool, Default: "false",
		Description: "csv: skip (and count in bad_records_skipped) records that cannot be parsed instead of failing."},
	{Key: OptJSONIgnoreErrors, Type: connectors.OptBool, Default: "false",
		Description: "json, changelog-json: skip (and count in bad_records_skipped) records that cannot be parsed instead of failing."},
	{Key: OptJSONFailOnMissing, Type: connectors.OptBool, Default: "false",
		Description: "json, changelog-json: fail on an object that lacks a column's key instead of reading NULL."},
	{Key: OptJSONTimestampStyle, Type: connectors.OptEnum, Default: "SQL", Enum: []string{"SQL", "ISO-8601"},
		Description: "json, changelog-json: how a sink writes TIMESTAMP(3): 'SQL' ('yyyy-MM-dd HH:mm:ss.SSS') or 'ISO-8601' ('yyyy-MM-ddTHH:mm:ss.SSS'). Both are read."},
	{Key: OptRollingFileSize, Type: connectors.OptString, Default: "128MB",
		Description: "sink: the size after which a writer starts a new part file (bytes, or with a unit: 64KB, 128MB, 1GB)."},
	{Key: OptRolloverInterval, Type: connectors.OptDuration, Default: "30 min",
		Description: "sink: the longest a part file stays open before the writer rolls to a new one (checked every 'sink.rolling-policy.check-interval' when rows arrive, and at checkpoints, which roll every file anyway)."},
	{Key: OptRollInactivity, Type: connectors.OptDuration, Default: "30 min",
		Description: "sink: a part file that has received no rows for this long is rolled (checked like 'sink.rolling-policy.rollover-interval'; a partition's file stops receiving rows once its time has passed)."},
	{Key: OptRollCheckInterval, Type: connectors.OptDuration, Default: "1 min",
		Description: "sink: how often a writer checks its open part files against 'sink.rolling-policy.rollover-interval' and 'sink.rolling-policy.inactivity-interval'."},
	{Key: OptPartitionDefault, Type: connectors.OptString, Default: DefaultPartitionName,
		Description: "The directory value of a NULL or empty partition value (PARTITIONED BY); read back as NULL."},
	{Key: OptMonitorInterval, Type: connectors.OptDuration,
		Description: "source: when set, the source is unbounded: it lists 'path' again every interval and reads the files that appeared since, each once (a file should appear complete, e.g. by a rename). Unset, the files there at the start are read and the source ends."},
}

func init() { specs = append(specs, connectors.BadRecordOptions()...) }

// Factory makes filesystem sources and sinks.
type Factory struct{}

var (
	_ connectors.SourceFactory   = (*Factory)(nil)
	_ connectors.SinkFactory     = (*Factory)(nil)
	_ connectors.TableValidator  = (*Factory)(nil)
	_ connectors.UpdatingSink    = (*Factory)(nil)
	_ connectors.ChangelogSource = (*Factory)(nil)
)

// New returns the filesystem connector factory.
func New() *Factory { return &Factory{} }

// Name returns "filesystem".
func (*Factory) Name() string { return "filesystem" }

// Options lists the connector's options.
func (*Factory) Options() []connectors.OptionSpec { return specs }

// AcceptsUpdates reports whether the table can take an updating (retract
// or upsert) stream: only with 'format' = 'changelog-json'.
func (f *Factory) AcceptsUpdates(info connectors.TableInfo) error {
	c, err := parseConfig(info)
	if err != nil {
		return err
	}
	if !c.changelog() {
		return fmt.Errorf("the filesystem connector writes updates (-U, +U, -D rows) only with 'format' = '%s', but table '%s' has 'format' = '%s'",
			FormatChangelogJSON, info.Name, c.format)
	}
	return nil
}

// SourceChangelog says what the table's readers emit: a changelog-json
// table is read as a retract stream, or, with a PRIMARY KEY, as an upsert
// stream by that key (its -U lines are skipped); csv and json tables are
// append-only.
func (f *Factory) SourceChangelog(info connectors.TableInfo) string {
	if !strings.EqualFold(connectors.Option(specs, info.Options, OptFormat), FormatChangelogJSON) {
		return "append"
	}
	if len(info.PrimaryKey) > 0 {
		return "upsert"
	}
	return "retract"
}

// config is a table's validated options.
type config struct {
	table  string
	schema types.Schema
	path   string
	format string // "csv", "json" or "changelog-json"
	// upsert is set for a table with a PRIMARY KEY: its source reads
	// changelog-json as an upsert stream (skipping -U lines).
	upsert bool
	// dropUpdateBefore is set for a sink fed an upsert stream: it writes
	// no -U lines.
	dropUpdateBefore bool
	csv              csv.Options
	json             json.Options
	// ignore is set by the text formats' ignore-parse-errors options, an
	// alias of 'bad-records.policy' = 'skip'.
	ignore    bool
	rollBytes int64
	// rollInterval, inactivity and checkInterval are the time-based
	// rolling policy.
	rollInterval, inactivity, checkInterval time.Duration
	// monitor, when not 0, makes the source continuous.
	monitor time.Duration
	codec   compress.Compression
	// partKeys are the PARTITIONED BY columns (indices into schema);
	// dataIdx the others, whose values the files hold, in dataSchema.
	partKeys         []int
	dataIdx          []int
	dataSchema       types.Schema
	defaultPartition string
}

// ValidateTable checks the table's options and column types.
func (f *Factory) ValidateTable(info connectors.TableInfo) error {
	_, err := parseConfig(info)
	return err
}

func parseConfig(info connectors.TableInfo) (*config, error) {
	if err := connectors.ValidateOptions(specs, info.Options); err != nil {
		return nil, err
	}
	if err := format.CheckColumnTypes(info.Schema); err != nil {
		return nil, err
	}
	opt := func(k string) string { return connectors.Option(specs, info.Options, k) }
	c := &config{table: info.Name, schema: info.Schema, path: opt(OptPath), format: strings.ToLower(opt(OptFormat)),
		upsert: len(info.PrimaryKey) > 0, dropUpdateBefore: info.Changelog == "upsert"}
	if strings.TrimSpace(c.path) == "" {
		return nil, fmt.Errorf("option '%s': must not be empty", OptPath)
	}
	for k := range info.Options {
		if (strings.HasPrefix(k, "csv.") && c.format != "csv") || (strings.HasPrefix(k, "json.") && c.format != "json" && !c.changelog()) ||
			(strings.HasPrefix(k, "parquet.") && c.format != FormatParquet) {
			return nil, fmt.Errorf("option '%s' does not apply to 'format' = '%s'", k, c.format)
		}
	}
	if err := c.partitions(info); err != nil {
		return nil, err
	}
	switch c.format {
	case "csv":
		d, err := csv.ParseDelimiter(opt(OptCSVDelimiter))
		if err != nil {
			return nil, fmt.Errorf("option '%s': %v", OptCSVDelimiter, err)
		}
		c.csv.Delimiter = d
		if v, ok := info.Options[OptCSVNullLiteral]; ok {
			if strings.ContainsAny(v, "\"\n\r") || strings.IndexByte(v, d) >= 0 {
				return nil, fmt.Errorf("option '%s': '%s' may not hold quotes, line breaks or the field delimiter", OptCSVNullLiteral, v)
			}
			c.csv.NullLiteral, c.csv.HasNullLiteral = v, true
		}
		c.ignore, _ = strconv.ParseBool(opt(OptCSVIgnoreErrors))
	case "json", FormatChangelogJSON:
		if c.changelog() {
			for _, f := range info.Schema.Fields {
				if strings.EqualFold(f.Name, json.OpKey) {
					return nil, fmt.Errorf("column '%s': 'format' = '%s' keeps the row kind under the key \"%s\", so no column may be called that", f.Name, FormatChangelogJSON, json.OpKey)
				}
			}
		}
		c.ignore, _ = strconv.ParseBool(opt(OptJSONIgnoreErrors))
		c.json.FailOnMissingField, _ = strconv.ParseBool(opt(OptJSONFailOnMissing))
		c.json.ISOTimestamps = strings.EqualFold(opt(OptJSONTimestampStyle), "ISO-8601")
	case FormatParquet:
		codec, err := parquet.ParseCompression(opt(OptParquetCompression))
		if err != nil {
			return nil, fmt.Errorf("option '%s': %v", OptParquetCompression, err)
		}
		c.codec = codec
	}
	policy, err := connectors.BadRecordPolicy(info)
	if err != nil {
		return nil, err
	}
	if c.ignore && policy != connectors.BadRecordsFail && policy != connectors.BadRecordsSkip {
		return nil, fmt.Errorf("option '%s' = 'true' skips bad records, but '%s' = '%s': set one of them", c.ignoreOption(), connectors.OptBadRecordsPolicy, policy)
	}
	durations := []struct {
		key string
		dst *time.Duration
	}{{OptRolloverInterval, &c.rollInterval}, {OptRollInactivity, &c.inactivity}, {OptRollCheckInterval, &c.checkInterval}, {OptMonitorInterval, &c.monitor}}
	for _, d := range durations {
		v := opt(d.key)
		if v == "" {
			continue
		}
		x, err := connectors.ParseDuration(v)
		if err != nil || x <= 0 {
			return nil, fmt.Errorf("option '%s': '%s' is not a positive duration", d.key, v)
		}
		*d.dst = x
	}
	if c.monitor > 0 && c.changelog() {
		return nil, fmt.Errorf("option '%s' does not go with 'format' = '%s': a writer's files must be read in order, by one reader, while a continuous source reads every file as it appears", OptMonitorInterval, FormatChangelogJSON)
	}
	n, err := ParseSize(opt(OptRollingFileSize))
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("option '%s': '%s' is not a positive size (e.g. 128MB)", OptRollingFileSize, opt(OptRollingFileSize))
	}
	c.rollBytes = n
	return c, nil
}

// changelog reports whether the table's format carries row kinds.
func (c *config) changelog() bool { return c.format == FormatChangelogJSON }

func (c *config) jsonOptions() json.Options {
	o := c.json
	o.Changelog = c.changelog()
	o.DropUpdateBefore = c.changelog() && c.upsert
	return o
}

// decoder returns the text decoder of the files' columns (nil for
// parquet).
func (c *config) decoder() format.Decoder {
	switch c.format {
	case "csv":
		return csv.NewDecoder(c.dataSchema, c.csv)
	case FormatParquet:
		return nil
	}
	return json.NewDecoder(c.dataSchema, c.jsonOptions())
}

// encoder returns the text encoder of the files' columns (nil for
// parquet).
func (c *config) encoder() format.Encoder {
	switch c.format {
	case "csv":
		return csv.NewEncoder(c.dataSchema, c.csv)
	case FormatParquet:
		return nil
	}
	return json.NewEncoder(c.dataSchema, c.jsonOptions())
}

// extension is the part files' name extension.
func (c *config) extension() string {
	if c.format == FormatParquet {
		return parquet.Extension
	}
	return c.encoder().Extension()
}

// partitions checks PARTITIONED BY: STRING, INT or BIGINT columns, not
// every column, not with changelog-json; it sets the data schema.
func (c *config) partitions(info connectors.TableInfo) error {
	c.defaultPartition = connectors.Option(specs, info.Options, OptPartitionDefault)
	if len(info.PartitionKeys) > 0 {
		if c.defaultPartition == "" || c.defaultPartition != EscapePartitionValue(c.defaultPartition) {
			return fmt.Errorf("option '%s': '%s' must be a non-empty name that needs no escaping", OptPartitionDefault, c.defaultPartition)
		}
	}
	isKey := map[int]bool{}
	for _, k := range info.PartitionKeys {
		if k < 0 || k >= len(info.Schema.Fields) || isKey[k] {
			return fmt.Errorf("bad partition key column %d", k)
		}
		f := info.Schema.Fields[k]
		switch f.Type.Kind {
		case types.String, types.Int, types.BigInt:
		default:
			return fmt.Errorf("partition column '%s' has type %s; it must be STRING, INT or BIGINT", f.Name, f.Type)
		}
		isKey[k] = true
	}
	c.partKeys = append([]int(nil), info.PartitionKeys...)
	c.dataIdx, c.dataSchema = nil, types.Schema{}
	for i, f := range info.Schema.Fields {
		if !isKey[i] {
			c.dataIdx = append(c.dataIdx, i)
			c.dataSchema.Fields = append(c.dataSchema.Fields, f)
		}
	}
	if len(c.partKeys) == 0 {
		return nil
	}
	if len(c.dataIdx) == 0 {
		return fmt.Errorf("every column is a partition column; at least one must be left for the files")
	}
	if c.changelog() {
		return fmt.Errorf("PARTITIONED BY does not go with 'format' = '%s': an update could move a row to another partition, whose files are read apart", FormatChangelogJSON)
	}
	return nil
}

func (c *config) ignoreOption() string {
	if c.format == "csv" {
		return OptCSVIgnoreErrors
	}
	return OptJSONIgnoreErrors
}

// ParseSize parses a byte size: a number with an optional unit b, kb, mb,
// gb or tb (or k, m, g, t; any case; powers of 1024), as Flink's
// MemorySize does.
func ParseSize(v string) (int64, error) {
	s := strings.ToLower(strings.TrimSpace(v))
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("invalid size %q", v)
	}
	n, err := strconv.ParseInt(s[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid size %q", v)
	}
	unit := strings.TrimSpace(s[i:])
	mult := map[string]int64{"": 1, "b": 1, "bytes": 1, "k": 1 << 10, "kb": 1 << 10, "m": 1 << 20, "mb": 1 << 20,
		"g": 1 << 30, "gb": 1 << 30, "t": 1 << 40, "tb": 1 << 40}[unit]
	if mult == 0 {
		return 0, fmt.Errorf("invalid size %q: unknown unit %q", v, unit)
	}
	if n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q: too large", v)
	}
	return n * mult, nil
}
