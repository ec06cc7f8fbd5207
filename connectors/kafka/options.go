package kafka

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eddy-streaming/eddy/connectors"
	"github.com/eddy-streaming/eddy/connectors/format"
	"github.com/eddy-streaming/eddy/connectors/format/csv"
	"github.com/eddy-streaming/eddy/connectors/format/json"
	"github.com/eddy-streaming/eddy/connectors/format/raw"
	"github.com/eddy-streaming/eddy/engine/types"
)

// The option keys (Flink's names).
const (
	OptTopic                = "topic"
	OptBootstrapServers     = "properties.bootstrap.servers"
	OptGroupID              = "properties.group.id"
	OptIsolationLevel       = "properties.isolation.level"
	OptTransactionTimeout   = "properties.transaction.timeout.ms"
	OptStartupMode          = "scan.startup.mode"
	OptStartupTimestamp     = "scan.startup.timestamp-millis"
	OptBoundedMode          = "scan.bounded.mode"
	OptDiscoveryInterval    = "scan.topic-partition-discovery.interval"
	OptFormat               = "format"
	OptValueFormat          = "value.format"
	OptKeyFormat            = "key.format"
	OptKeyFields            = "key.fields"
	OptDeliveryGuarantee    = "sink.delivery-guarantee"
	OptTransactionalIDPrefx = "sink.transactional-id-prefix"
)

// The values of the enumerated options.
const (
	StartupEarliest     = "earliest-offset"
	StartupLatest       = "latest-offset"
	StartupGroupOffsets = "group-offsets"
	StartupTimestamp    = "timestamp"

	BoundedUnbounded = "unbounded"
	BoundedLatest    = "latest-offset"

	ReadCommitted   = "read_committed"
	ReadUncommitted = "read_uncommitted"

	DeliveryExactlyOnce = "exactly-once"
	DeliveryAtLeastOnce = "at-least-once"
	DeliveryNone        = "none"
)

// The format-specific options, each also accepted with the 'key.' and
// 'value.' prefixes (for the key and value formats).
const (
	optCSVDelimiter       = "csv.field-delimiter"
	optCSVNullLiteral     = "csv.null-literal"
	optCSVIgnoreErrors    = "csv.ignore-parse-errors"
	optJSONIgnoreErrors   = "json.ignore-parse-errors"
	optJSONFailOnMissing  = "json.fail-on-missing-field"
	optJSONTimestampStyle = "json.timestamp-format.standard"
)

// defaultTransactionTimeout is 'properties.transaction.timeout.ms' when
// unset: 15 minutes, the largest a Kafka broker allows by default
// (transaction.max.timeout.ms). Flink's KafkaSink uses 1 hour, which
// needs the broker setting raised.
const defaultTransactionTimeout = 15 * time.Minute

// formatSpecs are the options of the text formats, with prefix ("",
// "key." or "value.").
func formatSpecs(prefix, what string) []connectors.OptionSpec {
	return []connectors.OptionSpec{
		{Key: prefix + optCSVDelimiter, Type: connectors.OptString, Default: ",",
			Description: "csv " + what + ": the single character between fields ('\\t' for a tab)."},
		{Key: prefix + optCSVNullLiteral, Type: connectors.OptString,
			Description: "csv " + what + ": the text of a NULL. Unset, an empty field is NULL for every type but STRING."},
		{Key: prefix + optCSVIgnoreErrors, Type: connectors.OptBool, Default: "false",
			Description: "csv " + what + ": skip records that cannot be parsed (as 'bad-records.policy' = 'skip')."},
		{Key: prefix + optJSONIgnoreErrors, Type: connectors.OptBool, Default: "false",
			Description: "json " + what + ": skip records that cannot be parsed (as 'bad-records.policy' = 'skip')."},
		{Key: prefix + optJSONFailOnMissing, Type: connectors.OptBool, Default: "false",
			Description: "json " + what + ": fail on an object that lacks a column's key instead of reading NULL."},
		{Key: prefix + optJSONTimestampStyle, Type: connectors.OptEnum, Default: "SQL", Enum: []string{"SQL", "ISO-8601"},
			Description: "json " + what + ": how TIMESTAMP(3) is written: 'SQL' ('yyyy-MM-dd HH:mm:ss.SSS') or 'ISO-8601'. Both are read."},
	}
}

var formats = []string{"json", "csv", "raw"}

func commonSpecs() []connectors.OptionSpec {
	return []connectors.OptionSpec{
		{Key: OptBootstrapServers, Type: connectors.OptString, Required: true,
			Description: "Comma-separated host:port list of Kafka brokers to connect to first."},
		{Key: OptTransactionTimeout, Type: connectors.OptInt, Default: strconv.FormatInt(defaultTransactionTimeout.Milliseconds(), 10),
			Description: "sink, exactly-once: the Kafka transaction timeout in milliseconds. A transaction open longer (a checkpoint that takes longer to complete, a job down longer before it recovers) is aborted by the broker and its data lost; the broker caps it at transaction.max.timeout.ms (15 minutes by default)."},
		{Key: OptDeliveryGuarantee, Type: connectors.OptEnum, Default: DeliveryAtLeastOnce,
			Enum:        []string{DeliveryExactlyOnce, DeliveryAtLeastOnce, DeliveryNone},
			Description: "sink: 'exactly-once' writes each checkpoint's records in a Kafka transaction committed when the checkpoint completes (read them with 'read_committed'); 'at-least-once' flushes at every checkpoint and at the end; 'none' does not wait for acknowledgements at checkpoints. Without checkpointing, exactly-once writes as at-least-once."},
		{Key: OptTransactionalIDPrefx, Type: connectors.OptString,
			Description: "sink, exactly-once (required then): the prefix of the transactional ids the writers use, '<prefix>-<subtask>-<n>'. It must be unique per job among everything writing to the cluster: a new job with the same prefix aborts the old one's open transactions."},
		{Key: OptKeyFormat, Type: connectors.OptEnum, Enum: formats,
			Description: "The format of the message key: 'json', 'csv' or 'raw'."},
	}
}

// kafkaSpecs are the options of 'connector' = 'kafka'.
var kafkaSpecs = func() []connectors.OptionSpec {
	s := []connectors.OptionSpec{
		{Key: OptTopic, Type: connectors.OptString, Required: true,
			Description: "The topic to read or write; a source may read several, separated by ';'."},
		{Key: OptGroupID, Type: connectors.OptString,
			Description: "The consumer group whose committed offsets 'scan.startup.mode' = 'group-offsets' starts from (the source uses no group management and commits nothing)."},
		{Key: OptIsolationLevel, Type: connectors.OptEnum, Default: ReadUncommitted, Enum: []string{ReadCommitted, ReadUncommitted},
			Description: "source: 'read_committed' reads only committed transactional records (and stops a bounded read at the last stable offset); 'read_uncommitted' reads everything."},
		{Key: OptStartupMode, Type: connectors.OptEnum, Default: StartupGroupOffsets,
			Enum:        []string{StartupEarliest, StartupLatest, StartupGroupOffsets, StartupTimestamp},
			Description: "source: where a fresh job starts reading the partitions it finds at start: 'earliest-offset', 'latest-offset', 'group-offsets' (the offsets committed by 'properties.group.id'; earliest where there are none) or 'timestamp' (the first record at or after 'scan.startup.timestamp-millis'). Partitions found later are read from their start. A restored job resumes from its checkpoint."},
		{Key: OptStartupTimestamp, Type: connectors.OptInt,
			Description: "source, 'scan.startup.mode' = 'timestamp': milliseconds since the epoch."},
		{Key: OptBoundedMode, Type: connectors.OptEnum, Default: BoundedUnbounded, Enum: []string{BoundedUnbounded, BoundedLatest},
			Description: "source: 'unbounded' reads forever; 'latest-offset' stops at the end offsets the partitions had when the job started (a bounded source)."},
		{Key: OptDiscoveryInterval, Type: connectors.OptDuration, Default: "5 min",
			Description: "source, unbounded: how often to look for new partitions of the topics (0 disables discovery after the start)."},
		{Key: OptFormat, Type: connectors.OptEnum, Enum: formats,
			Description: "The format of the message value: 'json', 'csv' or 'raw' (one STRING column holding the value). 'value.format' is a synonym; one of them is required."},
		{Key: OptValueFormat, Type: connectors.OptEnum, Enum: formats,
			Description: "A synonym of 'format'."},
		{Key: OptKeyFields, Type: connectors.OptString,
			Description: "With 'key.format': the columns, separated by ';', that the sink writes as the message key (the value still holds every column)."},
	}
	s = append(s, commonSpecs()...)
	for _, p := range []string{"", "key.", "value."} {
		s = append(s, formatSpecs(p, strings.TrimSuffix(map[string]string{"": "value", "key.": "key", "value.": "value"}[p], "."))...)
	}
	return append(s, connectors.BadRecordOptions()...)
}()

// upsertSpecs are the options of 'connector' = 'upsert-kafka'.
var upsertSpecs = func() []connectors.OptionSpec {
	s := []connectors.OptionSpec{
		{Key: OptTopic, Type: connectors.OptString, Required: true,
			Description: "The topic to read or write."},
		{Key: OptValueFormat, Type: connectors.OptEnum, Required: true, Enum: formats,
			Description: "The format of the message value (every column of the row): 'json', 'csv' or 'raw'."},
		{Key: OptDiscoveryInterval, Type: connectors.OptDuration, Default: "5 min",
			Description: "source: how often to look for new partitions of the topic (0 disables discovery after the start)."},
		{Key: OptBoundedMode, Type: connectors.OptEnum, Default: BoundedUnbounded, Enum: []string{BoundedUnbounded, BoundedLatest},
			Description: "source: 'unbounded' reads forever; 'latest-offset' stops at the end offsets the partitions had when the job started."},
		{Key: OptIsolationLevel, Type: connectors.OptEnum, Default: ReadUncommitted, Enum: []string{ReadCommitted, ReadUncommitted},
			Description: "source: 'read_committed' reads only committed transactional records; 'read_uncommitted' reads everything."},
	}
	for _, c := range commonSpecs() {
		if c.Key == OptKeyFormat {
			c.Required = true
			c.Description = "The format of the message key, which holds the PRIMARY KEY columns: 'json', 'csv' or 'raw'."
		}
		s = append(s, c)
	}
	for _, p := range []string{"key.", "value."} {
		s = append(s, formatSpecs(p, strings.TrimSuffix(p, "."))...)
	}
	return append(s, connectors.BadRecordOptions()...)
}()

// formatConfig is one side's (key or value) format.
type formatConfig struct {
	name   string // json, csv, raw
	schema types.Schema
	csv    csv.Options
	json   json.Options
	ignore bool // *.ignore-parse-errors
}

// config is a table's validated options.
type config struct {
	table        string
	upsert       bool
	schema       types.Schema
	topics       []string
	brokers      []string
	groupID      string
	readCommited bool
	startup      string
	startupMs    int64
	bounded      bool
	discovery    time.Duration
	value        formatConfig
	hasKey       bool
	key          formatConfig
	keyCols      []int // columns of the key, in key order
	delivery     string
	txnPrefix    string
	txnTimeout   time.Duration
	badPolicy    string
}

// parseConfig validates info's options against specs and the schema.
func parseConfig(info connectors.TableInfo, upsert bool) (*config, error) {
	specs := kafkaSpecs
	if upsert {
		specs = upsertSpecs
	}
	if err := connectors.ValidateOptions(specs, info.Options); err != nil {
		return nil, err
	}
	if err := format.CheckColumnTypes(info.Schema); err != nil {
		return nil, err
	}
	opt := func(k string) string { return strings.TrimSpace(connectors.Option(specs, info.Options, k)) }
	c := &config{table: info.Name, upsert: upsert, schema: info.Schema}
	for _, t := range strings.Split(opt(OptTopic), ";") {
		if t = strings.TrimSpace(t); t != "" {
			c.topics = append(c.topics, t)
		}
	}
	if len(c.topics) == 0 {
		return nil, fmt.Errorf("option '%s': no topic given", OptTopic)
	}
	for _, t := range c.topics {
		if err := checkTopicName(t); err != nil {
			return nil, fmt.Errorf("option '%s': %v", OptTopic, err)
		}
	}
	if upsert && len(c.topics) > 1 {
		return nil, fmt.Errorf("option '%s': upsert-kafka reads and writes one topic, not %d", OptTopic, len(c.topics))
	}
	for _, b := range strings.Split(opt(OptBootstrapServers), ",") {
		if b = strings.TrimSpace(b); b != "" {
			c.brokers = append(c.brokers, b)
		}
	}
	if len(c.brokers) == 0 {
		return nil, fmt.Errorf("option '%s': no broker given", OptBootstrapServers)
	}
	c.groupID = opt(OptGroupID)
	c.readCommited = strings.EqualFold(opt(OptIsolationLevel), ReadCommitted)
	c.startup = strings.ToLower(opt(OptStartupMode))
	if upsert {
		c.startup = StartupEarliest // Flink's upsert-kafka always reads from the start
	}
	if c.startup == StartupTimestamp {
		v, ok := info.Options[OptStartupTimestamp]
		if !ok {
			return nil, fmt.Errorf("option '%s' = '%s' needs '%s'", OptStartupMode, StartupTimestamp, OptStartupTimestamp)
		}
		ms, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if ms < 0 {
			return nil, fmt.Errorf("option '%s': '%s' is negative", OptStartupTimestamp, v)
		}
		c.startupMs = ms
	} else if _, ok := info.Options[OptStartupTimestamp]; ok {
		return nil, fmt.Errorf("option '%s' applies only to '%s' = '%s', not '%s'", OptStartupTimestamp, OptStartupMode, StartupTimestamp, c.startup)
	}
	c.bounded = strings.EqualFold(opt(OptBoundedMode), BoundedLatest)
	d, err := connectors.ParseDuration(opt(OptDiscoveryInterval))
	if err != nil || d < 0 {
		return nil, fmt.Errorf("option '%s': '%s' is not a duration of 0 or more", OptDiscoveryInterval, opt(OptDiscoveryInterval))
	}
	c.discovery = d
	c.delivery = strings.ToLower(opt(OptDeliveryGuarantee))
	c.txnPrefix = opt(OptTransactionalIDPrefx)
	if c.delivery == DeliveryExactlyOnce && c.txnPrefix == "" {
		return nil, fmt.Errorf("option '%s' = '%s' needs '%s' (a prefix of transactional ids unique to this job)", OptDeliveryGuarantee, DeliveryExactlyOnce, OptTransactionalIDPrefx)
	}
	ms, _ := strconv.ParseInt(opt(OptTransactionTimeout), 10, 64)
	if ms <= 0 {
		return nil, fmt.Errorf("option '%s': '%s' is not a positive number of milliseconds", OptTransactionTimeout, opt(OptTransactionTimeout))
	}
	c.txnTimeout = time.Duration(ms) * time.Millisecond
	if c.badPolicy, err = connectors.BadRecordPolicy(info); err != nil {
		return nil, err
	}

	// Formats.
	valueFmt := strings.ToLower(opt(OptValueFormat))
	if !upsert {
		f, vf := strings.ToLower(opt(OptFormat)), valueFmt
		switch {
		case f != "" && vf != "" && f != vf:
			return nil, fmt.Errorf("options '%s' = '%s' and '%s' = '%s' disagree (they are synonyms)", OptFormat, f, OptValueFormat, vf)
		case f == "" && vf == "":
			return nil, fmt.Errorf("missing required option '%s' (or '%s')", OptFormat, OptValueFormat)
		case f != "":
			valueFmt = f
		}
	}
	if c.value, err = parseFormat(info, specs, valueFmt, info.Schema, upsert, "value."); err != nil {
		return nil, err
	}
	keyFmt := strings.ToLower(opt(OptKeyFormat))
	if upsert {
		if len(info.PrimaryKey) == 0 {
			return nil, fmt.Errorf("table '%s': 'connector' = 'upsert-kafka' needs a PRIMARY KEY (the message key)", info.Name)
		}
		c.keyCols = append([]int(nil), info.PrimaryKey...)
	} else {
		fields := opt(OptKeyFields)
		switch {
		case keyFmt != "" && fields == "":
			return nil, fmt.Errorf("option '%s' needs '%s' (the key's columns)", OptKeyFormat, OptKeyFields)
		case keyFmt == "" && fields != "":
			return nil, fmt.Errorf("option '%s' needs '%s'", OptKeyFields, OptKeyFormat)
		}
		seen := map[int]bool{}
		for _, name := range strings.Split(fields, ";") {
			if name = strings.TrimSpace(name); name == "" {
				continue
			}
			i := info.Schema.Index(name)
			if i < 0 {
				return nil, fmt.Errorf("option '%s': table '%s' has no column '%s'", OptKeyFields, info.Name, name)
			}
			if seen[i] {
				return nil, fmt.Errorf("option '%s': column '%s' is listed twice", OptKeyFields, name)
			}
			seen[i] = true
			c.keyCols = append(c.keyCols, i)
		}
	}
	if keyFmt != "" {
		c.hasKey = true
		ks := types.Schema{}
		for _, i := range c.keyCols {
			ks.Fields = append(ks.Fields, info.Schema.Fields[i])
		}
		if c.key, err = parseFormat(info, specs, keyFmt, ks, upsert, "key."); err != nil {
			return nil, err
		}
	}
	// Format options must belong to a format in use.
	for k := range info.Options {
		side, rest := "", k
		if p, r, ok := strings.Cut(k, "."); ok && (p == "key" || p == "value") {
			side, rest = p, r
		}
		name, _, ok := strings.Cut(rest, ".")
		if !ok || (name != "csv" && name != "json") {
			continue
		}
		var used bool
		switch side {
		case "key":
			used = c.hasKey && c.key.name == name
		case "value":
			used = c.value.name == name
		default:
			used = !upsert && c.value.name == name
		}
		if !used {
			return nil, fmt.Errorf("option '%s' does not apply: no %s format is '%s'", k, map[string]string{"key": "key", "value": "value", "": "value"}[side], name)
		}
	}
	return c, nil
}

// parseFormat reads one side's format options: those with the side's
// prefix, or (for the value of a kafka table) without a prefix.
func parseFormat(info connectors.TableInfo, specs []connectors.OptionSpec, name string, schema types.Schema, upsert bool, prefix string) (formatConfig, error) {
	f := formatConfig{name: name, schema: schema}
	opt := func(k string) (string, string) {
		if v, ok := info.Options[prefix+k]; ok {
			return prefix + k, v
		}
		if prefix == "value." && !upsert {
			if v, ok := info.Options[k]; ok {
				return k, v
			}
		}
		return prefix + k, connectors.Option(specs, nil, prefix+k)
	}
	switch name {
	case "raw":
		if err := raw.CheckSchema(schema); err != nil {
			what := "'format'"
			if prefix == "key." {
				what = "'" + OptKeyFormat + "'"
			} else if upsert {
				what = "'" + OptValueFormat + "'"
			}
			return f, fmt.Errorf("%s = 'raw': %v", what, err)
		}
	case "csv":
		k, v := opt(optCSVDelimiter)
		d, err := csv.ParseDelimiter(v)
		if err != nil {
			return f, fmt.Errorf("option '%s': %v", k, err)
		}
		f.csv.Delimiter = d
		if k, v := opt(optCSVNullLiteral); info.Options[k] != "" || hasKey(info.Options, k) {
			if strings.ContainsAny(v, "\"\n\r") || strings.IndexByte(v, d) >= 0 {
				return f, fmt.Errorf("option '%s': '%s' may not hold quotes, line breaks or the field delimiter", k, v)
			}
			f.csv.NullLiteral, f.csv.HasNullLiteral = v, true
		}
		_, v = opt(optCSVIgnoreErrors)
		f.ignore, _ = strconv.ParseBool(v)
	case "json":
		_, v := opt(optJSONIgnoreErrors)
		f.ignore, _ = strconv.ParseBool(v)
		_, v = opt(optJSONFailOnMissing)
		f.json.FailOnMissingField, _ = strconv.ParseBool(v)
		_, v = opt(optJSONTimestampStyle)
		f.json.ISOTimestamps = strings.EqualFold(v, "ISO-8601")
	default:
		return f, fmt.Errorf("unknown format '%s' (supported: json, csv, raw)", name)
	}
	return f, nil
}

func hasKey(m map[string]string, k string) bool { _, ok := m[k]; return ok }

// checkTopicName applies Kafka's rules for topic names.
func checkTopicName(t string) error {
	if len(t) > 249 {
		return fmt.Errorf("topic name '%s…' is longer than 249 characters", t[:20])
	}
	if t == "." || t == ".." {
		return fmt.Errorf("'%s' is not a valid topic name", t)
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return fmt.Errorf("topic name '%s' holds '%c' (allowed: ASCII letters, digits, '.', '_' and '-')", t, r)
		}
	}
	return nil
}
